/**
 * An attacker who can write to a backup target (here: the S3 bucket, over real HTTP) but holds
 * no key plants backups, against the local stack with encryption keys set: a plain-JSON
 * manifest whose pre-data creates a table and runs `COPY … TO PROGRAM`, and a genuine sealed
 * manifest copied under another id. Nothing of it may run — not through the CLI's restore or
 * export, not through the scheduled restore test — and verification must say so. A repository
 * without keys is restored only when an operator says so for that command.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { backupDatabase } from "../../../shared/database/backup/mod.ts";
import { DATABASE_MANIFEST_KIND, newBackupId } from "../../../shared/database/manifest.ts";
import { settleBackground } from "../../../shared/jobs/background.ts";
import { executeUntilDone, PLAN_BUDGETS } from "../../../shared/jobs/mod.ts";
import { openRepository } from "../../../shared/repository/open.ts";
import { manifestKey } from "../../../shared/repository/mod.ts";
import { openTarget } from "../../../shared/targets/open_target.ts";
import type { Run, RunKind } from "../../../shared/runs/mod.ts";
import { type LocalStack, startLocalStack } from "../../../stack/local_stack.ts";
import { seedShop } from "../../../stack/shop_seed.ts";
import { KEYED_ENV } from "../../support/keys.ts";
import { cliOnStack } from "../../support/stack_cli.ts";

async function runToEnd(
  stack: LocalStack,
  kind: RunKind,
  options: { targets?: string[]; details?: Record<string, unknown> } = {},
): Promise<Run> {
  const created = await stack.app.store.create({
    kind,
    trigger: "cron",
    targets: options.targets ?? [],
    details: options.details ?? {},
  });
  await executeUntilDone(stack.app.executor, { runId: created.id, limits: PLAN_BUDGETS.worker });
  const run = await stack.app.store.get(created.id);
  assert.ok(run);
  return run;
}

async function tableExists(url: string, table: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [{ found }] = await sql`select to_regclass(${table}) is not null as found`;
    return found;
  } finally {
    await sql.end();
  }
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

Deno.test("with keys set, a forged plain manifest and a swapped sealed one are refused everywhere and their SQL never runs", async () => {
  const stack = await startLocalStack({ s3: true, env: KEYED_ENV });
  const witness = `${await Deno.makeTempDir({ prefix: "sauvegarde-forged-" })}/program-ran`;
  try {
    await seedShop(stack.db.url, { products: 20, customers: 10, orders: 30 });
    const backup = await runToEnd(stack, "database", { targets: ["s3"] });
    assert.equal(backup.status, "succeeded", backup.error ?? "");
    const genuineId = backup.backupId!;

    // The attacker reads nothing (the manifest is sealed) but writes what a manifest looks like.
    const opened = await openRepository("s3", stack.app.config.targets.s3, stack.app.config);
    const genuine = structuredClone(
      await opened.repository.loadManifest<Record<string, unknown>>("database", genuineId),
    );
    await opened.target.close();
    const forgedId = newBackupId(new Date(Date.now() + 1000));
    const forged = {
      ...genuine,
      backupId: forgedId,
      sections: {
        preData: {
          statements: [{
            section: "pre-data",
            kind: "TABLE",
            schema: "public",
            name: "forged_marker",
            sql: `CREATE TABLE public.forged_marker (x int);\n` +
              `COPY (SELECT 1) TO PROGRAM 'touch ${witness}';`,
          }],
        },
        postData: { statements: [] },
      },
      tables: [],
      totals: { tables: 0, rows: 0, bytes: 0, storedBytes: 0, blobs: 0, reusedBlobs: 0 },
    };
    const raw = openTarget(stack.app.config.targets.s3, { s3: stack.app.config.s3 });
    const plain = new TextEncoder().encode(JSON.stringify(forged));
    await raw.save(manifestKey(DATABASE_MANIFEST_KIND, forgedId), plain, { size: plain.length });
    // And a genuine sealed manifest copied under another id (a rename to look newest).
    const sealed = new Uint8Array(
      await new Response(await raw.load(manifestKey(DATABASE_MANIFEST_KIND, genuineId)))
        .arrayBuffer(),
    );
    const swappedId = newBackupId(new Date(Date.now() + 2000));
    await raw.save(manifestKey(DATABASE_MANIFEST_KIND, swappedId), sealed, { size: sealed.length });
    await raw.close();

    // list: both shown as unreadable, neither as a backup.
    const list = await cliOnStack(stack, ["list", "--from", "s3", "--json"]);
    assert.equal(list.code, 0, list.stderr);
    const listed = JSON.parse(list.stdout.trim().split("\n").at(-1)!).backups as Array<
      { backupId: string; ok: boolean; error?: string; latest?: boolean; authenticated?: boolean }
    >;
    const byId = new Map(listed.map((entry) => [entry.backupId, entry]));
    assert.equal(byId.get(forgedId)?.ok, false);
    assert.match(
      byId.get(forgedId)!.error!,
      /plain JSON, not sealed, but encryption keys are configured/,
    );
    assert.equal(byId.get(swappedId)?.ok, false);
    assert.equal(byId.get(genuineId)?.ok, true);
    assert.equal(byId.get(genuineId)?.authenticated, true);

    // restore and export-sql, by id and as latest: refused, nothing applied.
    const destination = await stack.db.createDatabase("victim");
    for (const id of [forgedId, swappedId, "latest"]) {
      const restore = await cliOnStack(stack, [
        "restore",
        "--from",
        "s3",
        "--backup",
        id,
        "--db",
        destination,
        "--yes",
      ]);
      if (restore.code === 0) {
        // "latest" may pass over what it cannot open, but only to the genuine backup.
        assert.equal(id, "latest", restore.stderr);
        assert.match(restore.stdout + restore.stderr, new RegExp(genuineId));
      } else {
        assert.match(restore.stderr, /not sealed|could not be|tampered|authentic/i, restore.stderr);
      }
      assert.equal(await tableExists(destination, "public.forged_marker"), false, id);
      assert.equal(await exists(witness), false, `no program ran (${id})`);
    }
    const exported = await cliOnStack(stack, ["export-sql", "--from", "s3", "--backup", forgedId]);
    assert.notEqual(exported.code, 0);
    assert.doesNotMatch(exported.stdout, /TO PROGRAM/);

    // The scheduled restore test, unattended, of the forged backup: fails, runs nothing.
    for (const id of [forgedId, swappedId]) {
      const test = await runToEnd(stack, "restore_test", {
        targets: ["s3"],
        details: { backupId: id },
      });
      assert.equal(test.status, "failed");
      assert.match(test.error ?? "", /not sealed|tampered|authentic|could not/i);
      assert.equal(await exists(witness), false);
    }
    const scratch = await stack.app.sql`
      select datname from pg_database where datname like 'sauvegarde_restore_test_%'`;
    assert.deepEqual(scratch.map((row) => row.datname), [], "no scratch database left behind");

    // Verification over HTTP: the latest backup on s3 is the forgery, and it says so.
    const response = await fetch(`${stack.functionUrl("verify-backups")}?sample=all`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-sauvegarde-secret": stack.env.SAUVEGARDE_CRON_SECRET,
      },
      body: "{}",
    });
    const report = await response.json();
    assert.equal(response.status, 500);
    const integrity = report.checks.find((c: { id: string }) => c.id === "integrity.database");
    assert.equal(integrity.status, "fail");
    assert.match(integrity.summary, /on target s3 its manifest is invalid/);
  } finally {
    await settleBackground();
    await stack.stop();
    await Deno.remove(witness.slice(0, witness.lastIndexOf("/")), { recursive: true })
      .catch(() => {});
  }
});

Deno.test("without keys, a backup restores only when the operator says so, and the restore test refuses it", async () => {
  const stack = await startLocalStack();
  try {
    const source = await stack.db.createDatabase("shop");
    const sql = postgres(source, { max: 1, onnotice: () => {} });
    await sql.unsafe(`create table products (id int primary key, name text);
      insert into products select i, 'product ' || i from generate_series(1, 100) i;`);
    await sql.end();
    const opened = await openRepository("local", stack.app.config.targets.local, stack.app.config);
    await backupDatabase({ db: source, repository: opened.repository });
    await opened.target.close();

    const destination = await stack.db.createDatabase("restored");
    const args = ["restore", "--from", "local", "--backup", "latest", "--db", destination, "--yes"];
    const refused = await cliOnStack(stack, args);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(
      refused.stderr,
      /Database backup \S+ is not authenticated: .*SAUVEGARDE_ENCRYPTION_KEYS.*--allow-unauthenticated/,
    );
    assert.equal(await tableExists(destination, "public.products"), false, "nothing restored");
    const allowed = await cliOnStack(stack, [...args, "--allow-unauthenticated", "--json"]);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.equal(await tableExists(destination, "public.products"), true);

    const test = await runToEnd(stack, "restore_test");
    assert.equal(test.status, "failed");
    assert.match(test.error ?? "", /is not authenticated/);
    const scratch = await stack.app.sql`
      select datname from pg_database where datname like 'sauvegarde_restore_test_%'`;
    assert.equal(scratch.length, 0, "refused before any scratch database existed");
  } finally {
    await settleBackground();
    await stack.stop();
  }
});
