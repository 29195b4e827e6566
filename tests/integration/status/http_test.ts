/**
 * The status API (`GET /functions/v1/trigger-backup`), restore tests started through
 * trigger-backup, and the dashboard migration, over real HTTP against the local stack.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { applyMigrations, MIGRATIONS_DIR } from "../../../shared/pg/migrate.ts";
import { settleBackground } from "../../../shared/jobs/background.ts";
import { nextRun } from "../../../shared/status/cron_next.ts";
import { startLocalStack } from "../../../stack/local_stack.ts";
import { startPostgres } from "../../../stack/postgres.ts";

const MIGRATION = "20261208000000_dashboard_status.sql";

async function waitFinished(sql: postgres.Sql, runId: string): Promise<string> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const [row] = await sql`select status from public.backup_runs where id = ${runId}`;
    if (row && !["queued", "running"].includes(row.status)) return row.status;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`Run ${runId} did not finish`);
}

Deno.test("the status API reports what the dashboard shows, pages runs, and starts restore tests one at a time", async (t) => {
  const local = await Deno.makeTempDir();
  const offsite = await Deno.makeTempDir();
  const stack = await startLocalStack({
    env: {
      SAUVEGARDE_TARGETS: `local=file://${local},far=file://${offsite}`,
      SAUVEGARDE_OFFSITE_TARGETS: "far",
    },
  });
  const sql = stack.app.sql;
  const url = stack.functionUrl("trigger-backup");
  const admin = await stack.auth.session(stack.auth.addUser({ email: "a@x.test", admin: true }));
  const viewer = await stack.auth.session(stack.auth.addUser({ email: "v@x.test" }));
  const as = (session: { access_token: string }) => ({
    authorization: `Bearer ${session.access_token}`,
  });
  const get = async (query = "", headers: Record<string, string> = as(admin)) => {
    const response = await fetch(`${url}${query}`, { headers });
    return { status: response.status, json: await response.json() };
  };
  const post = async (body: unknown, headers: Record<string, string> = as(admin)) => {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });
    return { status: response.status, json: await response.json() };
  };
  const ago = (minutes: number) => new Date(Date.now() - minutes * 60_000);
  const insert = async (run: {
    kind: string;
    status: string;
    targets?: string[];
    finishedMinutesAgo?: number;
    details?: Record<string, unknown>;
    error?: string;
    createdAt?: Date;
  }): Promise<string> => {
    const finished = run.finishedMinutesAgo === undefined ? null : ago(run.finishedMinutesAgo);
    const created = run.createdAt ??
      (finished ? new Date(finished.getTime() - 60_000) : new Date());
    const [row] = await sql`
      insert into public.backup_runs (kind, status, trigger, targets, created_at, started_at,
                                      heartbeat_at, finished_at, bytes, details, error)
      values (${run.kind}, ${run.status}, 'cron', ${run.targets ?? ["local", "far"]}, ${created},
              ${created}, ${finished ?? new Date()}, ${finished}, 1000,
              ${sql.json((run.details ?? {}) as postgres.JSONValue)}, ${run.error ?? null})
      returning id`;
    return row.id;
  };
  try {
    await t.step("only backup admins, the scheduler and service keys may read it", async () => {
      assert.equal((await get("", {})).status, 401);
      const forbidden = await get("", as(viewer));
      assert.equal(forbidden.status, 403);
      assert.match(forbidden.json.error, /not a backup admin/);
      assert.equal((await get()).status, 200);
      const cron = { "x-sauvegarde-secret": stack.env.SAUVEGARDE_CRON_SECRET };
      assert.equal((await get("", cron)).status, 200);
    });

    await t.step(
      "each kind and target shows its latest good and failed run against the objective",
      async () => {
        const old = await insert({
          kind: "database",
          status: "succeeded",
          finishedMinutesAgo: 120,
        });
        const recent = await insert({
          kind: "database",
          status: "succeeded",
          targets: ["local"],
          finishedMinutesAgo: 10,
        });
        const failed = await insert({
          kind: "database",
          status: "failed",
          targets: ["far"],
          finishedMinutesAgo: 5,
          error: "far is full",
        });
        // A partial backup is never the latest good one (only full backups meet the objective).
        await insert({
          kind: "database",
          status: "succeeded",
          finishedMinutesAgo: 1,
          details: { scope: { schemaOnly: true } },
        });
        const running = await insert({ kind: "database", status: "running" });
        const tested = await insert({
          kind: "restore_test",
          status: "succeeded",
          finishedMinutesAgo: 30,
          details: { seconds: 12.5 },
        });
        const verify = await insert({
          kind: "verify",
          status: "failed",
          finishedMinutesAgo: 2,
          details: {
            status: "fail",
            summary: "1 of 2 checks fail (freshness.storage)",
            checks: [
              { id: "freshness.database", status: "ok", summary: "fine" },
              { id: "freshness.storage", status: "fail", summary: "No Storage snapshot" },
            ],
          },
        });
        await sql`
        insert into public.alert_state (key, status, severity, title, summary, next_step)
        values ('freshness.storage', 'firing', 'fail', 'Storage freshness', 'No Storage snapshot',
                'Start a Storage snapshot now')`;

        const { status, json } = await get();
        assert.equal(status, 200);
        const database = json.kinds.find((k: { kind: string }) => k.kind === "database");
        assert.equal(database.latestGood.id, recent);
        assert.equal(database.latestFailed.id, failed);
        assert.equal(database.latestFailed.error, "far is full");
        assert.equal(database.withinObjective, true);
        assert.equal(database.objective.ms, 24 * 3_600_000);
        assert.ok(database.ageMs >= 10 * 60_000 && database.ageMs < 11 * 60_000);
        assert.equal(database.live.id, running);
        const byTarget = Object.fromEntries(
          database.targets.map((t: { target: string }) => [t.target, t]),
        );
        assert.equal(byTarget.local.latestGood.id, recent);
        assert.equal(byTarget.local.offsite, false);
        assert.equal(byTarget.far.latestGood.id, old);
        assert.equal(byTarget.far.latestFailed.id, failed);
        assert.equal(byTarget.far.offsite, true);
        const storage = json.kinds.find((k: { kind: string }) => k.kind === "storage");
        assert.equal(storage.latestGood, null);
        assert.equal(storage.withinObjective, null);
        assert.equal(json.restoreTest.latestGood.id, tested);
        assert.equal(json.restoreTest.lastRtoSeconds, 12.5);
        assert.deepEqual(json.alerts.map((a: { key: string }) => a.key), ["freshness.storage"]);
        assert.equal(json.verification.runId, verify);
        assert.deepEqual(
          json.verification.checks.map((c: { id: string; nextStep: string | null }) => [
            c.id,
            c.nextStep,
          ]),
          [["freshness.database", null], ["freshness.storage", "Start a Storage snapshot now"]],
        );
        const daily = json.schedules.jobs.find((j: { job: string }) => j.job === "database-backup");
        assert.equal(json.schedules.timeZone, "GMT");
        assert.equal(daily.schedule, "0 2 * * *");
        assert.equal(
          daily.nextRunAt,
          nextRun("0 2 * * *", new Date(json.generatedAt))!.toISOString(),
        );
        assert.equal(new Date(daily.nextRunAt).getUTCHours(), 2);
        const frequent = json.schedules.jobs.find((j: { job: string }) =>
          j.job === "database-backup-frequent"
        );
        assert.deepEqual([frequent.active, frequent.nextRunAt], [false, null]);
        assert.equal(json.runs.items[0].id, running, "newest first");
        assert.ok(!("checkpoint" in json.runs.items[0]), "no checkpoint internals");
        await sql`update public.backup_runs set status = 'cancelled', finished_at = now()
                where id = ${running}`;
      },
    );

    await t.step(
      "recent runs page through every run once, filtered by kind and status",
      async () => {
        // Many runs at the same instant: the page order must still be total.
        const at = new Date();
        for (let i = 0; i < 45; i++) {
          await insert({
            kind: i % 3 === 0 ? "verify" : "prune",
            status: i % 2 ? "failed" : "succeeded",
            createdAt: at,
            finishedMinutesAgo: 0,
          });
        }
        const [{ total }] = await sql`select count(*)::int as total from public.backup_runs`;
        const seen: string[] = [];
        let cursor: string | null = null;
        do {
          const page: {
            status: number;
            json: { items: Array<{ id: string }>; nextCursor: string };
          } = await get(`?view=runs&limit=20${cursor ? `&cursor=${cursor}` : ""}`);
          assert.equal(page.status, 200);
          assert.ok(page.json.items.length <= 20);
          seen.push(...page.json.items.map((run) => run.id));
          cursor = page.json.nextCursor;
        } while (cursor);
        assert.equal(seen.length, total);
        assert.equal(new Set(seen).size, total, "no run twice");

        const filtered = await get("?view=runs&kind=verify&status=failed&limit=100");
        const [{ expected }] = await sql`
        select count(*)::int as expected from public.backup_runs
        where kind = 'verify' and status = 'failed'`;
        assert.equal(filtered.json.items.length, expected);
        assert.ok(
          filtered.json.items.every((r: { kind: string; status: string }) =>
            r.kind === "verify" && r.status === "failed"
          ),
        );
        const inStatus = await get("?kind=prune&limit=5");
        assert.ok(inStatus.json.runs.items.every((r: { kind: string }) => r.kind === "prune"));
        assert.equal(inStatus.json.runs.items.length, 5);
      },
    );

    await t.step("bad status queries get 400 with a clear message", async () => {
      for (
        const [query, pattern] of [
          ["?limit=0", /"limit"/],
          ["?limit=many", /"limit": must be a whole number/],
          ["?kind=everything", /"kind"/],
          ["?cursor=page-2", /"cursor": must be the id of the last run/],
          ["?colour=red", /colour/],
        ] as const
      ) {
        const { status, json } = await get(query);
        assert.equal(status, 400, query);
        assert.match(json.error, pattern, query);
      }
    });

    await t.step("a restore test is started through trigger-backup, one at a time", async () => {
      // Queued by the monthly schedule and not yet run: pressing "test restore" names it.
      const [queued] = await sql`
        insert into public.backup_runs (kind, trigger, requested_by)
        values ('restore_test', 'cron', 'pg_cron') returning id`;
      const busy = await post({ kind: "restore_test" });
      assert.equal(busy.status, 409);
      assert.equal(busy.json.runId, queued.id);
      assert.match(busy.json.error, /A restore_test run is already in progress/);
      // The 409 continues the live run here (this process has the restore-test step): with no
      // backup on the target it fails saying so.
      assert.equal(await waitFinished(sql, queued.id), "failed");

      const started = await post({ kind: "restore_test" });
      assert.equal(started.status, 202);
      assert.equal(started.json.waitsForWorker, undefined);
      assert.equal(await waitFinished(sql, started.json.runId), "failed");
      const [run] = await sql`
        select trigger, requested_by, error from public.backup_runs
        where id = ${started.json.runId}`;
      assert.equal(run.trigger, "manual");
      assert.match(run.error, /no database backup yet/);

      const scoped = await post({ kind: "restore_test", scope: { schemaOnly: true } });
      assert.equal(scoped.status, 400);
      assert.match(scoped.json.error, /a restore test takes no scope or buckets/);
    });

    await t.step("where no restore-test step runs, the test is queued for the worker", async () => {
      // As on the Edge, where shared/restore_test/register.ts registers no step.
      const step = stack.app.executor.steps.restore_test;
      delete stack.app.executor.steps.restore_test;
      try {
        const started = await post({ kind: "restore_test" });
        assert.equal(started.status, 202);
        assert.equal(started.json.waitsForWorker, true);
        // Pressed again: 409 naming it, and the queued test is left to the worker, not failed.
        const again = await post({ kind: "restore_test" });
        assert.equal(again.status, 409);
        assert.equal(again.json.runId, started.json.runId);
        await settleBackground();
        const [run] = await sql`
          select status from public.backup_runs where id = ${started.json.runId}`;
        assert.equal(run.status, "queued");
        await sql`update public.backup_runs set status = 'cancelled', finished_at = now()
                  where id = ${started.json.runId}`;
      } finally {
        stack.app.executor.steps.restore_test = step;
      }
    });
  } finally {
    await settleBackground();
    await stack.stop();
    await Deno.remove(local, { recursive: true });
    await Deno.remove(offsite, { recursive: true });
  }
});

Deno.test("the dashboard migration keeps one live restore test of several and allows one at a time", async () => {
  const db = await startPostgres({ supabase: true, standIns: true });
  const before = await Deno.makeTempDir();
  try {
    for await (const entry of Deno.readDir(MIGRATIONS_DIR)) {
      if (entry.name.endsWith(".sql") && entry.name < MIGRATION) {
        await Deno.copyFile(new URL(entry.name, MIGRATIONS_DIR), `${before}/${entry.name}`);
      }
    }
    await applyMigrations(db.url, { dir: new URL(`file://${before}/`) });
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      const ids = [];
      for (let i = 0; i < 3; i++) {
        const [row] = await sql`
          insert into public.backup_runs (kind, trigger, created_at)
          values ('restore_test', 'cron', now() - make_interval(hours => ${3 - i}))
          returning id`;
        ids.push(row.id);
      }
      await applyMigrations(db.url);
      const rows = await sql`
        select id, status, error from public.backup_runs order by created_at`;
      assert.deepEqual(rows.map((r) => r.status), ["queued", "cancelled", "cancelled"]);
      assert.equal(rows[0].id, ids[0], "the oldest stays queued");
      assert.match(rows[1].error, /another restore test was already in progress/);
      await assert.rejects(
        sql`insert into public.backup_runs (kind, trigger) values ('restore_test', 'manual')`,
        /backup_runs_one_live_restore_test_idx/,
      );
      const indexes = await sql`
        select indexname from pg_indexes
        where tablename = 'backup_runs' and indexname like any (array['%created_idx'])
        order by indexname`;
      assert.deepEqual(indexes.map((r) => r.indexname), [
        "backup_runs_created_idx",
        "backup_runs_kind_created_idx",
        "backup_runs_kind_status_created_idx",
        "backup_runs_status_created_idx",
      ]);
    } finally {
      await sql.end();
    }
  } finally {
    await db.stop();
    await Deno.remove(before, { recursive: true });
  }
});
