/**
 * How many Edge invocations, and how much CPU each, a database backup of the benchmark shop
 * needs under the Free and paid step budgets (`deno task bench edge_budget`, `BENCH_DB_MB`,
 * default 1000). Runs the real executor and database step against a throwaway cluster, one
 * step per "invocation", measuring this process's CPU per step (compression included), and
 * prints one Markdown table, then each run's CPU per step. Under the Free budget the unchanged
 * database is backed up a second time into the same repository (the nightly case: unchanged
 * slices are cut the same way and their blobs are already stored). An Edge request gets 2 s of
 * CPU: a step above that would be killed.
 *
 * By default (`--host`) it measures the Edge paths as the Edge would run them: the functions
 * served by the constrained host (`stack/edge_host.ts`: no subprocess, no FFI, writes only
 * under the temporary directory, no workers, V8 heap capped at 256 MB) against a local stack
 * holding the shop, each run started over HTTP and continued by the functions themselves. For
 * each path (database backup, Storage snapshot, restore test) it prints the steps, CPU per step and the host process's peak RSS per step, sampled
 * from `/proc` every 10 ms, repeated `--repeat` times with a fresh host and target each time.
 * `--in-process` adds the original in-process table of the Free, paid and worker budgets.
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import postgres from "postgres";
import { S3Client } from "@aws-sdk/client-s3";
import { type App, createApp } from "../shared/app/mod.ts";
import { loadConfig } from "../shared/config/mod.ts";
import { type BudgetLimits, executeStep, PLAN_BUDGETS } from "../shared/jobs/mod.ts";
import { applyMigrations } from "../shared/pg/migrate.ts";
import { applySqlFile, startPostgres } from "../stack/postgres.ts";
import { Keyring } from "../shared/codec/encryption.ts";
import { PLATFORM_TEMPLATE } from "../shared/restore_test/mod.ts";
import { generateShop } from "./database_bench.ts";
import { STEPS } from "../shared/steps/mod.ts";
import { type LocalStack, startLocalStack } from "../stack/local_stack.ts";
import { type EdgeStepSample, startEdgeHost } from "../stack/edge_host.ts";
import { fill, plan } from "./storage_bench.ts";

const megabytes = Number(Deno.env.get("BENCH_DB_MB") ?? 1000);

function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** One backup run, step by step, with this process's CPU and wall time per step. */
async function backUp(app: App, plan: string, limits: BudgetLimits) {
  const run = await app.store.create({ kind: "database", trigger: "api" });
  const steps: Array<{ cpuMs: number; wallMs: number }> = [];
  while (true) {
    const cpu = cpuMs();
    const wall = performance.now();
    const { outcome, run: after } = await executeStep(app.executor, { runId: run.id, limits });
    steps.push({ cpuMs: cpuMs() - cpu, wallMs: performance.now() - wall });
    if (outcome === "continued") continue;
    if (outcome !== "succeeded") {
      throw new Error(`The ${plan} run ended ${outcome}: ${after?.error}`);
    }
    break;
  }
  const total = steps.reduce((sum, s) => sum + s.cpuMs, 0);
  const worst = Math.max(...steps.map((s) => s.cpuMs));
  return {
    plan,
    steps: steps.length,
    totalCpuS: total / 1000,
    worstStepCpuS: worst / 1000,
    overTwoSeconds: steps.filter((s) => s.cpuMs > 2000).length,
    wallS: steps.reduce((sum, s) => sum + s.wallMs, 0) / 1000,
    stepCpuS: steps.map((s) => s.cpuMs / 1000),
  };
}

/**
 * Backs up into a fresh repository under `limits`; with `again`, backs up the unchanged
 * database a second time into the same repository (what a nightly backup costs once the
 * first is stored).
 */
async function measure(url: string, plan: string, limits: BudgetLimits, again = false) {
  const dir = await Deno.makeTempDir({ prefix: "sauvegarde-edge-bench-" });
  const app = createApp(
    loadConfig({ SUPABASE_DB_URL: url, SAUVEGARDE_TARGETS: `local=file://${dir}` }),
    { steps: STEPS },
  );
  try {
    const rows = [await backUp(app, plan, limits)];
    if (again) rows.push(await backUp(app, `${plan}, again (unchanged data)`, limits));
    return rows;
  } finally {
    await app.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const MB = 1024 * 1024;

/** One run of one Edge path, step by step, in the constrained host. */
interface PathRun {
  path: string;
  steps: EdgeStepSample[];
  hostPeakRss: number;
}

async function waitForRun(stack: LocalStack, runId: string, timeoutMs = 900_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const run = await stack.app.store.get(runId);
    if (run && ["succeeded", "failed", "cancelled"].includes(run.status)) return run;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`Run ${runId} did not finish in ${timeoutMs} ms`);
}

/**
 * Starts a fresh constrained host on a fresh file target, starts `kind` over HTTP, waits for
 * the run and returns its steps (a fresh process each time: one repetition's garbage does
 * not inflate the next one's peak).
 */
async function edgePath(
  stack: LocalStack,
  path: string,
  start: { fn: string; body: unknown },
  env: Record<string, string> = {},
  /** A target directory to use and keep (a restore test reads the backup made there). */
  keptDir?: string,
): Promise<PathRun> {
  const dir = keptDir ?? await Deno.makeTempDir({ prefix: "sauvegarde-edge-bench-" });
  const host = await startEdgeHost({
    env: { ...stack.env, SAUVEGARDE_TARGETS: `local=file://${dir}`, ...env },
  });
  try {
    const response = await fetch(host.functionUrl(start.fn), {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-sauvegarde-secret": stack.env.SAUVEGARDE_CRON_SECRET,
      },
      body: JSON.stringify(start.body),
    });
    const started = await response.json();
    if (response.status !== 202) throw new Error(`${path}: ${JSON.stringify(started)}`);
    const run = await waitForRun(stack, started.runId);
    if (run.status !== "succeeded") {
      throw new Error(`${path} ended ${run.status}: ${run.error}\n${host.stderr()}`);
    }
    return {
      path,
      steps: host.steps.filter((s) => s.runId === started.runId),
      hostPeakRss: host.peakRssBytes,
    };
  } finally {
    await host.stop();
    if (!keptDir) await Deno.remove(dir, { recursive: true });
  }
}

function spread(values: number[], digits = 0): string {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return lo.toFixed(digits) === hi.toFixed(digits)
    ? lo.toFixed(digits)
    : `${lo.toFixed(digits)}–${hi.toFixed(digits)}`;
}

function printEdgeRuns(runs: PathRun[]): void {
  console.log(
    "| Edge path (run) | steps | CPU per step s (worst) | peak RSS per step MB (worst) | RSS at each step's start MB |",
  );
  console.log("| --- | ---: | --- | --- | ---: |");
  for (const r of runs) {
    const cpu = r.steps.map((s) => s.cpuMs / 1000);
    const peak = r.steps.map((s) => s.peakRssBytes / MB);
    console.log(
      `| ${r.path} | ${r.steps.length} | ${cpu.map((c) => c.toFixed(2)).join(" ")} (${
        Math.max(...cpu).toFixed(2)
      }) | ${peak.map((p) => p.toFixed(0)).join(" ")} (${Math.max(...peak).toFixed(0)}) | ${
        r.steps.map((s) => (s.startRssBytes / MB).toFixed(0)).join(" ")
      } |`,
    );
  }
  console.log("");
  const byPath = new Map<string, PathRun[]>();
  for (const r of runs) {
    const path = r.path.replace(/ \(\d+\)$/, "");
    byPath.set(path, [...byPath.get(path) ?? [], r]);
  }
  for (const [path, list] of byPath) {
    const worstPeak = list.map((r) => Math.max(...r.steps.map((s) => s.peakRssBytes)) / MB);
    const worstCpu = list.map((r) => Math.max(...r.steps.map((s) => s.cpuMs)) / 1000);
    const all = list.flatMap((r) => r.steps);
    console.log(
      `${path}: ${list.length} runs, steps ${spread(list.map((r) => r.steps.length))}, worst ` +
        `step CPU ${spread(worstCpu, 2)} s, worst step peak RSS ${spread(worstPeak)} MB; ` +
        `during steps V8 heapTotal peaks ${
          spread(all.map((s) => s.peakHeapTotalBytes / MB))
        } MB, array buffers (external) ${spread(all.map((s) => s.peakExternalBytes / MB))} MB`,
    );
  }
}

async function fillStorage(stack: LocalStack, objects: number, scale: number): Promise<number> {
  const storage = stack.storage!;
  await storage.createBucket("media");
  const client = new S3Client({
    endpoint: storage.endpoint,
    region: storage.region,
    forcePathStyle: true,
    credentials: { accessKeyId: storage.accessKeyId, secretAccessKey: storage.secretAccessKey },
  });
  try {
    return await fill(client, plan(objects, scale), 1);
  } finally {
    client.destroy();
  }
}

async function edgeHostBench(options: {
  repeat: number;
  objects: number;
  scale: number;
  only: string[];
}) {
  // Keyed, as the runbook configures a project: restore tests only restore sealed backups.
  const keys = (await Keyring.generate("bench")).text;
  const stack = await startLocalStack({
    storage: true,
    env: { SAUVEGARDE_ENCRYPTION_KEYS: keys },
  });
  const restoreDir = await Deno.makeTempDir({ prefix: "sauvegarde-edge-bench-restore-" });
  try {
    const sql = postgres(stack.db.url, { max: 1, onnotice: () => {} });
    try {
      // Only the constrained host runs the runs (the stack's own host serves the cron tick).
      await sql`select public.sauvegarde_set_schedule('continue', null)`;
      await generateShop(sql, megabytes);
      await sql`analyze`;
      await sql`insert into storage.buckets (id, name, public) values ('media', 'media', false)`;
    } finally {
      await sql.end();
    }
    const want = (path: string) => options.only.length === 0 || options.only.includes(path);
    let storedBytes = 0;
    if (want("storage")) storedBytes = await fillStorage(stack, options.objects, options.scale);
    const runs: PathRun[] = [];
    if (want("restore_test")) {
      // What an operator creates once beside a Supabase project (the README's restore tests).
      await applySqlFile(
        await stack.db.createDatabase(PLATFORM_TEMPLATE),
        "supabase_baseline.sql",
      );
    }
    for (let i = 1; i <= options.repeat; i++) {
      // The first backup is kept: the restore tests restore it.
      const keep = i === 1 && want("restore_test") ? restoreDir : undefined;
      if (want("database") || keep) {
        const backup = await edgePath(
          stack,
          `database backup (${i})`,
          {
            fn: "trigger-backup",
            body: { kind: "database" },
          },
          {},
          keep,
        );
        if (want("database")) runs.push(backup);
        console.error(`database backup ${i} done`);
      }
      if (want("storage")) {
        runs.push(
          await edgePath(stack, `Storage snapshot (${i})`, { fn: "storage-snapshot", body: {} }),
        );
        console.error(`Storage snapshot ${i} done`);
      }
      if (want("restore_test")) {
        runs.push(
          await edgePath(
            stack,
            `restore test (${i})`,
            {
              fn: "trigger-backup",
              body: { kind: "restore_test" },
            },
            {},
            restoreDir,
          ),
        );
        console.error(`restore test ${i} done`);
      }
    }
    console.log(
      `Shop database of about ${megabytes} MB of COPY text` +
        (storedBytes
          ? `; Storage: ${options.objects} objects, ${(storedBytes / MB).toFixed(0)} MiB`
          : "") +
        `; Free budget (1.6 s CPU); constrained host, V8 heap capped at 256 MB.\n`,
    );
    printEdgeRuns(runs);
  } finally {
    await stack.stop();
    await Deno.remove(restoreDir, { recursive: true });
  }
}

async function inProcessBench() {
  const cluster = await startPostgres({ supabase: true });
  try {
    const url = cluster.url;
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    await generateShop(sql, megabytes);
    await sql.end();
    await applyMigrations(url);
    const rows = [
      ...await measure(url, "free (120 s wall, 1.6 s CPU)", PLAN_BUDGETS.free, true),
      ...await measure(url, "paid (360 s wall, 1.6 s CPU)", PLAN_BUDGETS.paid),
      ...await measure(url, "worker (no limits)", PLAN_BUDGETS.worker),
    ];
    console.log(`Shop database of about ${megabytes} MB of COPY text.\n`);
    console.log(
      "| budget | invocations | CPU total s | worst step CPU s | steps over 2 s CPU | wall s |",
    );
    console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
    for (const r of rows) {
      console.log(
        `| ${r.plan} | ${r.steps} | ${r.totalCpuS.toFixed(1)} | ${
          r.worstStepCpuS.toFixed(1)
        } | ${r.overTwoSeconds} | ${r.wallS.toFixed(1)} |`,
      );
    }
    console.log("");
    for (const r of rows) {
      const sorted = [...r.stepCpuS].sort((a, b) => a - b);
      const median = sorted[Math.floor(sorted.length / 2)];
      console.log(
        `${r.plan}: CPU per step, in order (s): ${r.stepCpuS.map((s) => s.toFixed(2)).join(" ")}` +
          ` (median ${median.toFixed(2)})`,
      );
    }
  } finally {
    await cluster.stop();
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "in-process": { type: "boolean" },
      "no-host": { type: "boolean" },
      repeat: { type: "string", default: "3" },
      objects: { type: "string", default: "600" },
      scale: { type: "string", default: "0.5" },
      only: { type: "string", default: "" },
    },
  });
  if (!values["no-host"]) {
    await edgeHostBench({
      repeat: Number(values.repeat),
      objects: Number(values.objects),
      scale: Number(values.scale),
      only: values.only.split(",").filter(Boolean),
    });
  }
  if (values["in-process"]) await inProcessBench();
}
