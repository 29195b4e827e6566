import assert from "node:assert/strict";
import postgres from "postgres";
import { startLocalStack } from "../../../stack/local_stack.ts";
import { stackUserToken } from "../../support/jwt.ts";
import {
  createShop,
  databaseBackup,
  openTargets,
  recordRun,
  storageSnapshot,
} from "../../support/verify_fixture.ts";
import { Keyring } from "../../../shared/codec/encryption.ts";
import { KEYED_ENV } from "../../support/keys.ts";

Deno.test("GET/POST /functions/v1/verify-backups: 200 or 500 with the checks, alerts open, repeat and resolve on Slack", async (t) => {
  const stack = await startLocalStack({
    s3: true,
    slack: true,
    // Keys set, as the runbook requires: sealed manifests are what authenticity checks for.
    env: { SAUVEGARDE_ALERT_REPEAT: "2s", SAUVEGARDE_VERIFY_SAMPLE: "all", ...KEYED_ENV },
  });
  const keyring = await Keyring.parse(stack.app.config.encryptionKeys!);
  const slack = stack.slack!;
  const sql = postgres(stack.db.url, { max: 2, onnotice: () => {} });
  const targets = openTargets(stack.app.config);
  const url = stack.functionUrl("verify-backups");
  const cron = { "x-sauvegarde-secret": stack.env.SAUVEGARDE_CRON_SECRET };
  const call = async (
    headers: Record<string, string>,
    options: { method?: string; body?: string; query?: string } = {},
  ) => {
    const response = await fetch(`${url}${options.query ?? ""}`, {
      method: options.method ?? "POST",
      headers: { "content-type": "application/json", ...headers },
      body: options.body,
    });
    return { status: response.status, json: await response.json() };
  };
  const messagesAbout = (key: string) =>
    slack.messages.filter((m) => JSON.stringify(m.blocks).includes(`\`${key}\``));
  try {
    const shop = await createShop((name) => stack.db.createDatabase(name));
    const db = await databaseBackup(shop, targets, { keyring });
    await recordRun(sql, { kind: "database", backupId: db.backupId, bytes: db.bytes });
    const snap = await storageSnapshot(targets, { keyring });
    await recordRun(sql, { kind: "storage", backupId: snap.snapshotId, bytes: snap.bytes });
    const restoreTest = await recordRun(sql, {
      kind: "restore_test",
      finishedAt: new Date(Date.now() - 86_400_000),
    });

    await t.step("who may call", async () => {
      assert.equal((await call({})).status, 401);
      const user = await stackUserToken(stack);
      assert.equal((await call({ authorization: `Bearer ${user}` })).status, 403);
    });

    await t.step("bad input is answered 400 with a reason, and nothing is recorded", async () => {
      const before = await sql`select count(*)::int as n from backup_runs where kind = 'verify'`;
      const cases: Array<[string, { method?: string; body?: string; query?: string }, RegExp]> = [
        [
          "unknown query parameter",
          { method: "GET", query: "?samples=3" },
          /Unknown query parameter "samples"/,
        ],
        ["negative sample", { method: "GET", query: "?sample=-1" }, /"sample"/],
        ["sample not a number", { method: "GET", query: "?sample=lots" }, /"sample"/],
        ["bad check id", { method: "GET", query: "?only=Fresh%20ness" }, /"only.0"/],
        ["not JSON", { body: "{sample:" }, /not valid JSON/],
        ["an array", { body: "[1]" }, /Invalid request/],
        ["unknown field", { body: JSON.stringify({ sample: 2, deep: true }) }, /deep/],
        ["sample as text", { body: JSON.stringify({ sample: "8" }) }, /"sample"/],
        ["empty only", { body: JSON.stringify({ only: [] }) }, /"only"/],
      ];
      for (const [name, options, pattern] of cases) {
        const { status, json } = await call(cron, options);
        assert.equal(status, 400, `${name}: ${JSON.stringify(json)}`);
        assert.match(json.error, pattern, name);
      }
      assert.equal((await call(cron, { method: "PUT", body: "{}" })).status, 405);
      const after = await sql`select count(*)::int as n from backup_runs where kind = 'verify'`;
      assert.equal(after[0].n, before[0].n);
    });

    await t.step("sound backups: 200 with every check, recorded as a verify run", async () => {
      const admin = await stackUserToken(stack, { admin: true });
      const { status, json } = await call({ authorization: `Bearer ${admin}` }, {
        method: "GET",
        query: "?sample=all",
      });
      assert.equal(
        status,
        200,
        JSON.stringify(json.checks?.filter((c: { status: string }) => c.status !== "ok")),
      );
      assert.equal(
        json.status,
        "ok",
        JSON.stringify(json.checks.filter((c: { status: string }) => c.status !== "ok")),
      );
      assert.ok(json.checks.length >= 14);
      for (const check of json.checks) {
        assert.match(check.id, /^[a-z_]+(\.[a-z0-9_-]+)*$/);
        assert.ok(["ok", "warn", "fail"].includes(check.status));
        assert.equal(typeof check.summary, "string");
        assert.doesNotMatch(check.summary, /\.$/, "one sentence without a trailing period");
      }
      const [run] = await sql`select kind, status, trigger, requested_by, details
                              from backup_runs where id = ${json.runId}`;
      assert.deepEqual([run.kind, run.status, run.trigger], ["verify", "succeeded", "manual"]);
      assert.equal(run.details.status, "ok");
      assert.equal(slack.messages.length, 0, "nothing to say");
      const text = JSON.stringify(json);
      for (const secret of [stack.env.SAUVEGARDE_CRON_SECRET, "S3RVER", slack.url]) {
        assert.ok(!text.includes(secret), "no secret in the report");
      }
    });

    await t.step(
      "a failing check: 500, one alert even though Slack answered 429 first",
      async () => {
        await sql`update backup_runs set finished_at = now() - interval '40 days' where id = ${restoreTest}`;
        slack.failNext([{ status: 429, retryAfter: 1 }]);
        const { status, json } = await call(cron);
        assert.equal(status, 500);
        assert.equal(json.status, "fail");
        const failing = json.checks.filter((c: { status: string }) => c.status === "fail");
        assert.deepEqual(failing.map((c: { id: string }) => c.id), ["restore_test"]);
        assert.deepEqual(json.alerts, [{
          key: "restore_test",
          reason: "open",
          severity: "fail",
          delivered: true,
        }]);
        const sent = messagesAbout("restore_test");
        assert.equal(sent.length, 1);
        assert.equal(sent[0].text, ":red_circle: Restore test: failing");
        const blocks = JSON.stringify(sent[0].blocks);
        assert.match(blocks, /older than the 31 days limit/);
        assert.match(blocks, /What to do next/);
        assert.ok(blocks.includes(json.runId), "the verify run is named");
        const [run] = await sql`select status, error from backup_runs where id = ${json.runId}`;
        assert.equal(run.status, "failed");
        assert.match(run.error, /^restore_test: /);
      },
    );

    await t.step(
      "still failing: not sent again within the interval, sent again after it",
      async () => {
        const quiet = await call(cron);
        assert.equal(quiet.status, 500);
        assert.deepEqual(quiet.json.alerts, []);
        assert.equal(messagesAbout("restore_test").length, 1);
        await new Promise((resolve) => setTimeout(resolve, 2100));
        const again = await call(cron);
        assert.deepEqual(again.json.alerts.map((a: { reason: string }) => a.reason), ["repeat"]);
        const sent = messagesAbout("restore_test");
        assert.equal(sent.length, 2);
        assert.match(sent[1].text!, /Restore test: still failing after \d+ s/);
      },
    );

    await t.step("recovered: 200 and one resolved message", async () => {
      await recordRun(sql, { kind: "restore_test" });
      const { status, json } = await call(cron);
      assert.equal(status, 200);
      assert.deepEqual(json.alerts.map((a: { reason: string }) => a.reason), ["resolved"]);
      assert.equal((await call(cron)).json.alerts.length, 0);
      const sent = messagesAbout("restore_test");
      assert.equal(sent.length, 3);
      assert.equal(sent[2].text, ":white_check_mark: Restore test: resolved");
      const [alert] =
        await sql`select status, sends, resolved_at from alert_state where key = 'restore_test'`;
      assert.equal(alert.status, "resolved");
      assert.ok(alert.resolved_at);
    });

    await t.step(
      "Slack down: verification still answers, the failure is recorded, the alert is sent later",
      async () => {
        const [stuck] = await sql`insert into backup_runs (kind, status, trigger, heartbeat_at)
                                values ('config_backup', 'running', 'cron', now() - interval '1 hour')
                                returning id`;
        slack.failNext(Array.from({ length: 5 }, () => ({ status: 503 })));
        const down = await call(cron);
        assert.equal(down.status, 500);
        assert.deepEqual(down.json.alerts, [{
          key: "runs.stuck",
          reason: "open",
          severity: "fail",
          delivered: false,
        }]);
        const [log] =
          await sql`select channel, outcome, http_status, alert_key from notification_log
                              order by id desc limit 1`;
        assert.deepEqual({ ...log }, {
          channel: "slack",
          outcome: "failed",
          http_status: 503,
          alert_key: "runs.stuck",
        });
        const back = await call(cron);
        assert.deepEqual(
          back.json.alerts.map((
            a: { reason: string; delivered: boolean },
          ) => [a.reason, a.delivered]),
          [["open", true]],
        );
        assert.equal(messagesAbout("runs.stuck").length, 1);
        await sql`update backup_runs set status = 'cancelled', finished_at = now() where id = ${stuck.id}`;
      },
    );
  } finally {
    await Promise.all(Object.values(targets).map((target) => target.close()));
    await sql.end();
    await stack.stop();
  }
});
