/**
 * `deno task cli worker [--once] [--poll-ms 2000]`: the long-running worker. Claims queued runs
 * (and runs whose worker died) from `backup_runs` with `FOR UPDATE SKIP LOCKED`, and runs them
 * without Edge limits: one consistent snapshot, parallel tables. For self-hosted projects and
 * databases too large for Edge budgets. Configured from the environment like the functions.
 */
import { parseArgs } from "node:util";
import { app } from "../../shared/app/mod.ts";
import { STEPS } from "../../shared/steps/mod.ts";
import { executeStep, PLAN_BUDGETS } from "../../shared/jobs/mod.ts";
import { CliError } from "../cli_error.ts";

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { once: { type: "boolean" }, "poll-ms": { type: "string", default: "2000" } },
    strict: true,
  });
  const pollMs = Number(values["poll-ms"]);
  if (!Number.isFinite(pollMs) || pollMs < 10) throw new CliError("--poll-ms must be >= 10", 2);
  const context = app(STEPS);
  const controller = new AbortController();
  const stop = () => controller.abort(new Error("The worker was asked to stop"));
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  console.error(`Worker started for ${Object.keys(context.executor.steps).join(", ")} runs`);
  try {
    while (!controller.signal.aborted) {
      const { outcome, run } = await executeStep(context.executor, {
        limits: PLAN_BUDGETS.worker,
        signal: controller.signal,
      });
      if (run) {
        console.error(
          `Run ${run.id} (${run.kind}): ${outcome}${run.error ? `: ${run.error}` : ""}`,
        );
      }
      if (values.once && outcome === "busy") break;
      if (outcome === "busy") {
        await new Promise((resolve) => setTimeout(resolve, pollMs));
      }
    }
  } finally {
    Deno.removeSignalListener("SIGINT", stop);
    Deno.removeSignalListener("SIGTERM", stop);
    await context.close();
  }
  return 0;
}
