/**
 * `COPY … TO STDOUT` of one table as a stream of bytes, counting rows as they pass.
 *
 * postgres.js hands a Node Readable over; it is consumed with an async iterator (never
 * `Readable.toWeb`, which left the connection hung for its next query). postgres.js yields one
 * piece per row, so pieces are gathered into larger ones before they go on. In COPY's text
 * format a row never contains a raw newline (it is written `\n`), so rows are counted by
 * counting newline bytes.
 *
 * After the last row the socket is resumed by hand (see {@link resumeSocket}).
 *
 * A source with a key `range` is read as a slice (`slices.ts`): `COPY (SELECT … ORDER BY key)
 * TO STDOUT`, same columns, same text format, the rows in key order; one with an `order`, as
 * the whole table in that order.
 *
 * If the consumer stops early (an error downstream, an abort), the query is cancelled and the
 * rest of the stream drained, so the connection stays usable (its transaction aborted).
 *
 * @module
 */
import type { Readable } from "node:stream";
import { type ChunkingOptions, RowCutter } from "../repository/chunker.ts";
import type { Queryable } from "./session.ts";
import {
  enterRange,
  type KeyRange,
  leaveRange,
  orderedCopyStatement,
  rangeCopyStatement,
} from "./slices.ts";
import { columnList, qualifiedName } from "./sql_text.ts";

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
}

/** Running totals of a copy, updated while it streams. */
export interface CopyCounter {
  rows: number;
  bytes: number;
}

/** Options for {@link copyOut}. */
export interface CopyOutOptions {
  /** Totals to update (rows, raw bytes). */
  counter?: CopyCounter;
  /** Size of the pieces yielded (default 256 KiB). */
  pieceSize?: number;
  /**
   * Yield content-defined chunks instead of pieces: each piece is one blob's content, cut as
   * `splitRows` with these sizes would (write them with `split: "chunked"`).
   */
  chunking?: ChunkingOptions;
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
  const table = qualifiedName(source.schema, source.name);
  return source.columns.length
    ? `copy ${table} (${columnList(source.columns)}) to stdout`
    : `copy ${table} to stdout`;
}

/**
 * Streams a table's rows in COPY text format from `connection` (inside the caller's snapshot
 * transaction). Yields pieces of about `pieceSize` bytes, each a fresh buffer.
 */
export async function* copyOut(
  connection: Queryable,
  source: CopySource,
  options: CopyOutOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  const counter = options.counter ?? { rows: 0, bytes: 0 };
  const pieceSize = options.pieceSize ?? 256 * 1024;
  options.signal?.throwIfAborted();
  if (source.range) await enterRange(connection, source.range);
  // Identifiers are quoted by qualifiedName/columnList; the statement has no parameters (a
  // slice's bounds were handed over by enterRange).
  const query = connection.unsafe(copyOutStatement(source));
  const readable = await query.readable() as unknown as Readable;
  if (options.chunking) {
    yield* cutChunks(query, readable, new RowCutter(options.chunking), counter, options.signal);
    if (source.range) await leaveRange(connection);
    return;
  }
  const early = takeEarlyRows(readable);
  const gathered = gatherPushes(readable, pieceSize);
  const rowsBefore = counter.rows + early.length;
  let finished = false;
  let pending: Uint8Array[] = [...early];
  let pendingBytes = early.reduce((sum, row) => sum + row.length, 0);
  counter.bytes += pendingBytes;
  try {
    const iterator = readable.iterator({ destroyOnReturn: false });
    for await (const piece of iterator as AsyncIterable<Uint8Array>) {
      // Rows of the pieces pushed so far (at most a piece ahead of this one); exact at the end.
      counter.rows = rowsBefore + gathered.rows;
      counter.bytes += piece.length;
      pending.push(piece);
      pendingBytes += piece.length;
      if (pendingBytes >= pieceSize) {
        const out = concat(pending, pendingBytes);
        pending = [];
        pendingBytes = 0;
        options.signal?.throwIfAborted();
        yield out;
      }
    }
    finished = true;
    counter.rows = rowsBefore + gathered.rows;
    resumeSocket(readable);
    if (source.range) await leaveRange(connection);
    if (pendingBytes > 0) yield concat(pending, pendingBytes);
  } finally {
    if (!finished) await abandon(query, readable);
  }
}

/**
 * postgres.js pushes every CopyData message, one per row, into the Node stream on its own, and
 * for narrow tables that per-row cost is most of the copy. The stream's `push` is wrapped so
 * rows are copied into pieces of about `size` bytes and pushed a piece at a time (a row larger
 * than a piece is pushed alone). Back-pressure is kept: the wrapper answers false while the
 * stream's buffer is full, which is when postgres.js pauses the socket.
 */
function gatherPushes(readable: Readable, size: number): { rows: number } {
  const push = readable.push.bind(readable);
  const stats = { rows: 0 };
  let piece = new Uint8Array(size);
  let used = 0;
  const flush = () => {
    if (used === 0) return true;
    const full = piece.subarray(0, used);
    piece = new Uint8Array(size);
    used = 0;
    return push(full);
  };
  readable.push = (chunk: Uint8Array | null, encoding?: BufferEncoding) => {
    if (chunk === null) {
      flush();
      return push(null);
    }
    stats.rows++;
    if (used + chunk.length > size) flush();
    if (chunk.length >= size) return push(chunk, encoding);
    piece.set(chunk, used);
    used += chunk.length;
    return readable.readableLength < readable.readableHighWaterMark;
  };
  return stats;
}

/** Chunks a COPY yields at most waiting in memory before the socket is paused. */
const CHUNKS_AHEAD = 2;

/**
 * The COPY's rows cut into blobs by `cutter` as postgres.js hands them over (see
 * {@link RowCutter}): each piece yielded is one blob's content. The chunks bypass the Node
 * stream's buffer, whose reads merge and split what was pushed; back-pressure is kept by
 * answering false to postgres.js (which pauses the socket) while {@link CHUNKS_AHEAD} chunks
 * wait, and resuming the socket as they are taken.
 */
async function* cutChunks(
  query: { cancel(): unknown },
  readable: Readable,
  cutter: RowCutter,
  counter: CopyCounter,
  signal?: AbortSignal,
): AsyncGenerator<Uint8Array, void, undefined> {
  const ready: { chunk: Uint8Array; rows: number }[] = [];
  let ended = false;
  let failure: unknown;
  let discarding = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  const emit = (chunk: Uint8Array, rows: number) => {
    ready.push({ chunk, rows });
    notify();
  };
  const end = () => {
    if (ended) return;
    if (!discarding) cutter.finish(emit);
    ended = true;
    notify();
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
    cutter.add(row, emit);
    return ready.length < CHUNKS_AHEAD;
  };
  const onError = (error: unknown) => {
    failure ??= error;
    notify();
  };
  readable.once("error", onError);
  // Early rows go first; an early end (already queued as an event) comes after them.
  for (const row of early) cutter.add(row, emit);
  let finished = false;
  try {
    for (;;) {
      if (failure !== undefined) throw failure;
      const next = ready.shift();
      if (next) {
        // The consumer took one: let postgres.js read on if it had paused.
        if (ready.length < CHUNKS_AHEAD) resumeSocket(readable);
        counter.rows += next.rows;
        counter.bytes += next.chunk.length;
        signal?.throwIfAborted();
        yield next.chunk;
        continue;
      }
      if (ended) break;
      await new Promise<void>((resolve) => wake = resolve);
    }
    finished = true;
    resumeSocket(readable);
  } finally {
    readable.off("error", onError);
    readable.off("end", end);
    if (!finished) {
      discarding = true;
      ready.length = 0;
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

function concat(pieces: Uint8Array[], total: number): Uint8Array {
  if (pieces.length === 1) return pieces[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
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
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    drained,
    new Promise<void>((resolve) => timer = setTimeout(resolve, DRAIN_TIMEOUT_MS)),
  ]);
  clearTimeout(timer);
  resumeSocket(readable);
}
