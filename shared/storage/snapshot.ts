/**
 * Storage snapshots: every object of every chosen bucket, stored content-addressed in each
 * target's repository, in budgeted resumable steps.
 *
 * How a step works: buckets are listed in order (ListObjectsV2, continuation tokens); objects
 * whose size, ETag and last-modified time match the previous snapshot on the same target are
 * referenced without being read; the others stream from the source into the repository
 * (chunked, hashed, compressed, encrypted there), several at a time within a count and a
 * memory limit. Completed entries are flushed, in listing order, as small "segment" blobs
 * whose ids go into the checkpoint with the last key done, so a killed step resumes after that
 * key and loses at most the objects in flight. When every bucket is done the manifest is
 * assembled from the segments and written last; only then does the snapshot exist.
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
import {
  type BucketSettings,
  entryKey,
  newSnapshotId,
  type ObjectEntry,
  objectEntrySchema,
  parseStorageManifest,
  STORAGE_MANIFEST_KIND,
  STORAGE_MANIFEST_VERSION,
  type StorageManifest,
} from "./manifest.ts";
import { WeightedLimiter } from "./limiter.ts";
import { BodyBufferPool } from "./buffer_pool.ts";
import { listSnapshotIds } from "./catalog.ts";
import { compareWithDatabase, latestDatabaseBackupId, linkDatabaseRun } from "./pairing.ts";
import type { BlobRef, SnapshotRepository } from "./repository_port.ts";
import {
  BucketNotFoundError,
  type ListedObject,
  ObjectChangedError,
  ObjectVanishedError,
  type StorageSource,
} from "./source.ts";
import { readBucketSettings } from "./bucket_settings.ts";
import { isIncompressible } from "./codec_choice.ts";
import { StreamHash } from "../repository/digest.ts";
import { holdRepository, type RepositoryHold } from "../repository/hold.ts";
import type postgres from "postgres";
import { z } from "zod";

/** Everything a snapshot step works with. */
export interface SnapshotContext {
  source: StorageSource;
  /** Printable source endpoint, recorded in the manifest. */
  sourceEndpoint: string;
  /** Repositories to write, in order, by target name. */
  repositories: Array<{
    name: string;
    repository: SnapshotRepository;
    /** The same repository writing blobs uncompressed, for incompressible objects. */
    uncompressed?: SnapshotRepository;
  }>;
  /** The project's database: bucket settings, `storage.objects` and the pairing link. */
  sql?: postgres.Sql;
  /** Options recorded in the manifest. */
  options: { compression: string; encrypted: boolean; chunkSize?: number };
  /** Most objects transferred at once (default 16). */
  concurrency?: number;
  /** Bytes of object data held in memory at once, roughly (default 32 MiB). */
  memoryBytes?: number;
  /** Entries per checkpointed segment (default 1000). */
  segmentSize?: number;
  /** Largest gap between checkpoints in ms (default 15 s). */
  checkpointEveryMs?: number;
}

/** Anything that says when a step should stop taking new work (`shared/jobs` Budget). */
export interface StepBudget {
  exhausted(): boolean;
  addBytes?(n: number): void;
}

/** Options of one step. */
export interface SnapshotStepOptions {
  budget?: StepBudget;
  signal?: AbortSignal;
  /** Stores the checkpoint mid-step (backup_runs.checkpoint). */
  saveCheckpoint?: (checkpoint: Record<string, unknown>) => Promise<void>;
}

const counterSchema = z.object({
  objects: z.number(),
  bytes: z.number(),
  copied: z.number(),
  skipped: z.number(),
  storedBytes: z.number(),
  vanished: z.number(),
});

type Counters = z.infer<typeof counterSchema>;

const zeroCounters = (): Counters => ({
  objects: 0,
  bytes: 0,
  copied: 0,
  skipped: 0,
  storedBytes: 0,
  vanished: 0,
});

/** Where a snapshot run stands; JSON, kept in `backup_runs.checkpoint`. */
export const snapshotCheckpointSchema = z.object({
  /** Buckets asked for; null or absent: every bucket. */
  buckets: z.array(z.string()).nullable().optional(),
  snapshotId: z.string().optional(),
  startedAt: z.string().optional(),
  /** The buckets being snapshotted, resolved on the first step. */
  resolvedBuckets: z.array(z.string()).optional(),
  settings: z.record(z.string(), z.unknown().nullable()).nullable().optional(),
  targetIndex: z.number().int().nonnegative().default(0),
  bucketIndex: z.number().int().nonnegative().default(0),
  /** Last key done in the current bucket, in listing order. */
  startAfter: z.string().nullable().default(null),
  /** Blob ids of the entry segments written for the current target. */
  segments: z.array(z.string()).default([]),
  /** Previous snapshots whose blobs the current target's entries reference (must not go). */
  basedOn: z.array(z.string()).optional(),
  counters: counterSchema.optional(),
  /** Manifests written so far, one per finished target. */
  written: z.array(
    z.object({
      target: z.string(),
      snapshotId: z.string(),
      location: z.string(),
    }).passthrough(),
  ).default([]),
}).passthrough();

/** Where a snapshot run stands. */
export type SnapshotCheckpoint = z.infer<typeof snapshotCheckpointSchema>;

/** Summary of a finished snapshot (one per target; the CLI prints the first). */
export interface SnapshotSummary {
  snapshotId: string;
  target: string;
  objects: number;
  bytes: number;
  copied: number;
  skipped: number;
  storedBytes: number;
  vanished: number;
  databaseBackupId: string | null;
  missingFromBucket: number;
  missingFromDatabase: number;
}

/** What one step did. */
export interface SnapshotStepResult {
  done: boolean;
  checkpoint: SnapshotCheckpoint;
  /** Snapshots finished in this step. */
  finished: SnapshotSummary[];
  /** Source bytes read in this step. */
  bytesRead: number;
}

type Outcome =
  | { kind: "copied"; entry: ObjectEntry; storedSize: number }
  | { kind: "skipped"; entry: ObjectEntry }
  | { kind: "vanished" };

interface Task {
  listed: ListedObject;
  done: boolean;
  outcome?: Outcome;
  promise: Promise<void>;
}

const MIB = 1024 * 1024;
const DEFAULT_CHUNK = 8 * MIB;
/**
 * Defaults for a snapshot's transfers. On the 1 GB bench set (3,000 objects), 16 transfers and
 * 32 MiB in flight took as long as 32 and 64 MiB (within run-to-run noise) for about 50 MB
 * less peak memory (bench/README).
 */
const DEFAULT_CONCURRENCY = 16;
const DEFAULT_MEMORY = 32 * MIB;

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

  if (!state.snapshotId) {
    await initialise(ctx, state, options.signal);
    await save();
  }

  while (state.targetIndex < ctx.repositories.length) {
    const { name, repository, uncompressed } = ctx.repositories[state.targetIndex];
    const hold = await holdForStep(repository, state.snapshotId!, options);
    if (!hold) return { done: false, checkpoint: state, finished, bytesRead };
    try {
      const previous = await loadPrevious(repository, state.snapshotId!, state.resolvedBuckets!);
      const gone = (state.basedOn ?? []).filter((id) => !previous?.present.has(id));
      if (gone.length) {
        throw new Error(
          `Storage snapshot ${gone.join(", ")} on target "${name}", which this run builds on, ` +
            `was removed while the run was paused (by a prune): the run stops rather than ` +
            `reference blobs that may be gone; the next run starts afresh`,
        );
      }
      state.basedOn = [...new Set([...(state.basedOn ?? []), ...(previous?.used ?? [])])];
      const known = previous?.known ?? new Map<string, number>();
      const signal = options.signal ? AbortSignal.any([options.signal, hold.signal]) : hold.signal;
      const buckets = state.resolvedBuckets!;
      while (state.bucketIndex < buckets.length) {
        const bucket = buckets[state.bucketIndex];
        const pass = await snapshotBucket(ctx, state, {
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
      finished.push(await finishTarget(ctx, state, { name, repository, previous: previous?.id }));
    } finally {
      await hold.release();
    }
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

async function initialise(
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

/**
 * Takes the step's own hold on the repository (`repository/hold.ts`), so that prune refuses to
 * start, or to sweep, while the step runs; and waits while a prune holds its lock. Undefined
 * when the step's budget ran out waiting.
 */
function holdForStep(
  repository: SnapshotRepository,
  snapshotId: string,
  options: SnapshotStepOptions,
): Promise<RepositoryHold | undefined> {
  return holdRepository(repository, {
    kind: "storage",
    id: snapshotId,
    owner: `storage snapshot ${snapshotId}`,
    signal: options.signal,
    giveUp: () => options.budget?.exhausted() ?? false,
    onWait: (prune) =>
      console.error(
        `A prune holds the repository (until ${prune.expiresAt} at the latest); ` +
          `the snapshot waits for it`,
      ),
  });
}

/** How many earlier snapshots are searched for buckets the latest one did not cover. */
const PREVIOUS_SEARCH_DEPTH = 10;

/** What earlier snapshots on the repository hold, as one snapshot step uses it. */
interface Previous {
  /** The newest snapshot used. */
  id: string;
  /** Entries of the snapshot's buckets, by {@link entryKey}. */
  index: Map<string, ObjectEntry>;
  /** Snapshots used: every blob they reference is taken as stored. */
  used: string[];
  /** Those blobs, with their stored sizes. */
  known: Map<string, number>;
  /** Every Storage snapshot the repository holds. */
  present: Set<string>;
}

/**
 * What earlier snapshots on the repository hold of the snapshot's buckets: each bucket from
 * the newest snapshot that covered it (a snapshot of chosen buckets does not make the others
 * look new to the next full snapshot).
 */
async function loadPrevious(
  repository: SnapshotRepository,
  currentId: string,
  buckets: string[],
): Promise<Previous | undefined> {
  const all = await listSnapshotIds(repository);
  const present = new Set(all);
  const ids = all.filter((id) => id !== currentId).slice(0, PREVIOUS_SEARCH_DEPTH);
  const wanted = new Set(buckets);
  const index = new Map<string, ObjectEntry>();
  const used: string[] = [];
  const known = new Map<string, number>();
  // An unchanged object whose stored copy verification found damaged is read again.
  const damaged = await repository.damagedBlobs();
  let newest: string | undefined;
  for (const id of ids) {
    if (wanted.size === 0) break;
    let manifest: StorageManifest;
    try {
      manifest = parseStorageManifest(await repository.loadManifest(STORAGE_MANIFEST_KIND, id), id);
    } catch (error) {
      console.error(
        `Storage snapshot ${id} is unreadable, not used for the incremental comparison: ${
          error instanceof Error ? error.message : error
        }`,
      );
      continue;
    }
    const covered = new Set(manifest.buckets.map((b) => b.name).filter((b) => wanted.has(b)));
    if (covered.size === 0) continue;
    newest ??= id;
    used.push(id);
    for (const entry of manifest.objects) {
      if (entry.blobs.some((blob) => damaged.has(blob.id))) continue;
      if (covered.has(entry.bucket)) index.set(entryKey(entry.bucket, entry.key), entry);
      for (const blob of entry.blobs) known.set(blob.id, blob.storedSize);
    }
    for (const bucket of covered) wanted.delete(bucket);
  }
  return newest ? { id: newest, index, used, known, present } : undefined;
}

async function snapshotBucket(
  ctx: SnapshotContext,
  state: SnapshotCheckpoint,
  pass: {
    bucket: string;
    repository: SnapshotRepository;
    uncompressed?: SnapshotRepository;
    previous?: Map<string, ObjectEntry>;
    known: Map<string, number>;
    budget?: StepBudget;
    signal?: AbortSignal;
    save: () => Promise<void>;
  },
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
  const segmentSize = ctx.segmentSize ?? 1000;
  const checkpointEvery = ctx.checkpointEveryMs ?? 15_000;
  const controller = new AbortController();
  const abortFromOutside = () => controller.abort(pass.signal?.reason);
  pass.signal?.addEventListener("abort", abortFromOutside, { once: true });
  const signal = controller.signal;

  const queue: Task[] = [];
  let completed: ObjectEntry[] = [];
  let lastDone: string | null = state.startAfter;
  let failure: unknown;
  let bytesRead = 0;
  let lastSave = Date.now();
  // The pending counters of entries not yet flushed, applied when their segment is saved.
  let pending = zeroCounters();

  const collect = () => {
    while (queue.length && queue[0].done) {
      const task = queue.shift()!;
      const outcome = task.outcome!;
      lastDone = task.listed.key;
      if (outcome.kind === "vanished") {
        pending.vanished++;
        continue;
      }
      completed.push(outcome.entry);
      pending.objects++;
      pending.bytes += outcome.entry.size;
      if (outcome.kind === "copied") {
        pending.copied++;
        pending.storedBytes += outcome.storedSize;
      } else pending.skipped++;
    }
  };

  const flush = async () => {
    if (lastDone === state.startAfter) return;
    if (completed.length) {
      const bytes = new TextEncoder().encode(JSON.stringify(completed));
      const blob = await pass.repository.putBlob(bytes, { known: pass.known, assumeAbsent: true });
      state.segments.push(blob.id);
    }
    for (const name of Object.keys(pending) as Array<keyof Counters>) {
      counters[name] += pending[name];
    }
    state.startAfter = lastDone;
    completed = [];
    pending = zeroCounters();
    lastSave = Date.now();
    await pass.save();
  };

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
      const task: Task = { listed, done: false, promise: Promise.resolve() };
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
      queue.push(task);
      collect();
      if (completed.length >= segmentSize || Date.now() - lastSave > checkpointEvery) {
        await flush();
      }
    }
  } catch (error) {
    failure ??= error;
    controller.abort(error);
  } finally {
    pass.signal?.removeEventListener("abort", abortFromOutside);
  }
  await Promise.all(queue.map((task) => task.promise));
  if (failure) throw failure;
  if (pass.signal?.aborted) throw pass.signal.reason ?? new Error("The snapshot was cancelled");
  collect();
  await flush();
  return { complete, bytesRead };
}

async function snapshotObject(
  ctx: SnapshotContext,
  pass: {
    repository: SnapshotRepository;
    uncompressed?: SnapshotRepository;
    previous?: Map<string, ObjectEntry>;
    known: Map<string, number>;
    pool: BodyBufferPool;
  },
  listed: ListedObject,
  signal: AbortSignal,
): Promise<Outcome> {
  const before = pass.previous?.get(entryKey(listed.bucket, listed.key));
  if (
    before && before.size === listed.size && before.etag === listed.etag &&
    before.lastModified === listed.lastModified
  ) {
    return { kind: "skipped", entry: before };
  }
  // An object replaced while read in parts is read again, from its new version.
  for (let attempt = 1;; attempt++) {
    signal.throwIfAborted();
    try {
      return await copyObject(ctx, pass, listed, signal);
    } catch (error) {
      if (error instanceof ObjectVanishedError) return { kind: "vanished" };
      if (!(error instanceof ObjectChangedError) || attempt >= 3) throw error;
    }
  }
}

async function copyObject(
  ctx: SnapshotContext,
  pass: {
    repository: SnapshotRepository;
    uncompressed?: SnapshotRepository;
    known: Map<string, number>;
    pool: BodyBufferPool;
  },
  listed: ListedObject,
  signal: AbortSignal,
): Promise<Outcome> {
  const object = await ctx.source.getObject(listed.bucket, listed.key, {
    signal,
    sizeHint: listed.size,
    partSize: ctx.options.chunkSize ?? DEFAULT_CHUNK,
    allocate: (length) => pass.pool.take(length),
  });
  let written;
  try {
    written = await storeObject(pass, object.body, {
      size: object.size,
      contentType: object.contentType,
      chunkSize: ctx.options.chunkSize ?? DEFAULT_CHUNK,
      signal,
      known: pass.known,
      pool: pass.pool,
    });
  } catch (error) {
    await object.body.cancel().catch(() => {});
    throw error;
  }
  if (written.size !== object.size) {
    throw new Error(
      `Object "${listed.key}" in bucket "${listed.bucket}" was ${written.size} bytes when read, ` +
        `${object.size} announced`,
    );
  }
  const entry: ObjectEntry = {
    bucket: listed.bucket,
    key: listed.key,
    size: written.size,
    sha256: written.sha256,
    etag: object.etag || listed.etag,
    lastModified: object.lastModified,
    contentType: object.contentType,
    cacheControl: object.cacheControl,
    contentEncoding: object.contentEncoding,
    contentDisposition: object.contentDisposition,
    metadata: object.metadata,
    blobs: written.blobs.map((b) => ({ id: b.id, size: b.size, storedSize: b.storedSize })),
  };
  return { kind: "copied", entry, storedSize: written.uploadedSize };
}

const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/**
 * Stores an object's bytes: one blob, read into one buffer, when it fits in a chunk (most
 * Storage objects: no chunker, no spare buffer), else one blob per chunk (see
 * {@link storeChunks}). Every blob is uploaded without asking first whether it is stored,
 * unless `known` says it is. Each buffer goes back to the pool once its blob is stored (not
 * after a failure: an upload that failed may still be sending from it). Returns what the
 * manifest records.
 */
async function storeObject(
  repositories: { repository: SnapshotRepository; uncompressed?: SnapshotRepository },
  body: ReadableStream<Uint8Array>,
  options: {
    size: number;
    contentType?: string;
    chunkSize: number;
    signal: AbortSignal;
    known: Map<string, number>;
    pool: BodyBufferPool;
  },
): Promise<StoredObject> {
  const { pool } = options;
  const parts = body[Symbol.asyncIterator]();
  const first = await parts.next();
  const start: Uint8Array = first.done ? new Uint8Array() : first.value;
  const repository = repositories.uncompressed &&
      await isIncompressible(options.contentType, options.size, start)
    ? repositories.uncompressed
    : repositories.repository;
  // The buffers are ours alone (read for this object): the encoder may take them.
  const put = async (bytes: Uint8Array) => {
    const blob = await repository.putBlob(bytes, {
      signal: options.signal,
      known: options.known,
      assumeAbsent: true,
      transfer: true,
    });
    pool.give(bytes);
    return blob;
  };
  if (options.size > options.chunkSize) {
    return await storeChunks(put, first.done ? undefined : start, parts, {
      chunkSize: options.chunkSize,
      pool,
    });
  }
  let bytes = start;
  if (!first.done) {
    // Usually the whole object came as one part; gather any further pieces.
    const pieces = [start];
    let length = start.length;
    for (;;) {
      const next = await parts.next();
      if (next.done) break;
      pieces.push(next.value);
      length += next.value.length;
      if (length > options.size) {
        throw new Error(`The object grew beyond its announced ${options.size} bytes while read`);
      }
    }
    if (pieces.length > 1) {
      bytes = pool.take(length);
      let at = 0;
      for (const piece of pieces) {
        bytes.set(piece, at);
        at += piece.length;
        pool.give(piece);
      }
    }
  }
  const size = bytes.length;
  if (size === 0) return { blobs: [], size: 0, sha256: EMPTY_SHA256, uploadedSize: 0 };
  const blob = await put(bytes);
  return {
    blobs: [{ id: blob.id, size: blob.size, storedSize: blob.storedSize }],
    size,
    sha256: blob.id,
    uploadedSize: blob.reused ? 0 : blob.storedSize,
  };
}

/** What {@link storeObject} stored for an object. */
interface StoredObject {
  blobs: BlobRef[];
  size: number;
  sha256: string;
  /** Stored bytes actually uploaded (the rest was known to be stored). */
  uploadedSize: number;
}

/**
 * Stores a large object as blobs of `chunkSize` bytes cut at fixed offsets (the last one
 * shorter), one at a time while the source reads the next part ahead. The source's parts are
 * chunk-sized already, so they are stored as they come, without a copy; other piece sizes are
 * gathered. The cut is the repository's `splitBytes` with the same size, so blob ids, and
 * deduplication with snapshots written through it, are the same.
 */
async function storeChunks(
  put: (
    bytes: Uint8Array,
  ) => Promise<{ id: string; size: number; storedSize: number; reused: boolean }>,
  first: Uint8Array | undefined,
  rest: AsyncIterator<Uint8Array>,
  options: { chunkSize: number; pool: BodyBufferPool },
): Promise<StoredObject> {
  const { chunkSize, pool } = options;
  const whole = new StreamHash();
  const blobs: BlobRef[] = [];
  let size = 0;
  let uploadedSize = 0;
  let buffer: Uint8Array | undefined;
  let filled = 0;
  const store = async (chunk: Uint8Array) => {
    const blob = await put(chunk);
    blobs.push({ id: blob.id, size: blob.size, storedSize: blob.storedSize });
    if (!blob.reused) uploadedSize += blob.storedSize;
  };
  const take = async (piece: Uint8Array) => {
    // Hashed before it is stored: storing may hand the buffer to another thread.
    whole.update(piece);
    size += piece.length;
    if (filled === 0 && piece.length === chunkSize) return await store(piece);
    for (let at = 0; at < piece.length;) {
      buffer ??= pool.take(chunkSize);
      const take = Math.min(chunkSize - filled, piece.length - at);
      buffer.set(piece.subarray(at, at + take), filled);
      filled += take;
      at += take;
      if (filled === chunkSize) {
        const full = buffer;
        buffer = undefined;
        filled = 0;
        await store(full);
      }
    }
    pool.give(piece);
  };
  if (first) await take(first);
  for (;;) {
    const next = await rest.next();
    if (next.done) break;
    await take(next.value);
  }
  if (filled > 0) await store(buffer!.subarray(0, filled));
  return { blobs, size, sha256: whole.hex(), uploadedSize };
}

async function finishTarget(
  ctx: SnapshotContext,
  state: SnapshotCheckpoint,
  target: { name: string; repository: SnapshotRepository; previous?: string },
): Promise<SnapshotSummary> {
  const objects: ObjectEntry[] = [];
  const decoder = new TextDecoder();
  for (const id of state.segments) {
    const segment = JSON.parse(decoder.decode(await target.repository.loadBlob(id)));
    for (const entry of z.array(objectEntrySchema).parse(segment)) objects.push(entry);
  }
  const counters = state.counters ?? zeroCounters();
  const buckets = state.resolvedBuckets ?? [];
  const perBucket = new Map(buckets.map((b) => [b, { objects: 0, bytes: 0 }]));
  for (const entry of objects) {
    const totals = perBucket.get(entry.bucket)!;
    totals.objects++;
    totals.bytes += entry.size;
  }
  const databaseBackupId = await latestDatabaseBackupId(target.repository);
  const comparison = await compareWithDatabase(ctx.sql, buckets, objects);
  const snapshotId = state.snapshotId!;
  const manifest: StorageManifest = {
    version: STORAGE_MANIFEST_VERSION,
    kind: "storage",
    id: snapshotId,
    startedAt: state.startedAt!,
    finishedAt: new Date().toISOString(),
    source: { endpoint: ctx.sourceEndpoint },
    previousSnapshotId: target.previous ?? null,
    options: {
      compression: ctx.options.compression,
      encrypted: ctx.options.encrypted,
      chunkSize: ctx.options.chunkSize ?? DEFAULT_CHUNK,
    },
    buckets: buckets.map((name) => ({
      name,
      settings: (state.settings?.[name] ?? null) as BucketSettings | null,
      ...perBucket.get(name)!,
    })),
    pairing: { databaseBackupId, ...comparison },
    totals: {
      objects: objects.length,
      bytes: objects.reduce((n, e) => n + e.size, 0),
      copied: counters.copied,
      skipped: counters.skipped,
      storedBytes: counters.storedBytes,
      vanished: counters.vanished,
    },
    objects,
  };
  await target.repository.saveManifest(STORAGE_MANIFEST_KIND, snapshotId, manifest);
  if (ctx.sql && databaseBackupId) await linkDatabaseRun(ctx.sql, databaseBackupId, snapshotId);
  const summary: SnapshotSummary = {
    snapshotId,
    target: target.name,
    objects: manifest.totals.objects,
    bytes: manifest.totals.bytes,
    copied: counters.copied,
    skipped: counters.skipped,
    storedBytes: counters.storedBytes,
    vanished: counters.vanished,
    databaseBackupId,
    missingFromBucket: comparison.missingFromBucket.count,
    missingFromDatabase: comparison.missingFromDatabase.count,
  };
  state.written.push({ ...summary, location: `${STORAGE_MANIFEST_KIND}/${snapshotId}` });
  return summary;
}
