import assert from "node:assert/strict";
import { startSlackReceiver } from "../../../stack/slack_receiver.ts";
import {
  notify,
  parseRetryAfter,
  postJson,
  runOutcomeNotification,
  scrub,
  secretUrlParts,
  slackPayload,
} from "../../../shared/notify/mod.ts";
import type { Run } from "../../../shared/runs/mod.ts";

const fast = { baseDelayMs: 10, maxDelayMs: 50, deadlineMs: 5_000 };

/** A generic webhook listener that records what it receives. */
function startWebhookReceiver() {
  const bodies: Array<Record<string, unknown>> = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    bodies.push(await req.json());
    return new Response(null, { status: 204 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/hooks/backups?token=hook-secret-token`,
    bodies,
    stop: () => server.shutdown(),
  };
}

Deno.test("a Slack message has a header, the details, fields with the run, and what to do next", () => {
  const payload = slackPayload({
    severity: "fail",
    title: "Database backups are 3 hours old",
    details: "The latest database backup finished 3 h ago; the objective is 15 min & <tight>",
    runId: "0b6f6e1c-1f0e-4c57-9f5e-4d1d0c1b2a3f",
    fields: [{ label: "Target", value: "offsite" }],
    nextStep: "Start a backup now from the dashboard",
    alertKey: "freshness.database",
  }, { now: new Date("2026-11-25T12:00:00Z") });
  assert.equal(payload.text, ":red_circle: Database backups are 3 hours old");
  // deno-lint-ignore no-explicit-any
  const [header, details, fields, next, context] = payload.blocks as any[];
  assert.equal(header.type, "header");
  assert.equal(header.text.type, "plain_text");
  assert.match(header.text.text, /^:red_circle: Database backups are 3 hours old$/);
  assert.equal(details.text.text.includes("&amp; &lt;tight&gt;"), true, "mrkdwn is escaped");
  const labels = fields.fields.map((f: { text: string }) => f.text.split("\n")[0]);
  assert.deepEqual(labels, ["*Severity*", "*Status*", "*Run*", "*Target*"]);
  assert.match(fields.fields[2].text, /0b6f6e1c-1f0e-4c57-9f5e-4d1d0c1b2a3f/);
  assert.match(next.text.text, /^\*What to do next\*\nStart a backup now/);
  assert.equal(context.type, "context");
  assert.match(context.elements[0].text, /freshness\.database/);
});

Deno.test("a resolved message says so in the header and the fallback text", () => {
  const payload = slackPayload({
    severity: "fail",
    status: "resolved",
    title: "Database freshness: resolved",
    details: "The latest database backup is 2 min old",
  });
  assert.equal(payload.text, ":white_check_mark: Database freshness: resolved");
  assert.match(JSON.stringify(payload.blocks[0]), /white_check_mark/);
});

Deno.test("Retry-After is read as seconds or as an HTTP date", () => {
  assert.equal(parseRetryAfter("2"), 2000);
  assert.equal(parseRetryAfter("0.5"), 500);
  const now = Date.parse("2026-11-25T12:00:00Z");
  assert.equal(parseRetryAfter("Wed, 25 Nov 2026 12:00:03 GMT", now), 3000);
  assert.equal(parseRetryAfter(null), undefined);
  assert.equal(parseRetryAfter("soon"), undefined);
});

Deno.test("Slack answering 429 then 200 is retried after Retry-After and delivered once", async () => {
  const slack = startSlackReceiver();
  try {
    slack.failNext([{ status: 429, retryAfter: 1 }]);
    const started = performance.now();
    const result = await notify({ severity: "warn", title: "Slow", details: "Rate limited once" }, {
      config: { slackWebhookUrl: slack.url },
      retry: fast,
    });
    const waited = performance.now() - started;
    assert.equal(result.delivered, true);
    assert.deepEqual(result.channels.map((c) => [c.channel, c.ok, c.attempts, c.status]), [
      ["slack", true, 2, 200],
    ]);
    assert.ok(waited >= 950, `waited ${waited} ms, Retry-After asked for 1 s`);
    assert.equal(slack.messages.length, 1);
    assert.equal(slack.requests(), 2);
  } finally {
    await slack.stop();
  }
});

Deno.test("Slack answering 500 is retried with backoff", async () => {
  const slack = startSlackReceiver();
  try {
    slack.failNext([{ status: 500 }, { status: 503 }]);
    const result = await notify({ severity: "fail", title: "Flaky", details: "Two 5xx" }, {
      config: { slackWebhookUrl: slack.url },
      retry: fast,
    });
    assert.equal(result.delivered, true);
    assert.equal(result.channels[0].attempts, 3);
    assert.equal(slack.messages.length, 1);
  } finally {
    await slack.stop();
  }
});

Deno.test("a Retry-After beyond the time allowed gives up at once, without waiting", async () => {
  const slack = startSlackReceiver();
  try {
    slack.failNext([{ status: 429, retryAfter: 120 }]);
    const started = performance.now();
    const outcome = await postJson(slack.url, { text: "x" }, { ...fast, deadlineMs: 3_000 });
    assert.equal(outcome.ok, false);
    assert.equal(outcome.attempts, 1);
    assert.equal(outcome.status, 429);
    assert.match(outcome.error!, /retry after 120 s, beyond the time allowed/);
    assert.ok(performance.now() - started < 1_000);
  } finally {
    await slack.stop();
  }
});

Deno.test("a 400 from Slack is not retried: the payload or the URL is wrong", async () => {
  const slack = startSlackReceiver();
  try {
    const outcome = await postJson(slack.url, { nothing: true }, fast);
    assert.deepEqual([outcome.ok, outcome.attempts, outcome.status], [false, 1, 400]);
    assert.match(outcome.error!, /invalid_payload/);
  } finally {
    await slack.stop();
  }
});

Deno.test("Slack down: every attempt fails within the time allowed, nothing throws, the webhook still gets it", async () => {
  const slack = startSlackReceiver();
  const deadUrl = slack.url;
  await slack.stop();
  const hook = startWebhookReceiver();
  try {
    const started = performance.now();
    const result = await notify({
      severity: "fail",
      title: "Backup failed",
      details: "Connection refused",
      runId: "0b6f6e1c-1f0e-4c57-9f5e-4d1d0c1b2a3f",
    }, {
      config: { slackWebhookUrl: deadUrl, alertWebhookUrl: hook.url },
      retry: { ...fast, attempts: 4 },
    });
    assert.ok(performance.now() - started < 5_000);
    const slackOutcome = result.channels.find((c) => c.channel === "slack")!;
    assert.equal(slackOutcome.ok, false);
    assert.equal(slackOutcome.attempts, 4);
    assert.ok(!slackOutcome.error!.includes("/services/"), "the webhook URL is not in the error");
    assert.equal(result.delivered, true, "the webhook channel delivered");
    assert.equal(hook.bodies.length, 1);
    const body = hook.bodies[0];
    assert.equal(body.source, "sauvegarde");
    assert.equal(body.status, "firing");
    assert.equal(body.severity, "fail");
    assert.equal(body.runId, "0b6f6e1c-1f0e-4c57-9f5e-4d1d0c1b2a3f");
  } finally {
    await hook.stop();
  }
});

/** Runs `work` with console output captured; returns what was printed. */
async function capturingConsole(work: () => Promise<unknown>): Promise<string> {
  const printed: string[] = [];
  const originals = { log: console.log, warn: console.warn, error: console.error };
  const capture = (...args: unknown[]) => void printed.push(args.map(String).join(" "));
  Object.assign(console, { log: capture, warn: capture, error: capture });
  try {
    await work();
  } finally {
    Object.assign(console, originals);
  }
  return printed.join("\n");
}

Deno.test("an endpoint echoing its secret path and query in an error gets neither into the outcome or the logs", async () => {
  const slack = startSlackReceiver();
  try {
    const slackUrl = `${slack.url}?token=slack-query-secret-1234`;
    const hookUrl = `${
      slack.url.replace("/services/", "/hooks/")
    }/extra?key=hook-query-secret-5678`;
    slack.failNext([{ status: 404, echo: true }, { status: 404, echo: true }]);
    let result: Awaited<ReturnType<typeof notify>> | undefined;
    const printed = await capturingConsole(async () => {
      result = await notify({ severity: "fail", title: "Backup failed", details: "d" }, {
        config: { slackWebhookUrl: slackUrl, alertWebhookUrl: hookUrl },
        retry: fast,
      });
    });
    assert.equal(slack.requests(), 2, "each channel tried once: a 404 is not retried");
    assert.deepEqual(
      result!.channels.map((c) => [c.channel, c.ok, c.status, c.error]),
      [["slack", false, 404, "HTTP 404 Not Found"], ["webhook", false, 404, "HTTP 404 Not Found"]],
    );
    const everything = JSON.stringify(result) + printed;
    assert.match(printed, /failed on slack after 1 attempt\(s\): HTTP 404 Not Found/);
    for (
      const secret of [
        "/services/T000/B000/XXXX",
        "/hooks/T000/B000/XXXX",
        "T000/B000",
        "slack-query-secret-1234",
        "hook-query-secret-5678",
        "no webhook at",
      ]
    ) {
      assert.ok(!everything.includes(secret), `${secret} leaked: ${everything}`);
    }
  } finally {
    await slack.stop();
  }
});

Deno.test("a network error quoting the webhook URL carries neither its path nor its query", async () => {
  const slack = startSlackReceiver();
  const deadUrl = `${slack.url}?token=dead-query-secret-42`;
  await slack.stop();
  const outcome = await postJson(deadUrl, { text: "x" }, { ...fast, attempts: 1 });
  assert.equal(outcome.ok, false);
  assert.ok(outcome.error!.length > 0);
  for (const secret of ["/services/T000/B000/XXXX", "dead-query-secret-42"]) {
    assert.ok(!outcome.error!.includes(secret), `${secret} leaked: ${outcome.error}`);
  }
  const parts = secretUrlParts(
    "https://hooks.slack.com/services/T0AB12CD/B0EF34GH/abcdefghijklmnopqrstuvwx",
  );
  assert.ok(parts.includes("/services/T0AB12CD/B0EF34GH/abcdefghijklmnopqrstuvwx"));
  assert.ok(parts.includes("abcdefghijklmnopqrstuvwx") && parts.includes("T0AB12CD"));
  assert.ok(!parts.includes("services"), "words in the path are not scrubbed everywhere");
  assert.equal(
    scrub("Slack said: no route /services/T0AB12CD/B0EF34GH/abcdefghijklmnopqrstuvwx", parts),
    "Slack said: no route [redacted]",
  );
});

Deno.test("with no channel configured notify reports it and does not throw", async () => {
  const result = await notify({ severity: "info", title: "t", details: "d" }, { config: {} });
  assert.deepEqual(result, { delivered: false, configured: false, channels: [] });
});

Deno.test("secrets never reach a message: webhook URLs, keys, tokens are scrubbed", async () => {
  const slack = startSlackReceiver();
  try {
    const secretKey = "sb_secret_0123456789abcdef";
    await notify({
      severity: "fail",
      title: "Upload failed",
      details:
        `PUT https://bucket.s3.example.com/x?X-Amz-Signature=abc failed with key ${secretKey} and s3-secret-value-42; Bearer eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZSJ9.sig`,
    }, {
      config: {
        slackWebhookUrl: slack.url,
        serviceKeys: [secretKey],
        s3: { secretAccessKey: "s3-secret-value-42" },
      },
      retry: fast,
    });
    const text = JSON.stringify(slack.messages[0]);
    for (const secret of [secretKey, "s3-secret-value-42", "X-Amz-Signature", "eyJhbGci"]) {
      assert.ok(!text.includes(secret), `${secret} leaked`);
    }
    assert.match(text, /https:\/\/bucket\.s3\.example\.com\/…/);
  } finally {
    await slack.stop();
  }
  assert.equal(scrub("postgres://u:pw@h/db"), "postgres://u:***@h/db");
});

Deno.test("a failed run's notification names the run, the error and what to do next", () => {
  const run = {
    id: "0b6f6e1c-1f0e-4c57-9f5e-4d1d0c1b2a3f",
    kind: "database",
    status: "failed",
    trigger: "cron",
    targets: ["local", "s3"],
    backupId: null,
    attempts: 2,
    error: "Target s3 answered 403",
    bytes: 0,
    items: 0,
    startedAt: new Date("2026-11-25T02:00:00Z"),
    finishedAt: new Date("2026-11-25T02:03:00Z"),
  } as unknown as Run;
  const message = runOutcomeNotification(run);
  assert.equal(message.severity, "fail");
  assert.equal(message.title, "Database backup failed");
  assert.match(message.details, /after 2 attempt\(s\): Target s3 answered 403/);
  assert.equal(message.runId, run.id);
  assert.ok(message.nextStep);
  assert.deepEqual(message.fields?.find((f) => f.label === "Took"), {
    label: "Took",
    value: "3 min",
  });
});
