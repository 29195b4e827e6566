/**
 * Verification at scale: 100,000 rows in `backup_runs`, 100,000 in `cron.job_run_details`,
 * 50 database backups and 50 Storage snapshots on a file target and an S3 target. Reports
 * p50/p95 of a whole verification and of each check, and the plan of every query
 * verification runs (they must use indexes, not scan the tables).
 *
 * Run: `deno run -A bench/verify_bench.ts [--runs 30]`; prints Markdown.
 *
 * @module
 */
import postgres from "postgres";
import { startLocalStack } from "../stack/local_stack.ts";
import { Repository } from "../shared/repository/mod.ts";
import { backupDatabase } from "../shared/database/backup/mod.ts";
import { verifyBackups } from "../shared/verify/mod.ts";
import {
  copyTarget,
  createShop,
  openTargets,
  recordRun,
  storageSnapshot,
} from "../tests/support/verify_fixture.ts";

const RUNS = Number(Deno.args[Deno.args.indexOf("--runs") + 1]) || 30;
const BACKUPS = 50;
const RUN_ROWS = 100_000;
const CRON_ROWS = 100_000;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const stack = await startLocalStack({ s3: true });
const sql = postgres(stack.db.url, { max: 2, onnotice: () => {} });
const targets = openTargets(stack.app.config);
try {
  // ---- 50 + 50 backups on two targets -------------------------------------------------
  const setup = performance.now();
  const shop = await createShop((name) => stack.db.createDatabase(name));
  const shopSql = postgres(shop, { max: 1, onnotice: () => {} });
  const local = new Repository(targets.local);
  let last = { backupId: "", bytes: 0 };
  for (let i = 0; i < BACKUPS; i++) {
    await shopSql`insert into orders select 100000 + ${i} * 100 + g, 1, g from generate_series(1, 100) g`;
    const result = await backupDatabase({ db: shop, repository: local });
    last = { backupId: result.backupId, bytes: result.bytes };
  }
  await shopSql.end();
  await copyTarget(targets.local, targets.s3);
  let snap = { snapshotId: "", bytes: 0 };
  for (let i = 0; i < BACKUPS; i++) {
    snap = await storageSnapshot(targets, { at: new Date(Date.now() - (BACKUPS - i) * 3_600_000) });
  }
  const setupBackups = performance.now() - setup;

  // ---- 100,000 runs and 100,000 cron history rows ---------------------------------------
  const seed = performance.now();
  await sql`
    insert into public.backup_runs (kind, status, trigger, created_at, started_at, heartbeat_at,
                                    finished_at, bytes, error)
    select k.kind,
           case when g % 50 = 0 then 'failed' else 'succeeded' end,
           'cron',
           t.at, t.at, t.at + interval '2 minutes', t.at + interval '2 minutes',
           case k.kind when 'database' then ${last.bytes} + g % 100
                       when 'storage' then ${snap.bytes} + g % 100 else 0 end,
           case when g % 50 = 0 then 'synthetic failure' end
    from generate_series(1, ${RUN_ROWS}) g
    cross join lateral (select (array['database','storage','verify','verify','restore_test','prune'])[1 + g % 6] as kind) k
    cross join lateral (select now() - interval '3 days' - (g * interval '10 minutes') as at) t`;
  await recordRun(sql, { kind: "database", backupId: last.backupId, bytes: last.bytes });
  await recordRun(sql, { kind: "storage", backupId: snap.snapshotId, bytes: snap.bytes });
  await recordRun(sql, { kind: "restore_test" });
  await sql`
    insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, status,
                                      return_message, start_time, end_time)
    select j.jobid, nextval('cron.runid_seq'), 1, 'postgres', 'postgres', j.command, 'succeeded',
           '1 row', now() - (${CRON_ROWS} - g) * interval '1 minute',
           now() - (${CRON_ROWS} - g) * interval '1 minute' + interval '1 second'
    from generate_series(1, ${CRON_ROWS}) g
    join cron.job j on j.jobname = 'sauvegarde-continue'`;
  await sql`analyze public.backup_runs`;
  await sql`analyze cron.job_run_details`;
  const seedMs = performance.now() - seed;
  const [{ runs }] = await sql`select count(*)::int as runs from public.backup_runs`;
  const [{ history }] = await sql`select count(*)::int as history from cron.job_run_details`;

  // ---- Timings -----------------------------------------------------------------------------
  const deps = { sql: stack.app.sql, store: stack.app.store, config: stack.app.config };
  await verifyBackups(deps, { alerts: false }); // warm up connections and caches
  const totals: number[] = [];
  const perCheck = new Map<string, number[]>();
  let lastReport;
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    lastReport = await verifyBackups(deps, {});
    totals.push(performance.now() - started);
    for (const check of lastReport.checks) {
      const family = check.id.split(".").slice(0, 2).join(".");
      perCheck.set(family, [...(perCheck.get(family) ?? []), check.ms ?? 0]);
    }
  }
  const allSample = [];
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    await verifyBackups(deps, { alerts: false, sample: "all", only: ["integrity"] });
    allSample.push(performance.now() - started);
  }

  // ---- Plans -------------------------------------------------------------------------------
  const since = new Date(Date.now() - 86_400_000);
  const queries: Array<[string, string, unknown[]]> = [
    [
      "latest good run of a kind (freshness, integrity, restore test)",
      `select id, backup_id, started_at, finished_at, bytes from public.backup_runs
       where kind = $1 and status = 'succeeded' order by finished_at desc limit 1`,
      ["database"],
    ],
    [
      "live runs (stuck runs, backup in progress)",
      `select id, kind, status, created_at, heartbeat_at from public.backup_runs
       where status in ('queued', 'running') order by heartbeat_at nulls first`,
      [],
    ],
    [
      "recent failures of a kind",
      `select id, created_at, error from public.backup_runs
       where kind = $1 and status = 'failed' and created_at > $2
       order by created_at desc limit 100`,
      ["database", since],
    ],
    [
      "latest success of a kind (by creation)",
      `select id, created_at from public.backup_runs
       where kind = $1 and status = 'succeeded' order by created_at desc limit 1`,
      ["database"],
    ],
    [
      "size history of a kind",
      `select id, bytes from public.backup_runs
       where kind = $1 and status = 'succeeded' order by finished_at desc limit 21`,
      ["database"],
    ],
    [
      "pg_cron: the newest 10,000 history rows, latest run per job",
      `with recent as (
         select jobid, runid, start_time, status, return_message from cron.job_run_details
         order by runid desc limit 10000)
       select distinct on (jobid) jobid, start_time, status, return_message
       from recent where status <> 'starting' order by jobid, runid desc`,
      [],
    ],
    [
      "pg_cron: how far back that window reaches",
      `select count(*)::int as rows, min(start_time) as since from (
         select start_time from cron.job_run_details order by runid desc limit 10000) recent`,
      [],
    ],
  ];
  const plans: string[] = [];
  for (const [name, text, params] of queries) {
    const rows = await sql.unsafe(
      `explain (analyze, buffers, costs off) ${text}`,
      params as never[],
    );
    const plan = rows.map((row) => row["QUERY PLAN"]).join("\n");
    const scans = /Seq Scan on backup_runs/.test(plan) ? " — SEQUENTIAL SCAN" : "";
    plans.push(`#### ${name}${scans}\n\n\`\`\`\n${plan}\n\`\`\``);
  }

  const fmt = (ms: number) => `${ms.toFixed(1)} ms`;
  const lines = [
    `Verification at scale (${
      new Date().toISOString().slice(0, 10)
    }, Deno ${Deno.version.deno}, PostgreSQL 15, s3rver on loopback)`,
    "",
    `- ${runs.toLocaleString("en")} rows in backup_runs, ${
      history.toLocaleString("en")
    } in cron.job_run_details`,
    `- ${BACKUPS} database backups and ${BACKUPS} Storage snapshots on each of 2 targets (file, S3); latest database backup: ${
      lastReport!.checks.find((c) => c.id === "integrity.database")?.details?.parts
    } parts`,
    `- setup: backups ${fmt(setupBackups)}, rows ${fmt(seedMs)}`,
    "",
    `| what (${RUNS} runs, sample 8 blobs per copy) | p50 | p95 |`,
    "| --- | --- | --- |",
    `| whole verification (all checks, run recorded, alerts evaluated) | ${
      fmt(percentile(totals, 50))
    } | ${fmt(percentile(totals, 95))} |`,
    ...[...perCheck].map(([family, values]) =>
      `| check ${family} | ${fmt(percentile(values, 50))} | ${fmt(percentile(values, 95))} |`
    ),
    `| integrity with every blob re-read (\`sample: "all"\`, 5 runs) | ${
      fmt(percentile(allSample, 50))
    } | ${fmt(percentile(allSample, 95))} |`,
    "",
    `Last report: ${lastReport!.summary}`,
    "",
    ...plans,
  ];
  console.log(lines.join("\n"));
} finally {
  await Promise.all(Object.values(targets).map((target) => target.close()));
  await sql.end();
  await stack.stop();
}
