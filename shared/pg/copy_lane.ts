/**
 * A lane copies one table at a time into the repository: in this thread over a snapshot
 * connection ({@link threadLane}), or in a worker thread with its own connection that joined
 * the same snapshot ({@link openWorkerLanes}), so tables' parsing, hashing and compression use
 * several cores (compression in `node:zlib` runs on the calling thread in Deno).
 *
 * @module
 */
import type { ChunkingOptions, Repository, WriteStreamResult } from "../repository/mod.ts";
import { ChunkBufferPool } from "../util/chunk_buffer_pool.ts";
import { resolveChunking } from "../repository/chunker.ts";
import type { Config } from "../config/mod.ts";
import {
  type CopyCounter,
  copyOut,
  type CopyPath,
  type CopySource,
  countCopyPath,
} from "./copy_out.ts";
import type { Queryable } from "./session.ts";
import { findSliceEnd, type KeyColumn } from "./slices.ts";

/** Where the next slice of a table starts, and how many rows it may hold at most. */
export interface SliceRequest {
  table: CopySource;
  key: readonly KeyColumn[];
  /** The last key copied, or null from the table's start. */
  after: readonly string[] | null;
  rows: number;
}

/**
 * Copies one table (or one slice of a table: a source with a key range) at a time, in the
 * lane's snapshot.
 */
export interface CopyLane {
  copy(table: CopySource, counter: CopyCounter, signal: AbortSignal): Promise<WriteStreamResult>;
  /**
   * The key of the last row of the slice `request` describes, or null when the slice runs to
   * the table's end (`findSliceEnd` in `slices.ts`).
   */
  sliceEnd(request: SliceRequest): Promise<string[] | null>;
  /** Releases the lane (ends a worker); never throws. */
  close(): Promise<void>;
}

/** Sizes and concurrency of table writes. */
export interface LaneOptions {
  writeConcurrency: number;
  chunking: ChunkingOptions;
}

/**
 * Copies one table (or slice) into the repository, in whichever thread calls it: rows are cut
 * into blobs as postgres.js hands them over (no separate chunking pass) and written with
 * `writeConcurrency` blobs in flight.
 */
export function writeTable(
  connection: Queryable,
  repository: Repository,
  table: CopySource,
  options: LaneOptions & { counter: CopyCounter; signal: AbortSignal },
): Promise<WriteStreamResult> {
  const { counter, signal } = options;
  const pool = chunkPool(options.chunking);
  return repository.writeStream(
    copyOut(connection, table, { counter, signal, chunking: options.chunking, pool }),
    { split: "chunked", signal, concurrency: options.writeConcurrency, recycle: pool },
  );
}

/** This thread's chunk buffers, by size: kept across tables, a few at most. */
const chunkPools = new Map<number, ChunkBufferPool>();

function chunkPool(chunking: ChunkingOptions): ChunkBufferPool {
  const size = resolveChunking(chunking).maxSize;
  let pool = chunkPools.get(size);
  if (!pool) chunkPools.set(size, pool = new ChunkBufferPool(size, CHUNK_BUFFERS_KEPT));
  return pool;
}

/** Enough for the chunks a copy has in flight at once (cut, queued, being encoded). */
const CHUNK_BUFFERS_KEPT = 4;

/** A lane in this thread, over one of the snapshot's connections. */
export function threadLane(
  connection: Queryable,
  repository: Repository,
  options: LaneOptions,
): CopyLane {
  return {
    copy: (table, counter, signal) =>
      writeTable(connection, repository, table, { counter, signal, ...options }),
    sliceEnd: (request) =>
      findSliceEnd(connection, request.table, request.key, request.after, request.rows),
    close: () => Promise.resolve(),
  };
}

/** Where worker lanes store blobs: a target URL and the settings to open its repository. */
export interface RepositorySpec {
  name: string;
  url: string;
  config: Pick<Config, "s3" | "compression" | "encryptionKeys"> & {
    acceptUnauthenticated?: boolean;
  };
}

/** Messages to a copy worker. */
export type WorkerRequest =
  | {
    type: "init";
    db: string;
    snapshotId: string;
    repository: RepositorySpec;
    options: LaneOptions;
  }
  | { type: "copy"; table: CopySource }
  | ({ type: "slice-end" } & SliceRequest)
  | { type: "abort" }
  | { type: "close" };

/** Messages from a copy worker. */
export type WorkerReply =
  | { type: "ready" }
  | { type: "progress"; rows: number; bytes: number }
  | { type: "done"; result: WriteStreamResult; rows: number; bytes: number; path?: CopyPath }
  | { type: "slice-end"; through: string[] | null }
  | { type: "failed"; message: string; code?: string }
  | { type: "closed" };

/** An error a worker reported, with the code of the original (connection loss and such). */
export class WorkerCopyError extends Error {
  constructor(message: string, readonly code?: string) {
    super(message);
    this.name = "WorkerCopyError";
  }
}

/**
 * Starts `count` workers, each joining `snapshotId` on its own connection to `db`. Rejects (and
 * ends every worker) when one cannot start.
 */
export async function openWorkerLanes(
  count: number,
  init: { db: string; snapshotId: string; repository: RepositorySpec; options: LaneOptions },
): Promise<CopyLane[]> {
  const lanes: CopyLane[] = [];
  try {
    for (let i = 0; i < count; i++) lanes.push(await openWorkerLane(init));
    return lanes;
  } catch (error) {
    await Promise.all(lanes.map((lane) => lane.close()));
    throw error;
  }
}

async function openWorkerLane(
  init: { db: string; snapshotId: string; repository: RepositorySpec; options: LaneOptions },
): Promise<CopyLane> {
  const worker = new Worker(new URL("./copy_worker.ts", import.meta.url).href, { type: "module" });
  let waiting: ((reply: WorkerReply) => void) | undefined;
  let onProgress: ((reply: { rows: number; bytes: number }) => void) | undefined;
  let crashed: Error | undefined;
  worker.onmessage = (event: MessageEvent<WorkerReply>) => {
    if (event.data.type === "progress") onProgress?.(event.data);
    else waiting?.(event.data);
  };
  worker.onerror = (event) => {
    event.preventDefault();
    crashed = new WorkerCopyError(`The copy worker stopped: ${event.message}`);
    waiting?.({ type: "failed", message: crashed.message });
  };
  const ask = (request: WorkerRequest) =>
    new Promise<WorkerReply>((resolve) => {
      if (crashed) return resolve({ type: "failed", message: crashed.message });
      waiting = resolve;
      worker.postMessage(request);
    });
  const ready = await ask({ type: "init", ...init });
  if (ready.type !== "ready") {
    worker.terminate();
    const failed = ready as { message?: string; code?: string };
    throw new WorkerCopyError(failed.message ?? "The copy worker did not start", failed.code);
  }
  let closed = false;
  return {
    async copy(table, counter, signal) {
      const abort = () => worker.postMessage({ type: "abort" } satisfies WorkerRequest);
      signal.addEventListener("abort", abort, { once: true });
      onProgress = (progress) => {
        counter.rows = progress.rows;
        counter.bytes = progress.bytes;
      };
      try {
        const reply = await ask({ type: "copy", table });
        if (reply.type === "done") {
          counter.rows = reply.rows;
          counter.bytes = reply.bytes;
          counter.path = reply.path;
          if (reply.path) countCopyPath(reply.path);
          return reply.result;
        }
        const failed = reply as { message?: string; code?: string };
        throw new WorkerCopyError(failed.message ?? "The copy worker failed", failed.code);
      } finally {
        signal.removeEventListener("abort", abort);
        onProgress = undefined;
      }
    },
    async sliceEnd(request) {
      const reply = await ask({ type: "slice-end", ...request });
      if (reply.type === "slice-end") return reply.through;
      const failed = reply as { message?: string; code?: string };
      throw new WorkerCopyError(failed.message ?? "The copy worker failed", failed.code);
    },
    async close() {
      if (closed) return;
      closed = true;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        ask({ type: "close" }),
        new Promise((done) => timer = setTimeout(done, 10_000)),
      ]);
      clearTimeout(timer);
      worker.terminate();
    },
  };
}
