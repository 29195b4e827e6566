/**
 * A tap between a PostgreSQL socket and postgres.js that takes a COPY's rows off the wire.
 *
 * postgres.js turns every CopyData message (one per row) into three Buffer objects and a
 * stream push; for narrow tables that was most of a backup's CPU and, with the socket's
 * per-read Buffers, most of its memory. The tap reads the protocol's message headers as bytes
 * arrive and, while a {@link CopyCapture} is open, hands each CopyData row straight to a
 * {@link RowSink} (which copies it into a blob buffer) instead of passing it on. Every other
 * message, CopyOutResponse and CopyDone included, goes on to postgres.js unchanged, so its
 * view of the protocol stays whole: it resolves the COPY's stream on CopyOutResponse, ends it
 * on CopyDone, and handles errors, notices and the end of the query as usual.
 *
 * The tap also reports the backend's process id from BackendKeyData, which is how a COPY finds
 * the tap of its connection (see `wire_socket.ts`).
 *
 * @module
 */

/** Receives a COPY's rows, each whole, in order. */
export interface RowSink {
  /** One row (its trailing '\n' included): `bytes[start, end)`, valid only during the call. */
  row(bytes: Uint8Array, start: number, end: number): void;
}

/** How a capture ended. */
export type CaptureEnd =
  /** CopyDone came: every row reached the sink. */
  | "copied"
  /** The server sent an error instead (postgres.js reports it on the COPY's stream). */
  | "failed"
  /** The connection closed midway. */
  | "lost";

/** One COPY's rows being taken off the wire (see {@link CopyTap.capture}). */
export interface CopyCapture {
  /** Settles when the COPY's data ends, one way or another. */
  readonly done: Promise<CaptureEnd>;
  /** Drops the rest of the rows (the consumer gave up; the COPY is being cancelled). */
  discard(): void;
  /** The consumer caught up: read on if the socket was paused for it. */
  resume(): void;
  /** Ends the capture without waiting (its query failed before any data). */
  release(): void;
}

/** What the tap needs from its socket. */
export interface TapPort {
  /** The socket is TLS (reported by {@link CopyTap.encrypted}). */
  readonly encrypted?: boolean;
  /** Passes bytes on to postgres.js; `owned` is false when they live in a reused buffer. */
  forward(bytes: Uint8Array, owned: boolean): void;
  pause(): void;
  resume(): void;
  /** The backend's process id was read (from BackendKeyData, during startup). */
  identified(pid: number): void;
}

const COPY_DATA = 0x64; // 'd'
const COPY_DONE = 0x63; // 'c'
const ERROR_RESPONSE = 0x45; // 'E'
const BACKEND_KEY_DATA = 0x4b; // 'K'
const HEADER = 5;

interface OpenCapture {
  sink: RowSink;
  isFull: () => boolean;
  discarding: boolean;
  settle: (end: CaptureEnd) => void;
}

/** The protocol reader of one connection. */
export class CopyTap {
  readonly #port: TapPort;
  #head = new Uint8Array(HEADER);
  #headFill = 0;
  /** Type and body bytes still to come of the message being read. */
  #type = 0;
  #left = 0;
  /** The body of a BackendKeyData or a captured row split across reads. */
  #body: Uint8Array | undefined;
  #bodyFill = 0;
  #capture: OpenCapture | undefined;
  #paused = false;
  #closed = false;

  constructor(port: TapPort) {
    this.#port = port;
  }

  /** Whether the connection under the tap is TLS. */
  get encrypted(): boolean {
    return this.#port.encrypted ?? false;
  }

  /**
   * Takes the rows of the next COPY on this connection: call it before sending the COPY.
   * `isFull` is asked after each read; while it answers true the socket stays paused, until
   * {@link CopyCapture.resume}.
   */
  capture(sink: RowSink, isFull: () => boolean): CopyCapture {
    if (this.#capture) throw new Error("This connection is already copying a table");
    if (this.#closed) {
      // Coded as postgres.js codes a closed connection, so callers name it the same way.
      throw Object.assign(new Error("The database connection is closed"), {
        code: "CONNECTION_CLOSED",
      });
    }
    let settle!: (end: CaptureEnd) => void;
    const done = new Promise<CaptureEnd>((resolve) => settle = resolve);
    const open: OpenCapture = { sink, isFull, discarding: false, settle };
    const finish = (end: CaptureEnd) => {
      if (this.#capture !== open) return;
      this.#capture = undefined;
      this.#resumeIfPaused();
      settle(end);
    };
    open.settle = finish;
    this.#capture = open;
    return {
      done,
      discard: () => {
        open.discarding = true;
        this.#resumeIfPaused();
      },
      resume: () => {
        if (this.#capture === open) this.#resumeIfPaused();
      },
      release: () => finish("failed"),
    };
  }

  /** The socket closed: a capture still open ends as lost. */
  closed(): void {
    this.#closed = true;
    this.#capture?.settle("lost");
  }

  /**
   * Reads `bytes[0, length)` from the socket. `owned` is false when the bytes live in a
   * buffer the socket reuses (they are then copied before being passed on).
   */
  feed(bytes: Uint8Array, length: number, owned: boolean): void {
    let at = 0;
    // Bytes from passFrom to `at` belong to messages postgres.js gets; passed in runs.
    let passFrom = 0;
    const pass = (end: number) => {
      if (end > passFrom) this.#port.forward(bytes.subarray(passFrom, end), owned);
      passFrom = end;
    };
    while (at < length) {
      if (this.#headFill === HEADER) {
        const taking = this.#taking();
        at = this.#readBody(bytes, at, length);
        if (taking) passFrom = at;
        continue;
      }
      if (this.#headFill === 0 && length - at >= HEADER) {
        // A header: one byte of type, four of length (which counts itself).
        this.#type = bytes[at];
        this.#left = ((bytes[at + 1] << 24) | (bytes[at + 2] << 16) | (bytes[at + 3] << 8) |
          bytes[at + 4]) - 4;
        this.#headFill = HEADER;
        if (this.#taking()) pass(at);
        at += HEADER;
        if (this.#taking()) passFrom = at;
      } else {
        // A header split across reads: its bytes are held back until its type is known.
        if (this.#headFill === 0) pass(at);
        this.#head[this.#headFill++] = bytes[at++];
        passFrom = at;
        if (this.#headFill < HEADER) continue;
        const head = this.#head;
        this.#type = head[0];
        this.#left = ((head[1] << 24) | (head[2] << 16) | (head[3] << 8) | head[4]) - 4;
        if (!this.#taking()) this.#port.forward(head, false);
      }
      this.#started();
      if (this.#left === 0) this.#readBody(bytes, at, at);
    }
    pass(length);
    const capture = this.#capture;
    if (capture && !capture.discarding && !this.#paused && capture.isFull()) {
      this.#paused = true;
      this.#port.pause();
    }
  }

  /** Whether the current message is taken by the tap (a row of the open capture). */
  #taking(): boolean {
    return this.#type === COPY_DATA && this.#capture !== undefined;
  }

  /** A message header was read: CopyDone and ErrorResponse end a capture. */
  #started(): void {
    const capture = this.#capture;
    if (!capture) return;
    if (this.#type === COPY_DONE) capture.settle("copied");
    else if (this.#type === ERROR_RESPONSE) capture.settle("failed");
  }

  /**
   * Reads the current message's body from `bytes[at, length)`; returns where it stopped. A
   * body the tap needs (a row, the backend key) is copied aside when it spans reads.
   */
  #readBody(bytes: Uint8Array, at: number, length: number): number {
    const take = Math.min(this.#left, length - at);
    const needed = this.#taking() || this.#type === BACKEND_KEY_DATA;
    if (!needed) {
      this.#left -= take;
    } else if (this.#body === undefined && take === this.#left) {
      this.#left = 0;
      this.#complete(bytes, at, at + take);
    } else {
      if (this.#body === undefined) {
        this.#body = new Uint8Array(this.#left);
        this.#bodyFill = 0;
      }
      this.#body.set(bytes.subarray(at, at + take), this.#bodyFill);
      this.#bodyFill += take;
      this.#left -= take;
      if (this.#left === 0) {
        const body = this.#body;
        this.#body = undefined;
        this.#complete(body, 0, body.length);
      }
    }
    if (this.#left === 0) this.#headFill = 0;
    return at + take;
  }

  #complete(bytes: Uint8Array, start: number, end: number): void {
    if (this.#type === BACKEND_KEY_DATA) {
      if (end - start >= 4) {
        this.#port.identified(
          ((bytes[start] << 24) | (bytes[start + 1] << 16) | (bytes[start + 2] << 8) |
            bytes[start + 3]) >>> 0,
        );
      }
      return;
    }
    const capture = this.#capture!;
    if (!capture.discarding) capture.sink.row(bytes, start, end);
  }

  #resumeIfPaused(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#port.resume();
  }
}
