/**
 * `deno task demo`: the whole job on a throwaway local stack, end to end, with a report.
 *
 * A sample shop (database and Storage files) is seeded; pg_cron fires the backup and the
 * Storage snapshot through `net.http_post` to the functions served over HTTP; verification
 * runs; a disaster is simulated (a table dropped, product images deleted); the database is
 * recovered into a fresh database and the files into Storage; the measured RPO and RTO are
 * reported against the runbook's objectives. Everything is removed at the end.
 */
import { parseArgs } from "node:util";
import postgres from "postgres";
import { Keyring } from "../../shared/codec/mod.ts";
import { restoreDatabase } from "../../shared/database/restore/mod.ts";
import { settleBackground } from "../../shared/jobs/background.ts";
import { executeUntilDone, PLAN_BUDGETS } from "../../shared/jobs/mod.ts";
import { openRepository } from "../../shared/repository/open.ts";
import type { Run } from "../../shared/runs/mod.ts";
import { StorageDestination } from "../../shared/storage/destination.ts";
import { restoreStorage } from "../../shared/storage/restore.ts";
import { type LocalStack, startLocalStack } from "../../stack/local_stack.ts";
import { applySqlFile, startPostgres } from "../../stack/postgres.ts";
import { seedShop } from "../../stack/shop_seed.ts";
import { CliError } from "../cli_error.ts";

const OBJECTIVES = { databaseRpoS: 15 * 60, databaseRtoS: 3600, filesRpoS: 3600, filesRtoS: 7200 };

function say(text: string): void {
  console.log(text);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

async function waitForCronRun(
  stack: LocalStack,
  kind: "database" | "storage",
  timeoutMs: number,
): Promise<Run> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const [row] = await stack.app.sql`
      select id from public.backup_runs where kind = ${kind} and trigger = 'cron'
      order by created_at desc limit 1`;
    if (row) {
      const run = await stack.app.store.get(row.id);
      if (run && ["succeeded", "failed", "cancelled"].includes(run.status)) return run;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new CliError(`pg_cron did not complete a ${kind} run within ${seconds(timeoutMs)}`);
}

export async function run(args: string[]): Promise<number> {
  parseArgs({ args, options: {}, strict: true });
  const { text: keys } = await Keyring.generate("demo-key");
  say("Sauvegarde demo: a local Supabase-like stack, a sample shop, pg_cron, a disaster.\n");
  const stack = await startLocalStack({
    s3: true,
    storage: true,
    slack: true,
    env: { SAUVEGARDE_ENCRYPTION_KEYS: keys, SAUVEGARDE_REQUIRE_ENCRYPTION: "true" },
  });
  const sql = postgres(stack.db.url, { max: 2, onnotice: () => {} });
  let ok = true;
  try {
    say(
      `Stack: PostgreSQL 15 + pg_cron on port ${stack.db.port}, functions at ${stack.functions.url}`,
    );
    say(`Targets: ${Object.keys(stack.app.config.targets).join(", ")} (encrypted, zstd)\n`);

    const shop = await seedShop(stack.db.url, { storage: stack.storage });
    say(
      `1. Seeded the shop: ${shop.products} products, ${shop.customers} customers, ` +
        `${shop.orders} orders; ${shop.objects} files in ${shop.buckets.join(", ")}`,
    );

    await sql`select public.sauvegarde_set_schedule('database-backup', '* * * * *')`;
    await sql`select public.sauvegarde_set_schedule('storage-snapshot', '* * * * *')`;
    const now = new Date();
    say(
      `2. Scheduled both jobs every minute; waiting for pg_cron (next tick in ${
        60 - now.getUTCSeconds()
      } s)…`,
    );
    const database = await waitForCronRun(stack, "database", 150_000);
    const storage = await waitForCronRun(stack, "storage", 150_000);
    await sql`select public.sauvegarde_set_schedule('database-backup', '0 2 * * *')`;
    await sql`select public.sauvegarde_set_schedule('storage-snapshot', '0 3 * * *')`;
    for (const run of [database, storage]) {
      const took = run.finishedAt && run.startedAt
        ? seconds(run.finishedAt.getTime() - run.startedAt.getTime())
        : "?";
      say(
        `   pg_cron → net.http_post → ${
          run.kind === "database" ? "trigger-backup" : "storage-snapshot"
        }` +
          ` → run ${run.id.slice(0, 8)} ${run.status} in ${took}: ${run.items} ${
            run.kind === "database" ? "rows" : "objects"
          }, ${run.bytes} bytes${run.error ? ` (${run.error})` : ""}`,
      );
      if (run.status !== "succeeded") ok = false;
    }
    if (!ok) throw new CliError("A scheduled run failed; see above");

    // The monthly restore test, run now: restore into a scratch database (copied from a
    // template holding the platform schemas, as an operator sets up once), check every table's
    // rows and checksum against the manifest, record the RTO.
    const template = await stack.db.createDatabase("sauvegarde_restore_template");
    await applySqlFile(template, "supabase_baseline.sql");
    const test = await stack.app.store.create({ kind: "restore_test", trigger: "manual" });
    const tested = await executeUntilDone(stack.app.executor, {
      runId: test.id,
      limits: PLAN_BUDGETS.worker,
    });
    const testDetails = tested.run?.details as { seconds?: number; tables?: number } | undefined;
    say(
      `3. Restore test ${tested.run?.status}: ${
        testDetails?.tables ?? "?"
      } tables restored into a ` +
        `scratch database and checked in ${testDetails?.seconds?.toFixed(1) ?? "?"} s` +
        (tested.run?.error ? ` (${tested.run.error})` : ""),
    );
    if (tested.run?.status !== "succeeded") ok = false;

    const verifyResponse = await fetch(stack.functionUrl("verify-backups"), {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-sauvegarde-secret": stack.env.SAUVEGARDE_CRON_SECRET,
      },
      body: JSON.stringify({ sample: "all" }),
    });
    const report = await verifyResponse.json();
    say(`4. verify-backups answered ${verifyResponse.status} (${report.status ?? "?"}):`);
    for (const check of report.checks ?? []) {
      say(`   ${String(check.status).padEnd(4)} ${check.id}: ${check.summary}`);
    }

    const disasterAt = Date.now();
    const [{ count: itemsBefore }] =
      await sql`select count(*)::int as count from public.order_items`;
    await sql`drop table public.order_items`;
    const storageDestination = new StorageDestination({
      endpoint: stack.storage!.endpoint,
      region: stack.storage!.region,
      accessKeyId: stack.storage!.accessKeyId,
      secretAccessKey: stack.storage!.secretAccessKey,
    });
    const lost = Array.from({ length: 25 }, (_, i) => `products/${i + 1}.jpg`);
    for (const key of lost) await storageDestination.remove("product-images", key);
    say(
      `5. Disaster: dropped public.order_items (${itemsBefore} rows) and deleted ${lost.length} product images`,
    );

    const [[targetName, targetUrl]] = Object.entries(stack.app.config.targets);
    const opened = await openRepository(targetName, targetUrl, stack.app.config);
    try {
      // As the runbook does after losing a project: restore into a new, empty project (a second
      // throwaway cluster with the same Supabase-like baseline), then check it.
      const dbStarted = Date.now();
      const fresh = await startPostgres({ supabase: true });
      let itemsAfter = -1;
      let restored;
      try {
        restored = await restoreDatabase({
          repository: opened.repository,
          backupId: "latest",
          db: fresh.url,
          safetyBackup: false,
        });
        const check = postgres(fresh.url, { max: 1, onnotice: () => {} });
        [{ count: itemsAfter }] =
          await check`select count(*)::int as count from public.order_items`;
        await check.end();
      } finally {
        await fresh.stop();
      }
      const dbRto = Date.now() - dbStarted;
      say(
        `6. Recovered the database into a new project: ${restored.tables} tables, ` +
          `${restored.rows} rows in ${
            seconds(dbRto)
          }; order_items ${itemsAfter}/${itemsBefore} rows`,
      );
      if (itemsAfter !== itemsBefore) ok = false;

      const filesStarted = Date.now();
      const files = await restoreStorage(opened.repository, storageDestination, {
        snapshot: "latest",
        sql: stack.app.sql,
      });
      const filesRto = Date.now() - filesStarted;
      say(
        `   Recovered Storage: ${files.uploaded} objects uploaded, ${files.skipped} already ` +
          `identical, in ${seconds(filesRto)}`,
      );
      if (files.uploaded !== lost.length) ok = false;

      const dbRpo = disasterAt - new Date(database.finishedAt!).getTime();
      const filesRpo = disasterAt - new Date(storage.finishedAt!).getTime();
      say("\nReport (measured on this run, against the runbook's objectives):");
      const line = (what: string, ms: number, objectiveS: number) => {
        const met = ms / 1000 <= objectiveS;
        if (!met) ok = false;
        say(
          `   ${what.padEnd(14)} ${seconds(ms).padStart(9)}  objective < ${objectiveS / 60} min  ${
            met ? "met" : "MISSED"
          }`,
        );
      };
      line("database RPO", dbRpo, OBJECTIVES.databaseRpoS);
      line("database RTO", dbRto, OBJECTIVES.databaseRtoS);
      line("files RPO", filesRpo, OBJECTIVES.filesRpoS);
      line("files RTO", filesRto, OBJECTIVES.filesRtoS);
      say(`   Slack messages received: ${stack.slack?.messages.length ?? 0}`);
    } finally {
      await storageDestination.close();
      await opened.target.close();
    }
    say(ok ? "\nDemo complete: backups made by pg_cron, verified, and restored." : "\nDemo FAILED");
    return ok ? 0 : 1;
  } finally {
    await sql.end();
    await settleBackground();
    await stack.stop();
  }
}
