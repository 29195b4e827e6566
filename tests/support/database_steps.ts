/**
 * Drives a database run through the real database step, one budgeted step at a time, as the
 * executor would across invocations (the checkpoint round-trips through JSON, as it does
 * through `backup_runs`), so tests can look at, or change, the source between steps.
 */
import assert from "node:assert/strict";
import type { Config } from "../../shared/config/mod.ts";
import { createDatabaseStep } from "../../shared/steps/database.ts";
import { Budget, type BudgetLimits } from "../../shared/jobs/budget.ts";
import type { StepResult } from "../../shared/jobs/executor.ts";
import type { ClaimedRun } from "../../shared/runs/mod.ts";

/** Options for {@link runDatabaseSteps}. */
export interface DatabaseStepsOptions {
  /** The database to back up. */
  databaseUrl: string;
  /** The file target's folder. */
  dir: string;
  /** Each step's budget. */
  limits: BudgetLimits;
  /** Most steps before the test fails (the run must finish). */
  maxSteps?: number;
  /** Called after each step with its result and its number (from 1). */
  afterStep?: (result: StepResult, step: number) => Promise<void> | void;
  /** Called with each checkpoint a step saves midway. */
  onSave?: (checkpoint: Record<string, unknown>) => void;
}

/** Runs the steps until the run is done; answers the last result and how many steps it took. */
export async function runDatabaseSteps(
  options: DatabaseStepsOptions,
): Promise<{ result: StepResult; steps: number }> {
  const step = createDatabaseStep({
    config: {
      databaseUrl: options.databaseUrl,
      targets: { local: `file://${options.dir}` },
      compression: "zstd",
      s3: {},
    } as unknown as Config,
  });
  let checkpoint: Record<string, unknown> = {};
  let steps = 0;
  let result: StepResult;
  do {
    assert.ok(++steps < (options.maxSteps ?? 50), "the run finishes");
    const run = {
      id: "run-1",
      kind: "database",
      targets: [],
      details: {},
      checkpoint,
    } as unknown as ClaimedRun;
    result = await step(run, {
      budget: new Budget(options.limits),
      signal: new AbortController().signal,
      saveCheckpoint: (value) => {
        options.onSave?.(value);
        return Promise.resolve();
      },
    });
    checkpoint = JSON.parse(JSON.stringify(result.checkpoint));
    await options.afterStep?.(result, steps);
  } while (!result.done);
  return { result, steps };
}
