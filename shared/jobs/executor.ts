/**
 * Runs one budgeted step of a run: claim it, keep its heartbeat, call the step for its kind,
 * then finish it or hand it back to the queue with its checkpoint. Every kind of long work
 * (database backups, Storage snapshots) goes through here, from an Edge Function, the cron
 * "continue" tick or the worker.
 *
 * @module
 */
import { redactUrl } from "../config/mod.ts";
import { Budget, type BudgetLimits, isUnbounded } from "./budget.ts";
import {
  type ClaimedRun,
  type Run,
  type RunKind,
  type RunStore,
  startHeartbeat,
} from "../runs/mod.ts";

/** What a step reports when it returns. */
export interface StepResult {
  /** True when the run is complete (its manifest written). */
  done: boolean;
  /** Where to resume; stored in `backup_runs.checkpoint`. */
  checkpoint: Record<string, unknown>;
  bytes?: number;
  items?: number;
  backupId?: string;
  manifestLocation?: string;
  details?: Record<string, unknown>;
}

/** Extra means a step gets besides its run and budget. */
export interface StepTools {
  budget: Budget;
  signal: AbortSignal;
  /** Saves progress mid-step, so a kill loses as little as possible. */
  saveCheckpoint(checkpoint: Record<string, unknown>): Promise<void>;
}

/** One unit of resumable work for a kind of run. */
export type Step = (run: ClaimedRun, tools: StepTools) => Promise<StepResult>;

/** What the executor needs. */
export interface ExecutorContext {
  store: RunStore;
  steps: Partial<Record<RunKind, Step>>;
  /** Called once when a run fails (to notify); its own errors are logged, never thrown. */
  onFailure?: (run: Run, error: string) => Promise<unknown>;
  onSuccess?: (run: Run) => Promise<unknown>;
  /** After this many consecutive interrupted steps without progress, the run fails. */
  maxInterruptions?: number;
  staleAfterMs?: number;
  heartbeatMs?: number;
}

/** How one call of {@link executeStep} ended. */
export type StepOutcome = "succeeded" | "failed" | "continued" | "busy";

/** Turns any error into one sentence for `backup_runs.error` (no stack, no secrets). */
export function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return redactUrl(message).split("\n")[0].slice(0, 500);
}

/**
 * Claims `runId` (or the oldest claimable run of the executor's kinds when omitted) and runs
 * one step of it within `limits`.
 */
export async function executeStep(
  ctx: ExecutorContext,
  options: { runId?: string; limits: BudgetLimits; signal?: AbortSignal },
): Promise<{ outcome: StepOutcome; run?: Run }> {
  const kinds = Object.keys(ctx.steps) as RunKind[];
  const claim = { staleAfterMs: ctx.staleAfterMs, unbounded: isUnbounded(options.limits) };
  const claimed = options.runId
    ? await ctx.store.claim(options.runId, claim)
    : await ctx.store.claimNext(kinds, claim);
  if (!claimed) return { outcome: "busy" };
  const step = ctx.steps[claimed.kind];
  if (!step) {
    return await fail(ctx, claimed, `No step is registered for ${claimed.kind} runs here`);
  }
  const interruptions = Number(claimed.checkpoint.interruptions ?? 0) +
    (claimed.interrupted ? 1 : 0);
  if (interruptions >= (ctx.maxInterruptions ?? 3)) {
    return await fail(
      ctx,
      claimed,
      `The run was interrupted ${interruptions} times in a row (process killed or time limit ` +
        `hit) without finishing a step`,
    );
  }
  if (claimed.interrupted) {
    await ctx.store.heartbeat(claimed.id, {
      checkpoint: { ...claimed.checkpoint, interruptions },
    });
    claimed.checkpoint = { ...claimed.checkpoint, interruptions };
  }

  const budget = new Budget(options.limits);
  const stopHeartbeat = startHeartbeat(ctx.store, claimed.id, {
    intervalMs: ctx.heartbeatMs ?? 5_000,
    progress: () => ({ bytes: claimed.bytes + budget.spent().bytes }),
  });
  const controller = new AbortController();
  const onAbort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  let result: StepResult;
  try {
    result = await step(claimed, {
      budget,
      signal: controller.signal,
      saveCheckpoint: (checkpoint) =>
        ctx.store.heartbeat(claimed.id, { checkpoint: { ...checkpoint, interruptions } }),
    });
  } catch (error) {
    controller.abort();
    return await fail(ctx, claimed, describeError(error));
  } finally {
    stopHeartbeat();
    options.signal?.removeEventListener("abort", onAbort);
  }

  if (!result.done) {
    // A step that returns normally made progress: the interruption count starts again.
    await ctx.store.release(claimed.id, { ...result.checkpoint, interruptions: 0 });
    return { outcome: "continued", run: await ctx.store.get(claimed.id) };
  }
  await ctx.store.finish(claimed.id, {
    status: "succeeded",
    backupId: result.backupId,
    manifestLocation: result.manifestLocation,
    bytes: result.bytes,
    items: result.items,
    details: result.details,
  });
  const run = await ctx.store.get(claimed.id);
  if (run && ctx.onSuccess) await ctx.onSuccess(run).catch(logHookError);
  return { outcome: "succeeded", run };
}

async function fail(
  ctx: ExecutorContext,
  run: Run,
  error: string,
): Promise<{ outcome: StepOutcome; run?: Run }> {
  await ctx.store.finish(run.id, { status: "failed", error });
  const failed = await ctx.store.get(run.id);
  if (failed && ctx.onFailure) await ctx.onFailure(failed, error).catch(logHookError);
  return { outcome: "failed", run: failed };
}

function logHookError(error: unknown): void {
  console.error(`Run hook failed: ${describeError(error)}`);
}

/**
 * Runs steps of `runId` until it finishes or `until` says stop (the worker passes no limit;
 * an Edge invocation runs one step and lets the next invocation continue).
 */
export async function executeUntilDone(
  ctx: ExecutorContext,
  options: { runId: string; limits: BudgetLimits; signal?: AbortSignal; maxSteps?: number },
): Promise<{ outcome: StepOutcome; run?: Run; steps: number }> {
  let steps = 0;
  while (true) {
    const { outcome, run } = await executeStep(ctx, options);
    steps++;
    if (outcome !== "continued" || steps >= (options.maxSteps ?? Infinity)) {
      return { outcome, run, steps };
    }
  }
}
