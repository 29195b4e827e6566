import assert from "node:assert/strict";
import postgres from "postgres";
import { backupDatabase } from "../../../shared/database/backup/mod.ts";
import {
  loadDatabaseManifest,
  newBackupId,
  saveDatabaseManifest,
} from "../../../shared/database/manifest.ts";
import { settleBackground } from "../../../shared/jobs/background.ts";
import { executeStep, executeUntilDone, PLAN_BUDGETS } from "../../../shared/jobs/mod.ts";
import { openRepository } from "../../../shared/repository/open.ts";
import { PLATFORM_TEMPLATE } from "../../../shared/restore_test/mod.ts";
import type { Run } from "../../../shared/runs/mod.ts";
import { type LocalStack, startLocalStack } from "../../../stack/local_stack.ts";
import { applySqlFile } from "../../../stack/postgres.ts";
import { seedShop } from "../../../stack/shop_seed.ts";
import { KEYED_ENV } from "../../support/keys.ts";

const CLI = new URL("../../../cli/main.ts", import.meta.url).pathname;

/** A plain source database with awkward data: the kind of rows a checksum must survive. */
const SOURCE_SQL = `
create schema shop;
create table shop.customers (
  id bigint generated always as identity primary key,
  name text not null,
  note text,
  balance numeric(12, 2),
  ratio double precision,
  avatar bytea,
  tags text[],
  profile jsonb,
  joined timestamptz not null,
  name_length integer generated always as (length(name)) stored
);
create table shop.orders (
  id bigint primary key,
  customer_id bigint not null references shop.customers (id),
  placed date not null,
  amount numeric(10, 2) not null
);
create table shop."Order Items" ("Order" bigint references shop.orders (id), "qty ""x""" int);
create table shop.parents (id int, label text);
create table shop.children (extra text) inherits (shop.parents);
insert into shop.customers (name, note, balance, ratio, avatar, tags, profile, joined)
select 'Customer ' || i,
       case when i % 5 = 0 then null else E'line one\\nline\\ttwo \\\\ ' || i end,
       round((i * 13.37)::numeric, 2), i / 7.0, decode(lpad(to_hex(i), 8, '0'), 'hex'),
       array['a' || i % 3, 'b'], jsonb_build_object('n', i, 'é', 'ü'),
       timestamptz '2026-01-01 00:00:00+00' + make_interval(mins => i)
from generate_series(1, 400) i;
insert into shop.orders select i, 1 + i % 400, date '2026-01-01' + i % 300, i * 1.25
from generate_series(1, 1200) i;
insert into shop."Order Items" select 1 + i % 1200, i from generate_series(1, 2000) i;
insert into shop.parents values (1, 'parent');
insert into shop.children values (2, 'child', 'extra');
`;

async function targetRepository(stack: LocalStack) {
  const [[name, url]] = Object.entries(stack.app.config.targets);
  return await openRepository(name, url, stack.app.config);
}

/** Seeds a plain database on the stack's server and backs it up into the first target. */
async function backUpSource(stack: LocalStack): Promise<string> {
  const sourceUrl = await stack.db.createDatabase("shop_source");
  const sql = postgres(sourceUrl, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(SOURCE_SQL);
  } finally {
    await sql.end();
  }
  const opened = await targetRepository(stack);
  try {
    const backup = await backupDatabase({ db: sourceUrl, repository: opened.repository });
    return backup.backupId;
  } finally {
    await opened.target.close();
  }
}

/** Writes a copy of a backup's manifest, changed by `tamper`, under a newer id (the latest). */
async function tamperedCopy(
  stack: LocalStack,
  backupId: string,
  tamper: (tables: Array<{ schema: string; name: string; rows: number; sha256: string }>) => void,
): Promise<string> {
  const opened = await targetRepository(stack);
  try {
    const manifest = structuredClone(await loadDatabaseManifest(opened.repository, backupId));
    manifest.backupId = newBackupId(new Date(Date.now() + 2_000));
    tamper(manifest.tables);
    await saveDatabaseManifest(opened.repository, manifest);
    return manifest.backupId;
  } finally {
    await opened.target.close();
  }
}

async function runRestoreTestRun(stack: LocalStack): Promise<Run> {
  const created = await stack.app.store.create({ kind: "restore_test", trigger: "api" });
  await executeUntilDone(stack.app.executor, { runId: created.id, limits: PLAN_BUDGETS.worker });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const run = await stack.app.store.get(created.id);
    if (run && !["queued", "running"].includes(run.status)) return run;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`Restore test run ${created.id} did not finish`);
}

async function scratchDatabases(stack: LocalStack): Promise<string[]> {
  const rows = await stack.app.sql`
    select datname from pg_database where datname like 'sauvegarde_restore_test_%'`;
  return rows.map((row) => row.datname as string);
}

async function waitForSlack(stack: LocalStack, count: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (stack.slack!.messages.length < count && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

Deno.test("a restore test that finds a wrong row count fails, names the table and alerts Slack", async () => {
  const stack = await startLocalStack({ slack: true, env: KEYED_ENV });
  try {
    const good = await backUpSource(stack);
    const bad = await tamperedCopy(stack, good, (tables) => {
      tables.find((table) => table.name === "orders")!.rows += 1;
    });
    const run = await runRestoreTestRun(stack);
    assert.equal(run.status, "failed");
    assert.match(run.error ?? "", /shop\.orders/);
    assert.match(run.error ?? "", /1201/);
    assert.equal(run.details.target, "local");
    assert.match(String(run.details.error), /shop\.orders/);
    assert.deepEqual(await scratchDatabases(stack), [], "the scratch database was dropped");
    await settleBackground();
    await waitForSlack(stack, 1);
    const text = JSON.stringify(stack.slack!.messages);
    assert.match(text, /Restore test failed/);
    assert.match(text, /shop\.orders/);
    assert.ok(bad > good);
  } finally {
    await settleBackground();
    await stack.stop();
  }
});

Deno.test("a restore test whose restored rows do not hash to the manifest's checksum fails with the table in its details", async () => {
  const stack = await startLocalStack({ slack: true, env: KEYED_ENV });
  try {
    const good = await backUpSource(stack);
    await tamperedCopy(stack, good, (tables) => {
      const table = tables.find((table) => table.name === "Order Items")!;
      table.sha256 = "0".repeat(64);
    });
    const run = await runRestoreTestRun(stack);
    assert.equal(run.status, "failed");
    assert.match(run.error ?? "", /shop\.Order Items/);
    const mismatches = run.details.mismatches as Array<{ table: string; problem: string }>;
    assert.deepEqual(mismatches.map((mismatch) => mismatch.table), ["shop.Order Items"]);
    assert.match(mismatches[0].problem, /not its contents/);
    assert.equal(typeof run.details.seconds, "number");
    assert.deepEqual(await scratchDatabases(stack), []);
    await settleBackground();
    await waitForSlack(stack, 1);
    assert.match(JSON.stringify(stack.slack!.messages), /Order Items/);
  } finally {
    await settleBackground();
    await stack.stop();
  }
});

Deno.test("a restore test from the CLI restores the latest backup, matches every table and records the RTO", async () => {
  const stack = await startLocalStack({ env: KEYED_ENV });
  try {
    const backupId = await backUpSource(stack);
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, "test-restore", "--json"],
      env: stack.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(output.stdout).trim().split("\n");
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, stderr + stdout.join("\n"));
    const report = JSON.parse(stdout.at(-1)!);
    assert.equal(report.status, "succeeded");
    assert.equal(report.backupId, backupId);
    assert.deepEqual(report.mismatches, []);
    assert.equal(report.tables, 5);
    assert.equal(report.rows, 400 + 1200 + 2000 + 1 + 1);
    assert.ok(report.seconds > 0, "the RTO is measured");

    const run = await stack.app.store.get(report.runId);
    assert.equal(run?.kind, "restore_test");
    assert.equal(run?.status, "succeeded");
    assert.equal(run?.trigger, "manual");
    assert.equal(run?.backupId, backupId);
    assert.equal(run?.details.seconds, report.seconds);
    assert.deepEqual(await scratchDatabases(stack), [], "the scratch database was dropped");
  } finally {
    await settleBackground();
    await stack.stop();
  }
});

Deno.test("a restore test of the Supabase project's own database needs the platform template, then passes", async () => {
  const stack = await startLocalStack({ env: KEYED_ENV });
  try {
    await seedShop(stack.db.url, { products: 100, customers: 30, orders: 200 });
    const backup = await stack.app.store.create({
      kind: "database",
      trigger: "api",
      details: { scope: {} },
      checkpoint: { scope: {} },
    });
    const { run: backedUp } = await executeUntilDone(stack.app.executor, {
      runId: backup.id,
      limits: PLAN_BUDGETS.worker,
    });
    assert.equal(backedUp?.status, "succeeded", backedUp?.error ?? "");

    const without = await runRestoreTestRun(stack);
    assert.equal(without.status, "failed");
    assert.match(without.error ?? "", new RegExp(`create a database ${PLATFORM_TEMPLATE}`));

    const template = await stack.db.createDatabase(PLATFORM_TEMPLATE);
    await applySqlFile(template, "supabase_baseline.sql");
    const run = await runRestoreTestRun(stack);
    assert.equal(run.status, "succeeded", run.error ?? "");
    assert.deepEqual(run.details.mismatches, []);
    assert.deepEqual(run.details.leftOut, ["EXTENSION pg_cron"]);
    assert.equal(run.details.template, PLATFORM_TEMPLATE);
    assert.ok((run.details.tables as number) >= 8);
    assert.deepEqual(await scratchDatabases(stack), []);
  } finally {
    await settleBackground();
    await stack.stop();
  }
});

Deno.test("the schedule migration adds a monthly restore test and a daily retention job whose queued runs the worker claims", async () => {
  const stack = await startLocalStack({ env: KEYED_ENV });
  const sql = postgres(stack.db.url, { max: 1, onnotice: () => {} });
  try {
    const jobs = Object.fromEntries(
      (await sql`select jobname, schedule, command from cron.job
                 where jobname in ('sauvegarde-restore-test', 'sauvegarde-retention')`)
        .map((row) => [row.jobname, row]),
    );
    assert.equal(jobs["sauvegarde-restore-test"]?.schedule, "0 3 1 * *");
    assert.equal(jobs["sauvegarde-retention"]?.schedule, "0 4 * * *");
    // What pg_cron runs: each command queues a run for the worker (twice: prune stays one run).
    await sql.unsafe(jobs["sauvegarde-restore-test"].command);
    await sql.unsafe(jobs["sauvegarde-retention"].command);
    await sql.unsafe(jobs["sauvegarde-retention"].command);
    const queued = await sql`
      select kind, trigger, requested_by from public.backup_runs
      where status = 'queued' order by kind`;
    assert.deepEqual(queued.map((row) => ({ ...row })), [
      { kind: "prune", trigger: "cron", requested_by: "pg_cron" },
      { kind: "restore_test", trigger: "cron", requested_by: "pg_cron" },
    ]);
    // The worker's loop claims the queued restore test (the oldest) and runs it: with no backup
    // on the target yet, it fails saying so.
    const { run: claimed } = await executeStep(stack.app.executor, { limits: PLAN_BUDGETS.worker });
    assert.equal(claimed?.kind, "restore_test");
    assert.equal(claimed?.status, "failed");
    assert.match(claimed?.error ?? "", /no database backup yet/);
    await sql`update public.backup_runs set status = 'cancelled', finished_at = now()
              where status = 'queued'`;
    await sql`select public.sauvegarde_set_schedule('restore-test', '0 3 * * 0')`;
    const [changed] = await sql`select schedule from cron.job
                                where jobname = 'sauvegarde-restore-test'`;
    assert.equal(changed.schedule, "0 3 * * 0");
  } finally {
    await sql.end();
    await stack.stop();
  }
});
