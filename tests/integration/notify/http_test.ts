import assert from "node:assert/strict";
import postgres from "postgres";
import { LOCAL_JWT_SECRET, startLocalStack } from "../../../stack/local_stack.ts";
import { signHs256 } from "../../support/jwt.ts";
import { startSlackReceiver } from "../../../stack/slack_receiver.ts";

Deno.test("POST /functions/v1/notify: internal callers only, bad input answered 400, outcomes recorded", async (t) => {
  const stack = await startLocalStack({ slack: true });
  const slack = stack.slack!;
  const sql = postgres(stack.db.url, { max: 1, onnotice: () => {} });
  const url = stack.functionUrl("notify");
  const cron = { "x-sauvegarde-secret": stack.env.SAUVEGARDE_CRON_SECRET };
  const post = async (headers: Record<string, string>, body: string, method = "POST") => {
    const response = await fetch(url, {
      method,
      headers: { "content-type": "application/json", ...headers },
      body: method === "GET" ? undefined : body,
    });
    return { status: response.status, json: await response.json() };
  };
  const good = JSON.stringify({
    severity: "fail",
    title: "Database backup failed",
    details: "Target s3 answered 403",
    runId: "0b6f6e1c-1f0e-4c57-9f5e-4d1d0c1b2a3f",
  });
  try {
    await t.step("who may call: the cron secret or a service key, never a user", async () => {
      const admin = await signHs256({
        role: "authenticated",
        sub: crypto.randomUUID(),
        app_metadata: { backup_admin: true },
      }, { secret: LOCAL_JWT_SECRET });
      assert.equal((await post({}, good)).status, 401);
      assert.equal((await post({ "x-sauvegarde-secret": "wrong-secret-value" }, good)).status, 401);
      const asAdmin = await post({ authorization: `Bearer ${admin}` }, good);
      assert.equal(asAdmin.status, 403);
      assert.match(asAdmin.json.error, /internal callers only/);
      assert.equal(slack.messages.length, 0);
    });

    await t.step("bad input", async () => {
      const cases: Array<[string, string, RegExp]> = [
        ["not JSON", "{severity:", /not valid JSON/],
        ["an array", "[]", /Invalid request/],
        ["missing title", JSON.stringify({ severity: "fail", details: "x" }), /"title"/],
        [
          "unknown severity",
          JSON.stringify({ severity: "panic", title: "t", details: "d" }),
          /"severity"/,
        ],
        [
          "empty details",
          JSON.stringify({ severity: "warn", title: "t", details: "  " }),
          /"details"/,
        ],
        [
          "bad run id",
          JSON.stringify({ severity: "warn", title: "t", details: "d", runId: "42" }),
          /"runId"/,
        ],
        [
          "title too long",
          JSON.stringify({ severity: "warn", title: "x".repeat(151), details: "d" }),
          /"title"/,
        ],
        [
          "unknown field",
          JSON.stringify({ severity: "warn", title: "t", details: "d", channel: "#x" }),
          /channel/,
        ],
      ];
      for (const [name, body, pattern] of cases) {
        const { status, json } = await post(cron, body);
        assert.equal(status, 400, `${name}: ${JSON.stringify(json)}`);
        assert.match(json.error, pattern, name);
      }
      const get = await post(cron, "", "GET");
      assert.equal(get.status, 405);
      assert.equal(slack.messages.length, 0, "nothing was sent for bad input");
    });

    await t.step("a good request reaches Slack and is recorded as sent", async () => {
      const { status, json } = await post(cron, good);
      assert.equal(status, 200, JSON.stringify(json));
      assert.equal(json.delivered, true);
      assert.equal(slack.messages.length, 1);
      assert.match(slack.messages[0].text!, /Database backup failed/);
      const [row] = await sql`select * from notification_log order by id desc limit 1`;
      assert.equal(row.channel, "slack");
      assert.equal(row.outcome, "sent");
      assert.equal(row.run_id, "0b6f6e1c-1f0e-4c57-9f5e-4d1d0c1b2a3f");
    });

    await t.step(
      "Slack failing every attempt answers 502 and records the failure without the URL",
      async () => {
        slack.failNext(Array.from({ length: 5 }, () => ({ status: 500 })));
        const { status, json } = await post(cron, good);
        assert.equal(status, 502, JSON.stringify(json));
        assert.equal(json.channels[0].ok, false);
        assert.equal(json.channels[0].attempts, 5);
        const [row] = await sql`select * from notification_log order by id desc limit 1`;
        assert.equal(row.outcome, "failed");
        assert.equal(row.http_status, 500);
        assert.ok(!JSON.stringify(row).includes("/services/"));
        assert.ok(!JSON.stringify(json).includes("/services/"));
      },
    );
  } finally {
    await sql.end();
    await stack.stop();
  }
});

Deno.test("POST /functions/v1/notify: a webhook echoing its secret path and query leaks it nowhere", async () => {
  const receiver = startSlackReceiver();
  const slackUrl = `${receiver.url}?token=slack-query-secret-9876`;
  const stack = await startLocalStack({ env: { SLACK_WEBHOOK_URL: slackUrl } });
  const sql = postgres(stack.db.url, { max: 1, onnotice: () => {} });
  const printed: string[] = [];
  const originals = { log: console.log, warn: console.warn, error: console.error };
  const capture = (...args: unknown[]) => void printed.push(args.map(String).join(" "));
  try {
    receiver.failNext(Array.from({ length: 5 }, () => ({ status: 404, echo: true })));
    Object.assign(console, { log: capture, warn: capture, error: capture });
    const response = await fetch(stack.functionUrl("notify"), {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-sauvegarde-secret": stack.env.SAUVEGARDE_CRON_SECRET,
      },
      body: JSON.stringify({ severity: "fail", title: "Backup failed", details: "d" }),
    });
    const body = await response.text();
    Object.assign(console, originals);
    assert.equal(response.status, 502, body);
    assert.equal(receiver.requests(), 1, "a 404 is not retried");
    const [row] = await sql`select * from notification_log order by id desc limit 1`;
    assert.equal(row.outcome, "failed");
    assert.equal(row.http_status, 404);
    assert.equal(row.error, "HTTP 404 Not Found");
    const everything = `${body}\n${JSON.stringify(row)}\n${printed.join("\n")}`;
    assert.match(everything, /HTTP 404 Not Found/);
    for (const secret of ["/services/T000/B000/XXXX", "slack-query-secret-9876", "no webhook at"]) {
      assert.ok(!everything.includes(secret), `${secret} leaked: ${everything}`);
    }
  } finally {
    Object.assign(console, originals);
    await sql.end();
    await stack.stop();
    await receiver.stop();
  }
});
