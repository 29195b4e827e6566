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
 * @module
 */
import process from "node:process";
import postgres from "postgres";
import { type App, createApp } from "../shared/app/mod.ts";
import { loadConfig } from "../shared/config/mod.ts";
import { type BudgetLimits, executeStep, PLAN_BUDGETS } from "../shared/jobs/mod.ts";
import { applyMigrations } from "../shared/pg/migrate.ts";
import { startPostgres } from "../stack/postgres.ts";
import { generateShop } from "./database_bench.ts";
import { EDGE_STEPS } from "../shared/steps/mod.ts";

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
    { steps: EDGE_STEPS },
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

if (import.meta.main) {
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
