/**
 * `COPY … TO STDOUT` of one table as a stream of bytes, counting rows as they pass.
 *
 * Rows are cut into what the caller asked for as they arrive: content-defined chunks (one
 * blob's content each, see `RowCutter`) or pieces of about a fixed size. Two ways to get them:
 * - on an engine connection (`wire_socket.ts`), the socket's {@link CopyTap} hands each
 *   CopyData row over straight from the read buffer: no per-row object, no garbage;
 * - on any other postgres.js connection, the COPY's Node stream is read, its `push` wrapped so
 *   rows skip the stream's buffer (see {@link streamedRows}).
 * Either way at most {@link CHUNKS_AHEAD} finished chunks wait before the socket is paused.
 *
 * A source with a key `range` is read as a slice (`slices.ts`): `COPY (SELECT … ORDER BY key)
 * TO STDOUT`, same columns, same text format, the rows in key order; one with an `order`, as
 * the whole table in that order.
 *
 * If the consumer stops early (an error downstream, an abort), the query is cancelled and the
 * rest of its rows dropped, so the connection stays usable (its transaction aborted).
 *
 * @module
 */
import type { Readable } from "node:stream";
import { type ChunkingOptions, PieceGatherer, RowCutter } from "../repository/chunker.ts";
import type { ChunkBufferPool } from "../util/chunk_buffer_pool.ts";
import type { Queryable } from "./session.ts";
import type { CaptureEnd, CopyTap } from "./copy_tap.ts";
import { tapOf } from "./wire_socket.ts";
import {
  enterRange,
  type KeyRange,
  leaveRange,
  orderedCopyStatement,
  rangeCopyStatement,
} from "./slices.ts";
import { columnList, qualifiedName } from "./sql_text.ts";
import { largeObjectsCopyStatement } from "./large_objects.ts";

/** What {@link copyOut} reads: a table and the columns to copy. */
export interface CopySource {
  schema: string;
  name: string;
  /** Unquoted column names (generated columns excluded). */
  columns: readonly string[];
  /** Only the rows of this key range, in key order (a slice); absent: the whole table. */
  range?: KeyRange;
  /**
   * The whole table in the order of these columns (a sliced table's key, as its backup stored
   * it) rather than its physical order; ignored with `range`.
   */
  order?: readonly string[];
  /**
   * Only the rows this clause keeps (an extension configuration table's `WHERE …`, SQL text
   * from the source's own catalog, as pg_dump applies it): `COPY (SELECT … FROM ONLY t
   * <condition>)`. Ignored with `range` or `order`.
   */
  condition?: string;
  /**
   * Not a table: every large object's contents (`large_objects.ts`); the other fields only
   * name the stream.
   */
  largeObjects?: boolean;
}

/** Running totals of a copy, updated while it streams. */
export interface CopyCounter {
  rows: number;
  bytes: number;
  /** How the rows were read, once the COPY started ({@link CopyPath}). */
  path?: CopyPath;
}

/**
 * How a COPY's rows were read: off the wire by the connection's tap (`tap`, or `tap-tls` over
 * TLS), or from postgres.js's stream (`stream`: a connection without a tap).
 */
export type CopyPath = "tap" | "tap-tls" | "stream";

const copiesByPath: Record<CopyPath, number> = { tap: 0, "tap-tls": 0, stream: 0 };

/**
 * How many COPYs this thread read each way, and the worker lanes it started
 * ({@link countCopyPath}): tests and benchmarks check with it which path they exercised.
 */
export function copyPathCounts(): Readonly<Record<CopyPath, number>> {
  return { ...copiesByPath };
}

/** Counts one COPY read `path` (a worker lane's copies are counted by its coordinator). */
export function countCopyPath(path: CopyPath): void {
  copiesByPath[path]++;
}

/** Options for {@link copyOut}. */
export interface CopyOutOptions {
  /** Totals to update (rows, raw bytes). */
  counter?: CopyCounter;
  /** Size of the pieces yielded without `chunking` (default 256 KiB). */
  pieceSize?: number;
  /**
   * Yield content-defined chunks instead of pieces: each piece is one blob's content, cut as
   * `splitRows` with these sizes would (write them with `split: "chunked"`).
   */
  chunking?: ChunkingOptions;
  /** Buffers for the chunks (see `RowCutter`): the receiver may give them back. */
  pool?: ChunkBufferPool;
  signal?: AbortSignal;
}

const NEWLINE = 10;
const DRAIN_TIMEOUT_MS = 30_000;

/** Counts newline bytes in `bytes`. */
export function countNewlines(bytes: Uint8Array): number {
  // Uint8Array's own indexOf: postgres.js hands Buffers over, and the Buffer polyfill's
  // indexOf is several times slower per call (measured: most of a backup's row counting).
  const indexOf = Uint8Array.prototype.indexOf;
  let count = 0;
  let at = indexOf.call(bytes, NEWLINE);
  while (at !== -1) {
    count++;
    at = indexOf.call(bytes, NEWLINE, at + 1);
  }
  return count;
}

/**
 * The `COPY … TO STDOUT` statement for a table (text format, explicit column list), or for a
 * slice of it when the source has a key range.
 */
export function copyOutStatement(source: CopySource): string {
  if (source.range) return rangeCopyStatement(source, source.range);
  if (source.order) return orderedCopyStatement(source, source.order);
  if (source.largeObjects) return largeObjectsCopyStatement();
  const table = qualifiedName(source.schema, source.name);
  if (source.condition) {
    return `copy (select ${columnList(source.columns)} from only ${table} ${source.condition}) ` +
      "to stdout";
  }
  return source.columns.length
    ? `copy ${table} (${columnList(source.columns)}) to stdout`
    : `copy ${table} to stdout`;
}

/**
 * Streams a table's rows in COPY text format from `connection` (inside the caller's snapshot
 * transaction). Yields pieces of about `pieceSize` bytes, or chunks (see
 * {@link CopyOutOptions.chunking}); each a fresh buffer.
 */
export async function* copyOut(
  connection: Queryable,
  source: CopySource,
  options: CopyOutOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  const counter = options.counter ?? { rows: 0, bytes: 0 };
  options.signal?.throwIfAborted();
  const cutter: Cutter = options.chunking
    ? new RowCutter(options.chunking, options.pool)
    : new PieceGatherer(options.pieceSize ?? 256 * 1024);
  const tap = await tapOf(connection);
  if (source.range) await enterRange(connection, source.range);
  // Identifiers are quoted by qualifiedName/columnList; the statement has no parameters (a
  // slice's bounds were handed over by enterRange).
  const statement = copyOutStatement(source);
  counter.path = tap ? (tap.encrypted ? "tap-tls" : "tap") : "stream";
  countCopyPath(counter.path);
  yield* tap
    ? tappedRows(tap, connection, statement, cutter, counter, options.signal)
    : streamedRows(connection, statement, cutter, counter, options.signal);
  if (source.range) await leaveRange(connection);
}

/** Cuts rows into chunks or pieces (`RowCutter`, `PieceGatherer`). */
interface Cutter {
  addRange(bytes: Uint8Array, start: number, end: number, emit: Emit): void;
  finish(emit: Emit): void;
}

type Emit = (chunk: Uint8Array, rows: number) => void;

/**
 * Chunks a COPY yields at most waiting in memory before the socket is paused. One is enough to
 * keep the connection busy while the consumer encodes the previous one (measured: no slower
 * than two, and 4 MiB less per table in flight).
 */
const CHUNKS_AHEAD = 1;

/** Finished chunks waiting for the consumer, and how the COPY ended. */
class ChunkQueue {
  readonly #ready: { chunk: Uint8Array; rows: number }[] = [];
  #ended = false;
  #failure: unknown;
  #wake: (() => void) | undefined;

  readonly push: Emit = (chunk, rows) => {
    this.#ready.push({ chunk, rows });
    this.#notify();
  };

  get full(): boolean {
    return this.#ready.length >= CHUNKS_AHEAD;
  }

  end(): void {
    this.#ended = true;
    this.#notify();
  }

  fail(error: unknown): void {
    this.#failure ??= error;
    this.#notify();
  }

  clear(): void {
    this.#ready.length = 0;
  }

  /** Yields the chunks as they come, calling `taken` after each is taken. */
  async *drain(
    counter: CopyCounter,
    signal: AbortSignal | undefined,
    taken: () => void,
  ): AsyncGenerator<Uint8Array, void, undefined> {
    for (;;) {
      if (this.#failure !== undefined) throw this.#failure;
      const next = this.#ready.shift();
      if (next) {
        if (!this.full) taken();
        counter.rows += next.rows;
        counter.bytes += next.chunk.length;
        signal?.throwIfAborted();
        yield next.chunk;
        continue;
      }
      if (this.#ended) return;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
  }

  #notify(): void {
    this.#wake?.();
    this.#wake = undefined;
  }
}

/** The COPY's rows taken off the wire by the connection's tap. */
async function* tappedRows(
  tap: CopyTap,
  connection: Queryable,
  statement: string,
  cutter: Cutter,
  counter: CopyCounter,
  signal?: AbortSignal,
): AsyncGenerator<Uint8Array, void, undefined> {
  const queue = new ChunkQueue();
  const capture = tap.capture(
    { row: (bytes, start, end) => cutter.addRange(bytes, start, end, queue.push) },
    () => queue.full,
  );
  const query = connection.unsafe(statement);
  let readable: Readable;
  try {
    readable = await query.readable() as unknown as Readable;
  } catch (error) {
    capture.release();
    throw error;
  }
  // postgres.js reports a failure on the stream, which nothing else reads.
  readable.on("error", () => {});
  capture.done.then(async (end) => {
    if (end === "copied") {
      cutter.finish(queue.push);
      queue.end();
    } else {
      queue.fail(await streamError(readable, end));
    }
  });
  let finished = false;
  try {
    yield* queue.drain(counter, signal, () => capture.resume());
    finished = true;
  } finally {
    if (!finished) {
      capture.discard();
      queue.clear();
      Promise.resolve(query.cancel()).catch(() => {
        // Nothing left to cancel.
      });
      await within(capture.done, DRAIN_TIMEOUT_MS);
    }
  }
}

/**
 * The error postgres.js gives the COPY's stream after a capture ended other than with
 * CopyDone (it may still be reading the ErrorResponse, or learning that the socket closed).
 */
async function streamError(readable: Readable, end: CaptureEnd): Promise<unknown> {
  const fallback = () =>
    Object.assign(
      new Error(
        end === "lost"
          ? "The database connection was lost during COPY"
          : "The database ended the COPY with an error",
      ),
      end === "lost" ? { code: "CONNECTION_CLOSED" } : {},
    );
  if (readable.errored) return readable.errored;
  const settled = new Promise<unknown>((resolve) => {
    readable.once("error", resolve);
    readable.once("close", () => resolve(readable.errored ?? undefined));
  });
  return (await within(settled, ERROR_WAIT_MS)) ?? fallback();
}

const ERROR_WAIT_MS = 5_000;

/** `promise`'s value, or undefined after `ms`. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<undefined>((resolve) => timer = setTimeout(() => resolve(undefined), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The COPY's rows as postgres.js pushes them into its Node stream, one per CopyData message
 * (connections without a tap). The stream's `push` is wrapped so rows go to the cutter and
 * skip the stream's buffer, whose reads merge and split what was pushed; back-pressure is
 * kept by answering false to postgres.js (which pauses the socket) while the queue is full,
 * and resuming the socket as chunks are taken.
 */
async function* streamedRows(
  connection: Queryable,
  statement: string,
  cutter: Cutter,
  counter: CopyCounter,
  signal?: AbortSignal,
): AsyncGenerator<Uint8Array, void, undefined> {
  const query = connection.unsafe(statement);
  const readable = await query.readable() as unknown as Readable;
  const queue = new ChunkQueue();
  let ended = false;
  let discarding = false;
  const add = (row: Uint8Array) => cutter.addRange(row, 0, row.length, queue.push);
  const end = () => {
    if (ended) return;
    if (!discarding) cutter.finish(queue.push);
    ended = true;
    queue.end();
  };
  const early = takeEarlyRows(readable);
  // A short COPY may have ended before the wrapper below exists: its 'end' tells.
  readable.once("end", end);
  readable.read(0);
  const push = readable.push.bind(readable);
  readable.push = (row: Uint8Array | null, encoding?: BufferEncoding) => {
    if (row === null) {
      end();
      return push(null, encoding);
    }
    if (discarding) return true;
    add(row);
    return !queue.full;
  };
  const onError = (error: unknown) => queue.fail(error);
  readable.once("error", onError);
  // Early rows go first; an early end (already queued as an event) comes after them.
  for (const row of early) add(row);
  let finished = false;
  try {
    // The consumer took one: let postgres.js read on if it had paused.
    yield* queue.drain(counter, signal, () => resumeSocket(readable));
    finished = true;
    resumeSocket(readable);
  } finally {
    readable.off("error", onError);
    readable.off("end", end);
    if (!finished) {
      discarding = true;
      queue.clear();
      await abandon(query, readable);
    }
  }
}

/**
 * Rows postgres.js pushed before the wrapper was installed (the stream can already hold a few
 * when `readable()` resolves), taken back out of the stream's buffer, one row each.
 */
function takeEarlyRows(readable: Readable): Uint8Array[] {
  const rows: Uint8Array[] = [];
  const indexOf = Uint8Array.prototype.indexOf;
  // read() may answer one buffered push at a time: take them all.
  while (readable.readableLength > 0) {
    const buffered = readable.read() as Uint8Array | null;
    if (!buffered) break;
    let start = 0;
    for (;;) {
      const end = indexOf.call(buffered, NEWLINE, start);
      if (end === -1) break;
      rows.push(buffered.subarray(start, end + 1));
      start = end + 1;
    }
    if (start < buffered.length) rows.push(buffered.subarray(start));
  }
  return rows;
}

/**
 * postgres.js pauses the socket whenever the COPY stream's buffer is full and resumes it only
 * from the stream's `_read`, which Node never calls once the stream has ended. If the last
 * row filled the buffer, the server's closing messages are never read and the connection's
 * next query waits forever, so the socket is resumed once more by hand.
 */
function resumeSocket(readable: Readable): void {
  (readable as unknown as { _read?: (size: number) => void })._read?.(0);
}

/** Cancels a COPY still running and drains what the server already sent. */
async function abandon(query: { cancel(): unknown }, readable: Readable) {
  if (readable.readableEnded || readable.destroyed) return;
  const drained = new Promise<void>((resolve) => {
    const done = () => resolve();
    readable.once("end", done);
    readable.once("error", done);
    readable.once("close", done);
    readable.on("data", () => {});
    readable.resume();
  });
  Promise.resolve(query.cancel()).catch(() => {
    // Nothing left to cancel.
  });
  await within(drained, DRAIN_TIMEOUT_MS);
  resumeSocket(readable);
}
