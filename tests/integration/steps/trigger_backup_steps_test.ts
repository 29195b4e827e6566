import assert from "node:assert/strict";
import postgres from "postgres";
import { createApp, useApp } from "../../../shared/app/mod.ts";
import { loadConfig } from "../../../shared/config/mod.ts";
import { settleBackground } from "../../../shared/jobs/background.ts";
import { executeUntilDone, PLAN_BUDGETS } from "../../../shared/jobs/mod.ts";
import { openRepository } from "../../../shared/repository/open.ts";
import { type LocalStack, startLocalStack } from "../../../stack/local_stack.ts";
import { pauseContinueTick, untilClaimable } from "../../support/stale_run.ts";
import { seedShop } from "../../../stack/shop_seed.ts";
import { STEPS } from "../../../shared/steps/mod.ts";

type Manifest = {
  backupId: string;
  snapshots: number;
  tables: Array<{ schema: string; name: string; rows: number; sha256: string }>;
};

async function loadManifest(stack: LocalStack, backupId: string): Promise<Manifest> {
  const opened = await openRepository(
    "local",
    stack.env.SAUVEGARDE_TARGETS.split(",")[0].split("=")[1],
    stack.app.config,
  );
  try {
    return await opened.repository.loadManifest("database", backupId) as Manifest;
  } finally {
    await opened.target.close();
  }
}

// Sauvegarde's own tables change between two backups (the runs themselves): leave them out.
const OWN_TABLES = new Set(["public.backup_runs", "public.alert_state", "public.notification_log"]);

function tableDigest(manifest: Manifest): Record<string, string> {
  return Object.fromEntries(
    manifest.tables
      .filter((t) => !OWN_TABLES.has(`${t.schema}.${t.name}`))
      .map((t) => [`${t.schema}.${t.name}`, `${t.rows}:${t.sha256}`]),
  );
}

type Progress = { targets?: Record<string, { state?: { done?: unknown[] } }> };

async function post(stack: LocalStack, body: unknown) {
  const response = await fetch(stack.functionUrl("trigger-backup"), {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-sauvegarde-secret": stack.env.SAUVEGARDE_CRON_SECRET,
    },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

async function waitForRun(stack: LocalStack, runId: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const run = await stack.app.store.get(runId);
    if (run && ["succeeded", "failed", "cancelled"].includes(run.status)) return run;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`Run ${runId} did not finish in ${timeoutMs} ms`);
}

Deno.test("a backup forced across several steps stores the same data as a one-step backup", async () => {
  const stack = await startLocalStack({ limits: { bytes: 1 } });
  try {
    await seedShop(stack.db.url, { products: 300, customers: 50, orders: 400 });
    const { status, json } = await post(stack, { kind: "database" });
    assert.equal(status, 202, JSON.stringify(json));
    assert.equal(json.status, "queued");
    const stepped = await waitForRun(stack, json.runId);
    assert.equal(stepped.status, "succeeded", stepped.error ?? "");
    assert.ok(stepped.attempts >= 3, `took ${stepped.attempts} steps`);

    const oneStep = await stack.app.store.create({ kind: "database", trigger: "api" });
    const result = await executeUntilDone(stack.app.executor, {
      runId: oneStep.id,
      limits: PLAN_BUDGETS.worker,
    });
    assert.equal(result.outcome, "succeeded");
    assert.equal(result.steps, 1);

    const a = await loadManifest(stack, stepped.backupId!);
    const b = await loadManifest(stack, result.run!.backupId!);
    assert.ok(a.snapshots >= 3, "the manifest says the backup spans several snapshots");
    assert.equal(b.snapshots, 1);
    assert.deepEqual(tableDigest(a), tableDigest(b));
    assert.ok(Object.keys(tableDigest(a)).includes("public.order_items"));
    assert.ok(Object.keys(tableDigest(a)).includes("auth.users"));
  } finally {
    await settleBackground();
    await stack.stop();
  }
});

Deno.test("a second trigger while a backup runs gets 409 with the running run's id", async () => {
  const stack = await startLocalStack({ limits: { bytes: 1 } });
  try {
    await seedShop(stack.db.url, { products: 50, customers: 10, orders: 20 });
    const [first, second] = await Promise.all([
      post(stack, { kind: "database" }),
      post(stack, { kind: "database" }),
    ]);
    const statuses = [first.status, second.status].sort();
    assert.deepEqual(statuses, [202, 409]);
    const accepted = first.status === 202 ? first : second;
    const refused = first.status === 409 ? first : second;
    assert.equal(refused.json.runId, accepted.json.runId);
    assert.match(refused.json.error, /already in progress/);
    const run = await waitForRun(stack, accepted.json.runId);
    assert.equal(run.status, "succeeded", run.error ?? "");
    const polled = await fetch(
      `${stack.functionUrl("trigger-backup")}?runId=${accepted.json.runId}`,
      { headers: { "x-sauvegarde-secret": stack.env.SAUVEGARDE_CRON_SECRET } },
    );
    const body = await polled.json();
    assert.equal(body.status, "succeeded");
    assert.equal(body.checkpoint, undefined, "checkpoint internals stay private");
  } finally {
    await settleBackground();
    await stack.stop();
  }
});

Deno.test("a worker killed midway is resumed by the next invocation with nothing lost or duplicated", async () => {
  const stack = await startLocalStack({ staleAfterMs: 1_000 });
  const sql = postgres(stack.db.url, { max: 1, onnotice: () => {} });
  try {
    await seedShop(stack.db.url, { products: 200, customers: 20, orders: 100 });
    await sql`create table public.events (id bigint primary key, payload text)`;
    await sql`insert into public.events select i, repeat(md5(i::text), 12)
              from generate_series(1, 1500000) i`;
    await pauseContinueTick(sql);
    const run = await stack.app.store.create({ kind: "database", trigger: "api" });
    const worker = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../../../cli/main.ts", import.meta.url).pathname,
        "worker",
        "--once",
      ],
      env: { ...stack.env, SAUVEGARDE_COMPRESSION: "zstd" },
      stdout: "null",
      stderr: "null",
    }).spawn();
    // Kill once some tables are checkpointed while the large one is still being copied.
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const current = await stack.app.store.get(run.id);
      const state = (current?.checkpoint as Progress | undefined)?.targets?.local?.state;
      if ((state?.done?.length ?? 0) >= 1) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    worker.kill("SIGKILL");
    await worker.status;
    const killed = await stack.app.store.get(run.id);
    assert.equal(
      killed?.status,
      "running",
      "the killed run is left running with a stale heartbeat",
    );

    await untilClaimable(stack, run.id);
    const { status } = await post(stack, { continue: true });
    assert.equal(status, 202);
    const resumed = await waitForRun(stack, run.id);
    assert.equal(resumed.status, "succeeded", resumed.error ?? "");
    assert.ok(resumed.attempts >= 2);

    const manifest = await loadManifest(stack, resumed.backupId!);
    const events = manifest.tables.find((t) => t.name === "events");
    assert.equal(events?.rows, 1500000);
    const [{ count }] = await sql`select count(*)::int as count from public.order_items`;
    assert.equal(manifest.tables.find((t) => t.name === "order_items")?.rows, count);
    const names = manifest.tables.map((t) => `${t.schema}.${t.name}`);
    assert.equal(new Set(names).size, names.length, "no table is stored twice");
  } finally {
    await sql.end();
    await settleBackground();
    await stack.stop();
  }
});

Deno.test("the S3 target cut midway ends the run failed with no manifest", async () => {
  const stack = await startLocalStack({ s3: true });
  const sql = postgres(stack.db.url, { max: 1, onnotice: () => {} });
  try {
    await sql`create table public.big (id bigint primary key, payload text)`;
    await sql`insert into public.big select i, repeat(md5(random()::text), 20)
              from generate_series(1, 400000) i`;
    const app = createApp(
      loadConfig({ ...stack.env, SAUVEGARDE_TARGETS: stack.env.SAUVEGARDE_TARGETS.split(",")[1] }),
      { steps: STEPS },
    );
    const previous = useApp(app);
    try {
      const run = await app.store.create({ kind: "database", trigger: "api", targets: ["s3"] });
      const execution = executeUntilDone(app.executor, {
        runId: run.id,
        limits: PLAN_BUDGETS.worker,
      });
      // Cut the S3 server once the backup is writing blobs.
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const current = await app.store.get(run.id);
        if ((current?.checkpoint as Progress | undefined)?.targets?.s3?.state) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await stack.s3!.kill();
      const result = await execution;
      assert.equal(result.outcome, "failed");
      assert.match(result.run?.error ?? "", /./);
      await stack.s3!.restart();
      const opened = await openRepository("s3", app.config.targets.s3, app.config);
      try {
        const manifests = await opened.repository.listManifests("database");
        assert.deepEqual([...manifests], [], "no manifest for a broken backup");
      } finally {
        await opened.target.close();
      }
    } finally {
      useApp(previous);
      await app.close();
    }
  } finally {
    await sql.end();
    await settleBackground();
    await stack.stop();
  }
});
