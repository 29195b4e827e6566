/**
 * The CLI's backups of the project are runs like the functions' and the worker's: `backup`
 * and `snapshot` leave their row in `backup_runs` (succeeded with the backup's id, or failed
 * with the reason), and a backup of another database records its class.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { settleBackground } from "../../../shared/jobs/background.ts";
import { startLocalStack } from "../../../stack/local_stack.ts";
import { seedShop } from "../../../stack/shop_seed.ts";
import { cliOnStack } from "../../support/stack_cli.ts";

Deno.test("CLI backup and snapshot record their runs in backup_runs, failures too", async () => {
  const stack = await startLocalStack({ storage: true });
  try {
    await seedShop(stack.db.url, {
      products: 20,
      customers: 10,
      orders: 30,
      storage: stack.storage,
    });
    const backup = await cliOnStack(stack, ["backup", "--to", "local", "--json"]);
    assert.equal(backup.code, 0, backup.stderr);
    const { backupId } = JSON.parse(backup.stdout.trim().split("\n").at(-1)!);
    const snapshot = await cliOnStack(stack, ["snapshot", "--to", "local", "--json"]);
    assert.equal(snapshot.code, 0, snapshot.stderr);
    const { snapshotId } = JSON.parse(snapshot.stdout.trim().split("\n").at(-1)!);

    const other = await stack.db.createDatabase("elsewhere");
    const sql = postgres(other, { max: 1, onnotice: () => {} });
    await sql`create table t (id int primary key)`;
    await sql.end();
    const adHoc = await cliOnStack(stack, ["backup", "--db", other, "--to", "local", "--json"]);
    assert.equal(adHoc.code, 0, adHoc.stderr);
    const failed = await cliOnStack(stack, [
      "backup",
      "--db",
      stack.db.url.replace(/\/[^/]*$/, "/no_such_database"),
      "--to",
      "local",
    ]);
    assert.notEqual(failed.code, 0);

    const runs = await stack.app.sql`
      select kind, status, trigger, requested_by, backup_id, error, details->>'class' as class
      from backup_runs order by created_at`;
    assert.deepEqual(
      runs.map((r) => [r.kind, r.status, r.trigger, r.requested_by]),
      [
        ["database", "succeeded", "manual", "cli"],
        ["storage", "succeeded", "manual", "cli"],
        ["database", "succeeded", "manual", "cli"],
        ["database", "failed", "manual", "cli"],
      ],
    );
    assert.equal(runs[0].backup_id, backupId);
    assert.equal(runs[0].class, "full");
    assert.equal(runs[1].backup_id, snapshotId);
    assert.equal(runs[2].class, "other-database", "an ad-hoc backup says it is one");
    assert.match(runs[3].error, /no_such_database|does not exist/);
  } finally {
    await settleBackground();
    await stack.stop();
  }
});
