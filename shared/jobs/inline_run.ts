/**
 * A run done inline by the process that asked for it (the CLI's `backup` and `snapshot`):
 * recorded in `backup_runs` as running from the start, so no worker claims it, kept alive by
 * its heartbeat, and ended with what the work returned or the sentence its error says — the
 * same row a function or the worker leaves.
 *
 * @module
 */
import {
  type Run,
  type RunKind,
  type RunStore,
  type RunTrigger,
  startHeartbeat,
} from "../runs/mod.ts";
import { describeError } from "./executor.ts";

/** What the finished run records. */
export interface InlineOutcome {
  backupId?: string;
  bytes?: number;
  items?: number;
  details?: Record<string, unknown>;
}

/** What to record for the run. */
export interface InlineRunInput {
  kind: RunKind;
  trigger: RunTrigger;
  requestedBy?: string;
  targets?: string[];
  details?: Record<string, unknown>;
}

/**
 * Records a run, does `work`, and ends the run with its outcome; rethrows the work's error
 * after recording it.
 *
 * @throws {RunConflictError} before any work when a run of that kind is live
 */
export async function runInline<T>(
  store: RunStore,
  input: InlineRunInput,
  work: (run: Run) => Promise<T>,
  outcome: (result: T) => InlineOutcome,
): Promise<{ run: Run; result: T }> {
  const run = await store.create({ ...input, running: true });
  const stopHeartbeat = startHeartbeat(store, run.id);
  let result: T;
  try {
    result = await work(run);
  } catch (error) {
    stopHeartbeat();
    await store.finish(run.id, { status: "failed", error: describeError(error) });
    throw error;
  }
  stopHeartbeat();
  await store.finish(run.id, { status: "succeeded", ...outcome(result) });
  return { run: (await store.get(run.id)) ?? run, result };
}
