import { DeleteObjectsCommand } from "@aws-sdk/client-s3";
import assert from "node:assert/strict";
import postgres from "postgres";
import { settleBackground } from "../../../shared/jobs/background.ts";
import { executeUntilDone, PLAN_BUDGETS } from "../../../shared/jobs/mod.ts";
import type { RunKind } from "../../../shared/runs/mod.ts";
import { StorageDestination } from "../../../shared/storage/destination.ts";
import { sdkClient } from "../../support/sdk_client.ts";
import { type LocalStack, startLocalStack } from "../../../stack/local_stack.ts";
import { startPostgres } from "../../../stack/postgres.ts";
import { seedShop } from "../../../stack/shop_seed.ts";
import { KEYED_ENV } from "../../support/keys.ts";

const CLI = new URL("../../../cli/main.ts", import.meta.url).pathname;
const SHOP = { products: 150, customers: 40, orders: 300 };

async function cli(stack: LocalStack, args: string[]) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    env: stack.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout).trim(),
    stderr: new TextDecoder().decode(output.stderr),
  };
}

/** Backs up the project's database (and Storage) the way the worker does: runs, executed. */
async function backUp(stack: LocalStack, kinds: RunKind[]): Promise<void> {
  for (const kind of kinds) {
    const settings = kind === "database" ? { scope: {} } : { buckets: null };
    const created = await stack.app.store.create({
      kind,
      trigger: "api",
      details: settings,
      checkpoint: settings,
    });
    const { run } = await executeUntilDone(stack.app.executor, {
      runId: created.id,
      limits: PLAN_BUDGETS.worker,
    });
    assert.equal(run?.status, "succeeded", `${kind}: ${run?.error}`);
  }
}

async function count(url: string, table: string): Promise<number | null> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [{ exists }] = await sql`select to_regclass(${table}) is not null as exists`;
    if (!exists) return null;
    const [{ n }] = await sql.unsafe(`select count(*)::int as n from ${table}`);
    return n;
  } finally {
    await sql.end();
  }
}

Deno.test("recover without --yes and without a terminal fails clearly and changes nothing", async () => {
  const stack = await startLocalStack({ env: KEYED_ENV });
  const fresh = await startPostgres({ supabase: true, standIns: false });
  try {
    await seedShop(stack.db.url, SHOP);
    await backUp(stack, ["database"]);
    const result = await cli(stack, ["recover", "--db", fresh.url, "--json"]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /Refusing to recover without confirmation.*--yes/);
    assert.equal(result.stdout, "");
    assert.equal(await count(fresh.url, "public.products"), null, "nothing was restored");
  } finally {
    await settleBackground();
    await fresh.stop();
    await stack.stop();
  }
});

Deno.test("recover brings a lost table and deleted files back into a fresh project and reports the RTO", async () => {
  const stack = await startLocalStack({ storage: true, slack: true, env: KEYED_ENV });
  const fresh = await startPostgres({ supabase: true, standIns: false });
  const client = sdkClient(stack.storage!);
  try {
    const shop = await seedShop(stack.db.url, { ...SHOP, storage: stack.storage });
    await backUp(stack, ["database", "storage"]);
    const items = await count(stack.db.url, "public.order_items");
    const products = await count(stack.db.url, "public.products");
    assert.ok(items && products);

    // The disaster: a table dropped, product images deleted.
    const sql = postgres(stack.db.url, { max: 1, onnotice: () => {} });
    await sql`drop table public.order_items`;
    await sql.end();
    const lost = Array.from({ length: 20 }, (_, i) => ({ Key: `products/${i + 1}.jpg` }));
    await client.send(
      new DeleteObjectsCommand({ Bucket: "product-images", Delete: { Objects: lost } }),
    );
    const destination = new StorageDestination(stack.storage!);
    assert.equal((await destination.listExisting("product-images")).size, 120 - lost.length);

    const result = await cli(stack, ["recover", "--yes", "--json", "--db", fresh.url]);
    assert.equal(result.code, 0, result.stderr + result.stdout);
    const report = JSON.parse(result.stdout.split("\n").at(-1)!);
    assert.equal(report.ok, true, JSON.stringify(report.failed));
    assert.match(report.backupId, /^\d{8}T\d{6}Z-/);
    assert.ok(report.snapshotId);
    assert.ok(report.database.rows > 0);
    assert.equal(report.storage.uploaded, lost.length);
    assert.equal(report.storage.check.ok, true);
    assert.equal(report.storage.check.present, shop.objects);
    for (const part of ["database", "storage", "total"]) {
      assert.equal(typeof report.rto[part], "number", part);
    }
    assert.ok(report.rto.total >= report.rto.database + report.rto.storage - 0.01);
    // What the operator saw first (on stderr with --json): the backups and snapshots.
    assert.match(result.stderr, /Database backups \(newest first\)/);
    assert.equal(result.stdout.split("\n").length, 1, "only the report on stdout");

    assert.equal(await count(fresh.url, "public.order_items"), items, "the lost rows are back");
    assert.equal(await count(fresh.url, "public.products"), products);
    assert.equal((await destination.listExisting("product-images")).size, 120, "files are back");

    await settleBackground();
    assert.match(JSON.stringify(stack.slack!.messages), /Disaster recovery completed/);

    // Recovering again into the now populated database is refused, changes nothing, alerts.
    const again = await cli(stack, ["recover", "--yes", "--json", "--db", fresh.url]);
    assert.equal(again.code, 1, again.stderr);
    const refused = JSON.parse(again.stdout.split("\n").at(-1)!);
    assert.equal(refused.ok, false);
    assert.equal(refused.failed.phase, "database");
    assert.match(refused.failed.error, /already has/);
    assert.equal(refused.changed, false);
    assert.equal(refused.storage, null, "Storage is not touched after a failed database restore");
    assert.match(JSON.stringify(stack.slack!.messages), /Disaster recovery failed/);
  } finally {
    client.destroy();
    await settleBackground();
    await fresh.stop();
    await stack.stop();
  }
});
