/**
 * The status API at scale: 100,000 rows in `backup_runs` (on two targets, some failed, live runs
 * among them), 100,000 in `cron.job_run_details`, open alerts. Times `GET trigger-backup` over
 * HTTP as a backup admin (the dashboard's call, every few seconds) and the pages of runs, and
 * prints the plan of every query the status runs: each must be an index scan, never a
 * sequential scan of `backup_runs`.
 *
 * Run: `deno run -A bench/status_bench.ts [--runs 50]`; prints Markdown.
 *
 * @module
 */
import postgres from "postgres";
import { startLocalStack } from "../stack/local_stack.ts";

const RUNS = Number(Deno.args[Deno.args.indexOf("--runs") + 1]) || 50;
const RUN_ROWS = 100_000;
const CRON_ROWS = 100_000;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const local = await Deno.makeTempDir();
const far = await Deno.makeTempDir();
const stack = await startLocalStack({
  env: { SAUVEGARDE_TARGETS: `local=file://${local},far=file://${far}` },
});
const sql = postgres(stack.db.url, { max: 2, onnotice: () => {} });
try {
  const seed = performance.now();
  await sql`
    insert into public.backup_runs (kind, status, trigger, targets, created_at, started_at,
                                    heartbeat_at, finished_at, bytes, error, details)
    select k.kind,
           case when g % 50 = 0 then 'failed' else 'succeeded' end,
           'cron',
           case when g % 7 = 0 then array['local'] else array['local', 'far'] end,
           t.at, t.at, t.at + interval '2 minutes', t.at + interval '2 minutes',
           1000 + g % 100,
           case when g % 50 = 0 then 'synthetic failure' end,
           case k.kind
             when 'restore_test' then jsonb_build_object('seconds', 10 + g % 5)
             when 'verify' then jsonb_build_object('status', 'ok', 'summary', 'All 18 checks pass',
               'checks', jsonb_build_array(jsonb_build_object('id', 'freshness.database',
                 'status', 'ok', 'summary', 'fine')))
             else '{}'::jsonb end
    from generate_series(1, ${RUN_ROWS}) g
    cross join lateral (select (array['database','storage','verify','verify','restore_test','prune'])[1 + g % 6] as kind) k
    cross join lateral (select now() - (g * interval '10 minutes') as at) t`;
  await sql`
    insert into public.backup_runs (kind, status, trigger, targets, started_at, heartbeat_at)
    values ('database', 'running', 'manual', array['local', 'far'], now(), now())`;
  await sql`
    insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, status,
                                      return_message, start_time, end_time)
    select j.jobid, nextval('cron.runid_seq'), 1, 'postgres', 'postgres', j.command, 'succeeded',
           '1 row', now() - (${CRON_ROWS} - g) * interval '1 minute',
           now() - (${CRON_ROWS} - g) * interval '1 minute' + interval '1 second'
    from generate_series(1, ${CRON_ROWS}) g
    join cron.job j on j.jobname = 'sauvegarde-continue'`;
  await sql`
    insert into public.alert_state (key, status, severity, title, summary, next_step)
    select 'check.' || g, 'firing', 'warn', 'Check ' || g, 'Something to look at', 'Look at it'
    from generate_series(1, 5) g`;
  await sql`analyze public.backup_runs`;
  await sql`analyze cron.job_run_details`;
  const seedMs = performance.now() - seed;
  const [{ runs }] = await sql`select count(*)::int as runs from public.backup_runs`;

  const user = stack.auth.addUser({ email: "bench@sauvegarde.local", admin: true });
  const { access_token } = await stack.auth.session(user);
  const url = stack.functionUrl("trigger-backup");
  const call = async (query: string) => {
    const started = performance.now();
    const response = await fetch(`${url}${query}`, {
      headers: { authorization: `Bearer ${access_token}` },
    });
    const body = await response.json();
    if (response.status !== 200) throw new Error(`${query}: ${response.status} ${body.error}`);
    return { ms: performance.now() - started, body };
  };

  // A cursor deep in the table: the 90,000th newest run.
  const [{ id: deep }] = await sql`
    select id from public.backup_runs order by created_at desc, id desc offset 90000 limit 1`;
  const cases: Array<[string, string]> = [
    ["whole status (`GET trigger-backup`)", ""],
    ["whole status, runs of one kind and status", "?kind=database&status=failed"],
    ["a page of runs (`?view=runs`)", "?view=runs"],
    ["a page of runs 90,000 deep", `?view=runs&cursor=${deep}`],
    ["a page of one kind's runs, deep", `?view=runs&kind=storage&cursor=${deep}`],
    ["a page of one status's runs, deep", `?view=runs&status=failed&cursor=${deep}`],
  ];
  for (const [, query] of cases) await call(query); // warm up connections and caches
  const rows: string[] = [];
  let sample: Record<string, unknown> = {};
  for (const [name, query] of cases) {
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const { ms, body } = await call(query);
      times.push(ms);
      if (query === "") sample = body;
    }
    rows.push(
      `| ${name} | ${percentile(times, 50).toFixed(1)} ms | ${
        percentile(times, 95).toFixed(1)
      } ms |`,
    );
  }

  // ---- Plans of the status's queries ---------------------------------------------------------
  const full = `coalesce(details ->> 'class', case when jsonb_path_exists(details,
    '$.scope ? (@.schemaOnly == true || @.dataOnly == true || @.includeSchemas.size() > 0 ||
    @.excludeSchemas.size() > 0 || @.includeTables.size() > 0 || @.excludeTables.size() > 0)')
    then 'partial' else 'full' end) = 'full'`;
  const queries: Array<[string, string]> = [
    [
      "latest good run of a kind (full backups only)",
      `select id from public.backup_runs where kind = 'database' and status = 'succeeded'
       and ${full} order by finished_at desc limit 1`,
    ],
    [
      "latest failed run of a kind",
      `select id from public.backup_runs where kind = 'database' and status = 'failed'
       order by created_at desc limit 1`,
    ],
    [
      "latest good run of a kind per target",
      `select t.name, r.id from unnest(array['local', 'far']) as t(name)
       cross join lateral (select id from public.backup_runs
         where kind = 'database' and status = 'succeeded' and t.name = any(targets) and ${full}
         order by finished_at desc limit 1) r`,
    ],
    [
      "latest failed run of a kind per target",
      `select t.name, r.id from unnest(array['local', 'far']) as t(name)
       cross join lateral (select id from public.backup_runs
         where kind = 'database' and status = 'failed' and t.name = any(targets)
         order by created_at desc limit 1) r`,
    ],
    [
      "live runs",
      `select id from public.backup_runs where status in ('queued', 'running')
       order by created_at desc limit 50`,
    ],
    [
      "last verification",
      `select * from (
         (select id, created_at from public.backup_runs
          where kind = 'verify' and status = 'succeeded' order by created_at desc limit 1)
         union all
         (select id, created_at from public.backup_runs
          where kind = 'verify' and status = 'failed' order by created_at desc limit 1)
       ) latest order by created_at desc limit 1`,
    ],
    [
      "a page of runs, 90,000 deep",
      `select id from public.backup_runs
       where (created_at, id) < (select created_at, id from public.backup_runs where id = '${deep}')
       order by created_at desc, id desc limit 21`,
    ],
    [
      "a page of one kind and status",
      `select id from public.backup_runs where kind = 'storage' and status = 'failed'
       order by created_at desc, id desc limit 21`,
    ],
    [
      "open alerts",
      `select key from public.alert_state where status = 'firing' order by opened_at desc`,
    ],
  ];
  const plans: string[] = [];
  let scans = 0;
  for (const [name, text] of queries) {
    const result = await sql.unsafe(`explain (analyze, buffers, costs off) ${text}`);
    const plan = result.map((row) => row["QUERY PLAN"]).join("\n");
    const scan = /Seq Scan on backup_runs/.test(plan);
    if (scan) scans++;
    plans.push(`##### ${name}${scan ? " — SEQUENTIAL SCAN" : ""}\n\n\`\`\`\n${plan}\n\`\`\``);
  }

  const lines = [
    `Status API at scale (${
      new Date().toISOString().slice(0, 10)
    }, Deno ${Deno.version.deno}, PostgreSQL 15, over HTTP as a backup admin)`,
    "",
    `- ${runs.toLocaleString("en")} rows in backup_runs on 2 targets, ${
      CRON_ROWS.toLocaleString("en")
    } in cron.job_run_details, 5 open alerts; seeded in ${(seedMs / 1000).toFixed(1)} s`,
    `- sample answer: ${JSON.stringify(sample).length.toLocaleString("en")} bytes of JSON, ${
      (sample.runs as { items: unknown[] }).items.length
    } runs in its first page`,
    `- query plans with a sequential scan of backup_runs: ${scans}`,
    "",
    `| what (${RUNS} requests each) | p50 | p95 |`,
    "| --- | --- | --- |",
    ...rows,
    "",
    ...plans,
  ];
  console.log(lines.join("\n"));
  if (scans) Deno.exitCode = 1;
} finally {
  await sql.end();
  await stack.stop();
  await Deno.remove(local, { recursive: true });
  await Deno.remove(far, { recursive: true });
}
