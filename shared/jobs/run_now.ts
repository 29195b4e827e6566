/**
 * Runs a run to its end in this process (the CLI): records it in `backup_runs`, then executes
 * its steps through the executor, exactly as the worker would. When another process (a worker)
 * claims it first, waits for that process to finish it.
 *
 * @module
 */
import type { StepContext } from "./step_context.ts";
import { executeUntilDone, PLAN_BUDGETS } from "./mod.ts";
import type { Run, RunKind, RunTrigger } from "../runs/mod.ts";

/** What to record for the run. */
export interface RunNowInput {
  kind: RunKind;
  trigger: RunTrigger;
  requestedBy?: string;
  targets?: string[];
  details?: Record<string, unknown>;
}

/**
 * Creates a run and executes it until it ends; returns the finished run.
 *
 * @throws {RunConflictError} when a run of that kind is already live (for kinds limited to one)
 */
export async function runNow(
  app: StepContext,
  input: RunNowInput,
  options: { pollMs?: number; signal?: AbortSignal } = {},
): Promise<Run> {
  const created = await app.store.create(input);
  const { run } = await executeUntilDone(app.executor, {
    runId: created.id,
    limits: PLAN_BUDGETS.worker,
    signal: options.signal,
  });
  let current = run ?? await app.store.get(created.id);
  while (current && (current.status === "queued" || current.status === "running")) {
    options.signal?.throwIfAborted();
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 1_000));
    current = await app.store.get(created.id);
  }
  if (!current) throw new Error(`Run ${created.id} disappeared from backup_runs`);
  return current;
}
