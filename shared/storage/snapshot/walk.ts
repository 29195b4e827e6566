/**
 * The bucket walk: a bucket listed in order (ListObjectsV2, continuation tokens) from the last
 * key done, its objects snapshotted several at a time within a count and a memory limit, the
 * finished ones checkpointed in listing order (`segments.ts`). It stops taking objects when the
 * budget is spent (after at least one, so a step always makes progress).
 *
 * @module
 */
import { BodyBufferPool } from "../../util/body_buffer_pool.ts";
import { WeightedLimiter } from "../../util/concurrency.ts";
import type { ObjectEntry } from "../manifest.ts";
import type { SnapshotRepository } from "../repository_port.ts";
import { type SnapshotCheckpoint, zeroCounters } from "./checkpoint.ts";
import {
  DEFAULT_CHUNK,
  DEFAULT_CONCURRENCY,
  DEFAULT_MEMORY,
  type SnapshotContext,
  type StepBudget,
} from "./context.ts";
import { snapshotObject } from "./copy_object.ts";
import { type ObjectTask, SegmentWriter } from "./segments.ts";

/** One bucket of one target, as a step walks it. */
export interface BucketPass {
  bucket: string;
  repository: SnapshotRepository;
  uncompressed?: SnapshotRepository;
  /** The previous snapshot index (`previous.ts`). */
  previous?: Map<string, ObjectEntry>;
  known: Map<string, number>;
  budget?: StepBudget;
  signal?: AbortSignal;
  save: () => Promise<void>;
}

/**
 * Walks the bucket from `state.startAfter`: complete when its listing ended, not when the
 * budget stopped it. Throws the first failure, once every object in flight has settled.
 */
export async function walkBucket(
  ctx: SnapshotContext,
  state: SnapshotCheckpoint,
  pass: BucketPass,
): Promise<{ complete: boolean; bytesRead: number }> {
  const counters = state.counters ??= zeroCounters();
  const chunk = ctx.options.chunkSize ?? DEFAULT_CHUNK;
  const memory = ctx.memoryBytes ?? DEFAULT_MEMORY;
  const limiter = new WeightedLimiter({
    count: ctx.concurrency ?? DEFAULT_CONCURRENCY,
    weight: memory,
  });
  // Idle buffers kept for the next objects come on top of those in flight.
  const pool = new BodyBufferPool({ largest: chunk, maxIdleBytes: memory / 4 });
  const segments = new SegmentWriter(state, counters, {
    repository: pass.repository,
    known: pass.known,
    save: pass.save,
    segmentSize: ctx.segmentSize ?? 1000,
    checkpointEveryMs: ctx.checkpointEveryMs ?? 15_000,
  });
  const controller = new AbortController();
  const abortFromOutside = () => controller.abort(pass.signal?.reason);
  pass.signal?.addEventListener("abort", abortFromOutside, { once: true });
  const signal = controller.signal;
  let failure: unknown;
  let bytesRead = 0;

  // Weight of an object in flight, roughly the bytes held for it at once: a small object's
  // buffer and its encoded form (a copy when compressed; none when framed in place); for a
  // chunked one, the part being stored and the one read meanwhile. Uploads send from these
  // buffers without a copy (`s3_http.ts`).
  const weightOf = (size: number) =>
    size > chunk ? 2 * pool.capacityFor(chunk) : pool.capacityFor(size) + size;

  let complete = true;
  try {
    const listing = ctx.source.listObjects(pass.bucket, {
      startAfter: state.startAfter ?? undefined,
      signal,
    });
    let launched = 0;
    for await (const listed of listing) {
      if (failure) break;
      // At least one object per pass, so a step always makes progress.
      if ((launched > 0 && pass.budget?.exhausted()) || pass.signal?.aborted) {
        complete = false;
        break;
      }
      launched++;
      const weight = weightOf(listed.size);
      await limiter.acquire(weight);
      if (failure) {
        limiter.release(weight);
        break;
      }
      const task: ObjectTask = { listed, done: false, promise: Promise.resolve() };
      task.promise = snapshotObject(ctx, { ...pass, pool }, listed, signal)
        .then((outcome) => {
          task.outcome = outcome;
          task.done = true;
          if (outcome.kind === "copied") {
            bytesRead += outcome.entry.size;
            pass.budget?.addBytes?.(outcome.entry.size);
          }
        }, (error) => {
          failure ??= error;
          controller.abort(error);
        })
        .finally(() => limiter.release(weight));
      segments.add(task);
      segments.collect();
      if (segments.due) await segments.flush();
    }
  } catch (error) {
    failure ??= error;
    controller.abort(error);
  } finally {
    pass.signal?.removeEventListener("abort", abortFromOutside);
  }
  await segments.settle();
  if (failure) throw failure;
  if (pass.signal?.aborted) throw pass.signal.reason ?? new Error("The snapshot was cancelled");
  segments.collect();
  await segments.flush();
  return { complete, bytesRead };
}
