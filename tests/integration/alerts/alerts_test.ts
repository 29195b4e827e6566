import assert from "node:assert/strict";
import postgres from "postgres";
import { startPostgres } from "../../../stack/postgres.ts";
import { startSlackReceiver } from "../../../stack/slack_receiver.ts";
import { applyMigrations } from "../../../shared/pg/migrate.ts";
import {
  type AlertState,
  decide,
  evaluateAlerts,
  type Observation,
} from "../../../shared/alerts/mod.ts";
import { notify } from "../../../shared/notify/mod.ts";

const HOUR = 3_600_000;
const t0 = new Date("2026-11-25T10:00:00Z");
const at = (ms: number) => new Date(t0.getTime() + ms);
const stale = (
  status: Observation["status"],
  summary = "The latest database backup is 3 h old",
) => ({
  key: "freshness.database",
  name: "Database freshness",
  status,
  summary,
  nextStep: "Start a database backup",
});

Deno.test("the state machine opens once, repeats after the interval, escalates, then resolves", () => {
  const repeatMs = 4 * HOUR;
  const open = decide(undefined, stale("warn"), { now: t0, repeatMs });
  assert.equal(open.send, "open");
  assert.equal(open.next!.sends, 1);
  let state = open.next as AlertState;

  const quiet = decide(state, stale("warn"), { now: at(HOUR), repeatMs });
  assert.equal(quiet.send, undefined, "still warning within the interval: no message");
  state = quiet.next!;

  const worse = decide(state, stale("fail"), { now: at(2 * HOUR), repeatMs });
  assert.equal(worse.send, "escalate", "warn to fail is said at once");
  state = worse.next!;

  const better = decide(state, stale("warn"), { now: at(3 * HOUR), repeatMs });
  assert.equal(better.send, undefined, "fail to warn waits for the next repeat");
  state = better.next!;

  const repeat = decide(state, stale("warn"), { now: at(6 * HOUR), repeatMs });
  assert.equal(repeat.send, "repeat");
  assert.equal(repeat.next!.sends, 3);
  state = repeat.next!;

  const resolved = decide(state, stale("ok", "The latest database backup is 2 min old"), {
    now: at(7 * HOUR),
    repeatMs,
  });
  assert.equal(resolved.send, "resolved");
  assert.equal(resolved.next!.status, "resolved");
  state = resolved.next!;

  assert.deepEqual(decide(state, stale("ok"), { now: at(8 * HOUR), repeatMs }), {});
  const again = decide(state, stale("fail"), { now: at(9 * HOUR), repeatMs });
  assert.equal(again.send, "open", "a new episode opens a new alert");
  assert.equal(again.next!.sends, 1);
  assert.deepEqual(again.next!.openedAt, at(9 * HOUR));
});

Deno.test("an alert nobody was told about resolves silently; a removed check resolves", () => {
  const repeatMs = HOUR;
  const undelivered: AlertState = {
    ...decide(undefined, stale("fail"), { now: t0, repeatMs }).next!,
    notifiedStatus: null,
    notifiedSeverity: null,
    lastSentAt: null,
    sends: 0,
  };
  const quietly = decide(undelivered, stale("ok"), { now: at(1000), repeatMs });
  assert.equal(quietly.send, undefined);
  assert.equal(quietly.next!.status, "resolved");

  const retried = decide(undelivered, stale("fail"), { now: at(1000), repeatMs });
  assert.equal(retried.send, "open", "an open message that was not delivered is sent again");

  const told = decide(undefined, stale("fail"), { now: t0, repeatMs }).next!;
  const removed = decide(told, undefined, { now: at(1000), repeatMs });
  assert.equal(removed.send, "resolved");
  assert.match(removed.next!.summary, /no longer runs/);
});

Deno.test("open → repeat → resolved reaches the local Slack receiver once each, and Slack down is retried", async (t) => {
  const cluster = await startPostgres({ supabase: true, standIns: true });
  await applyMigrations(cluster.url);
  const sql = postgres(cluster.url, { max: 4, onnotice: () => {} });
  const slack = startSlackReceiver();
  const send = (n: Parameters<typeof notify>[0]) =>
    notify(n, {
      config: { slackWebhookUrl: slack.url },
      sql,
      retry: { attempts: 2, baseDelayMs: 10, deadlineMs: 2_000 },
    });
  const evaluate = (observation: Observation, now: Date) =>
    evaluateAlerts([observation], { sql, send, repeatMs: 4 * HOUR, now });
  try {
    await t.step("a failing check opens an alert and sends it once", async () => {
      const sends = await evaluate(stale("fail"), t0);
      assert.deepEqual(sends.map((s) => [s.reason, s.delivered]), [["open", true]]);
      assert.equal((await evaluate(stale("fail"), at(HOUR))).length, 0);
      assert.equal(slack.messages.length, 1);
      assert.match(slack.messages[0].text!, /Database freshness: failing/);
      assert.match(JSON.stringify(slack.messages[0].blocks), /Start a database backup/);
    });

    await t.step("it is sent again after the repeat interval", async () => {
      const sends = await evaluate(stale("fail"), at(4 * HOUR + 1));
      assert.deepEqual(sends.map((s) => s.reason), ["repeat"]);
      assert.equal(slack.messages.length, 2);
      assert.match(slack.messages[1].text!, /still failing after 4 h/);
    });

    await t.step("recovery sends resolved, once", async () => {
      const ok = stale("ok", "The latest database backup is 2 min old");
      assert.deepEqual((await evaluate(ok, at(5 * HOUR))).map((s) => s.reason), ["resolved"]);
      assert.equal((await evaluate(ok, at(6 * HOUR))).length, 0);
      assert.equal(slack.messages.length, 3);
      assert.equal(slack.messages[2].text, ":white_check_mark: Database freshness: resolved");
      assert.match(JSON.stringify(slack.messages[2].blocks), /had been failing for 5 h/);
      const [row] = await sql`select status, resolved_at from alert_state`;
      assert.equal(row.status, "resolved");
    });

    await t.step(
      "Slack down: the open message is recorded as failed and sent on the next run",
      async () => {
        slack.failNext([{ status: 503 }, { status: 503 }]);
        const first = await evaluate(stale("warn"), at(10 * HOUR));
        assert.deepEqual(first.map((s) => [s.reason, s.delivered]), [["open", false]]);
        const [failed] = await sql`select outcome, http_status from notification_log
                                 order by id desc limit 1`;
        assert.deepEqual({ ...failed }, { outcome: "failed", http_status: 503 });
        const second = await evaluate(stale("warn"), at(10 * HOUR + 60_000));
        assert.deepEqual(second.map((s) => [s.reason, s.delivered]), [["open", true]]);
        assert.equal(slack.messages.length, 4);
      },
    );

    await t.step("two verifications at once send one message, not two", async () => {
      await evaluate(stale("ok"), at(11 * HOUR)); // resolve
      const before = slack.messages.length;
      const both = await Promise.all([
        evaluate(stale("fail"), at(12 * HOUR)),
        evaluate(stale("fail"), at(12 * HOUR)),
      ]);
      assert.equal(both.flat().length, 1);
      assert.equal(slack.messages.length, before + 1);
    });

    await t.step(
      "RLS: backup admins read alerts and notifications, others see nothing, nobody writes",
      async () => {
        const as = (role: string, claims: Record<string, unknown>, query: string) =>
          sql.begin(async (tx) => {
            await tx`select set_config('request.jwt.claims', ${JSON.stringify(claims)}, true)`;
            await tx.unsafe(`set local role ${role}`);
            return await tx.unsafe(query);
          });
        const admin = {
          role: "authenticated",
          sub: crypto.randomUUID(),
          app_metadata: { backup_admin: true },
        };
        const user = {
          role: "authenticated",
          sub: crypto.randomUUID(),
          app_metadata: {},
          user_metadata: { backup_admin: true },
        };
        for (const table of ["alert_state", "notification_log"]) {
          assert.ok((await as("authenticated", admin, `select * from ${table}`)).length > 0);
          assert.equal((await as("authenticated", user, `select * from ${table}`)).length, 0);
          await assert.rejects(
            as("anon", { role: "anon" }, `select * from ${table}`),
            /permission denied/,
          );
          await assert.rejects(
            as("authenticated", admin, `delete from ${table}`),
            /permission denied/,
          );
        }
      },
    );
  } finally {
    await slack.stop();
    await sql.end();
    await cluster.stop();
  }
});
