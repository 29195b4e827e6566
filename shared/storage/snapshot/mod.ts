/**
 * Storage snapshots: every object of every chosen bucket, stored content-addressed in each
 * target's repository, in budgeted resumable steps. (PostgreSQL's exported snapshot, which a
 * database backup reads in, is `pg/exported_snapshot.ts`.)
 *
 * How a step works, one stage per file: the run starts (`start.ts`: buckets resolved, id
 * chosen); for each target, the step holds the repository (`lock.ts`) and reads the previous
 * snapshot index (`previous.ts`); each bucket is walked in listing order (`walk.ts`): objects
 * whose size, ETag and last-modified time match the previous snapshot on the same target are
 * referenced without being read, the others stream from the source into the repository
 * (`copy_object.ts`, `store_object.ts`: chunked, hashed, compressed, encrypted there), several
 * at a time within a count and a memory limit. Completed entries are flushed, in listing
 * order, as small "segment" blobs whose ids go into the checkpoint with the last key done
 * (`segments.ts`), so a killed step resumes after that key and loses at most the objects in
 * flight. When every bucket is done the manifest is assembled from the segments and written
 * last (`finish.ts`); only then does the snapshot exist.
 *
 * Requests per object read: the object's GET (one per 8 MiB part) and one PUT per blob. The
 * repository is not asked whether a blob is stored first: blobs of the previous snapshots the
 * run builds on are known to be stored and are referenced with no request, and any other blob
 * is uploaded (an identical upload is harmless and refreshes the blob's modification time).
 *
 * Why a concurrent prune cannot take a blob away from under a snapshot: a blob the snapshot
 * uploads is younger than prune's grace period until the manifest lands (a run must finish
 * within it, as for every backup); a blob it references without a request belongs to a
 * previous snapshot it builds on, which prune keeps while it exists (mark and sweep). Each
 * step holds a repository lock, which prune refuses to start under and re-checks before it
 * sweeps, and a step does not start while a prune holds its lock; a step also fails the run
 * when a previous snapshot the run built on in an earlier step has gone since (a prune ran
 * between two steps), rather than write a manifest that might name swept blobs.
 *
 * @module
 */
import { snapshotCheckpointSchema, zeroCounters } from "./checkpoint.ts";
import type {
  SnapshotContext,
  SnapshotStepOptions,
  SnapshotStepResult,
  SnapshotSummary,
} from "./context.ts";
import { finishTarget } from "./finish.ts";
import { holdForStep } from "./lock.ts";
import { buildOn, loadPrevious } from "./previous.ts";
import { startSnapshot } from "./start.ts";
import { walkBucket } from "./walk.ts";

export { type SnapshotCheckpoint, snapshotCheckpointSchema } from "./checkpoint.ts";
export type {
  SnapshotContext,
  SnapshotStepOptions,
  SnapshotStepResult,
  SnapshotSummary,
  StepBudget,
} from "./context.ts";

/**
 * Runs one budgeted step of a snapshot run: continues from `checkpoint` until every target
 * has its manifest (done) or the budget is spent (not done; resume with the returned
 * checkpoint). Throws when the source or a target fails for good: the run has failed, and no
 * manifest exists for the target in progress.
 */
export async function runStorageSnapshotStep(
  ctx: SnapshotContext,
  checkpoint: Record<string, unknown>,
  options: SnapshotStepOptions = {},
): Promise<SnapshotStepResult> {
  const state = snapshotCheckpointSchema.parse(checkpoint);
  const finished: SnapshotSummary[] = [];
  let bytesRead = 0;
  const save = async () => {
    await options.saveCheckpoint?.(state as Record<string, unknown>);
  };

  // The first step resolves the buckets and names the snapshot.
  if (!state.snapshotId) {
    await startSnapshot(ctx, state, options.signal);
    await save();
  }

  while (state.targetIndex < ctx.repositories.length) {
    const { name, repository, uncompressed } = ctx.repositories[state.targetIndex];
    // Lock: no prune starts or sweeps while the step writes this target.
    const hold = await holdForStep(repository, state.snapshotId!, options);
    if (!hold) return { done: false, checkpoint: state, finished, bytesRead };
    try {
      // Previous snapshot index: what unchanged objects reference, and blobs known stored.
      const previous = await loadPrevious(repository, state.snapshotId!, state.resolvedBuckets!);
      buildOn(state, previous, name);
      const known = previous?.known ?? new Map<string, number>();
      const signal = options.signal ? AbortSignal.any([options.signal, hold.signal]) : hold.signal;
      // Bucket walk and object copy, bucket after bucket, checkpointed as it goes.
      const buckets = state.resolvedBuckets!;
      while (state.bucketIndex < buckets.length) {
        const bucket = buckets[state.bucketIndex];
        const pass = await walkBucket(ctx, state, {
          bucket,
          repository,
          uncompressed,
          previous: previous?.index,
          known,
          budget: options.budget,
          signal,
          save,
        });
        bytesRead += pass.bytesRead;
        if (!pass.complete) return { done: false, checkpoint: state, finished, bytesRead };
        state.bucketIndex++;
        state.startAfter = null;
        await save();
      }
      // Manifest, last: the snapshot exists on this target.
      finished.push(await finishTarget(ctx, state, { name, repository, previous: previous?.id }));
    } finally {
      await hold.release();
    }
    // The next target starts from its first bucket.
    state.targetIndex++;
    state.bucketIndex = 0;
    state.startAfter = null;
    state.segments = [];
    state.basedOn = undefined;
    state.counters = zeroCounters();
    await save();
    if (options.budget?.exhausted() && state.targetIndex < ctx.repositories.length) {
      return { done: false, checkpoint: state, finished, bytesRead };
    }
  }
  return { done: true, checkpoint: state, finished, bytesRead };
}

/**
 * A whole snapshot in one call (the CLI and tests): steps without a budget until done.
 * Returns one summary per target.
 */
export async function snapshotStorage(
  ctx: SnapshotContext,
  options: { buckets?: string[]; signal?: AbortSignal } = {},
): Promise<SnapshotSummary[]> {
  const result = await runStorageSnapshotStep(ctx, { buckets: options.buckets ?? null }, {
    signal: options.signal,
  });
  return result.finished;
}
