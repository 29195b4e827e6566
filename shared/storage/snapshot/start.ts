/**
 * The first step of a Storage snapshot run: the buckets resolved (every bucket, or the ones
 * asked for, which must exist), the snapshot's id and start time chosen, and the buckets'
 * settings read from the project's database.
 *
 * @module
 */
import { newSnapshotId } from "../manifest.ts";
import { readBucketSettings } from "../bucket_settings.ts";
import { BucketNotFoundError } from "../source.ts";
import { type SnapshotCheckpoint, zeroCounters } from "./checkpoint.ts";
import type { SnapshotContext } from "./context.ts";

/** Starts the run in `state`; throws {@link BucketNotFoundError} for a bucket asked for that is missing. */
export async function startSnapshot(
  ctx: SnapshotContext,
  state: SnapshotCheckpoint,
  signal: AbortSignal | undefined,
): Promise<void> {
  const available = await ctx.source.listBuckets({ signal });
  let buckets: string[];
  if (state.buckets && state.buckets.length) {
    const missing = state.buckets.filter((b) => !available.includes(b));
    if (missing.length) throw new BucketNotFoundError(missing.join('", "'));
    buckets = [...new Set(state.buckets)].sort();
  } else {
    buckets = available;
  }
  state.snapshotId = newSnapshotId();
  state.startedAt = new Date().toISOString();
  state.resolvedBuckets = buckets;
  state.settings = ctx.sql ? (await readBucketSettings(ctx.sql, buckets)) ?? null : null;
  state.targetIndex = 0;
  state.bucketIndex = 0;
  state.startAfter = null;
  state.segments = [];
  state.counters = zeroCounters();
  state.written = [];
}
