/**
 * Where blobs are hashed and encoded: in the calling thread ({@link inlineEncoder}), or in a
 * small pool of worker threads ({@link EncoderPool}).
 *
 * In Deno 2.9 `node:zlib` compresses on the calling thread even through its callback API, so
 * a backup that parses COPY output, hashes and compresses on one thread is bound by that one
 * core. The pool moves the blob id hash, compression, encryption and the stored-bytes hash to
 * worker threads; the caller's thread keeps reading the source.
 *
 * A blob goes in two phases, so content already stored is never compressed: {@link
 * BlobEncoder.begin} hands the plaintext over and answers its id; the caller checks whether the
 * blob is stored, then either {@link BlobJob.encode}s it or {@link BlobJob.drop}s it. In the
 * pool the plaintext stays in the worker between the phases (moved there, not copied, when the
 * caller gives it up with `transfer`).
 *
 * The pool is process-wide and opt-in ({@link useEncodeThreads}): the CLI and the worker turn it
 * on; Edge Functions (no workers, CPU counted per request) and tests keep the inline encoder.
 * Idle workers end on their own after a short while, so a process never waits on them to exit.
 *
 * @module
 */
import { encodeBlob, type EncodeBlobOptions } from "./blob_format.ts";
import { createHash } from "node:crypto";
import type { Keyring } from "./encryption.ts";
import type { ChunkBufferPool } from "../util/chunk_buffer_pool.ts";
import {
  decodeVerified,
  type EncoderReply,
  type EncoderRequest,
  errorOf,
  keyClones,
  ownBuffer,
  sha256HexSync,
} from "./encoder_protocol.ts";

/**
 * An encoded blob: the bytes to store. Their SHA-256 is the target's to compute, once, as it
 * saves them (it signs uploads with it and reports it); hashing them here too cost a second
 * pass over every stored byte (bench/README).
 */
export interface EncodedBlob {
  stored: Uint8Array;
  /**
   * `stored` lives in the plaintext's own buffer (framed in place): it is not the encoder's to
   * release. Otherwise `stored` is a fresh buffer the caller owns.
   */
  inPlaintext?: boolean;
}

/** One blob between {@link BlobEncoder.begin} and its encoding or drop. */
export interface BlobJob {
  /** Plaintext size in bytes. */
  readonly size: number;
  /** SHA-256 of the plaintext, lowercase hex: the blob id. */
  readonly id: Promise<string>;
  /** Encodes the plaintext (compressed, maybe encrypted); the job ends. */
  encode(): Promise<EncodedBlob>;
  /** Ends the job without encoding (the blob is already stored). */
  drop(): void;
}

/** Options for {@link BlobEncoder.begin}. */
export interface BeginOptions {
  /**
   * The caller gives the plaintext up: the pool may move its buffer to a worker, after which
   * it is detached (zero length) in the caller. Without it the plaintext is copied.
   */
  transfer?: boolean;
  /**
   * The plaintext is a view of a buffer of this pool, given up whole (implies `transfer`):
   * the buffer goes back to the pool once the plaintext is encoded or dropped.
   */
  recycle?: ChunkBufferPool;
}

/**
 * The blobs of one stream, in order: each plaintext also feeds the stream's SHA-256, computed
 * where the blobs are hashed (in the pool, the thread the stream is pinned to).
 */
export interface StreamEncoder {
  begin(plain: Uint8Array, options: EncodeBlobOptions, begin?: BeginOptions): BlobJob;
  /** The SHA-256 of every plaintext begun, in order; the stream ends. */
  digest(): Promise<string>;
  /** Ends the stream without a digest (the write failed). */
  cancel(): void;
}

/** Hashes, encodes and decodes blobs. */
export interface BlobEncoder {
  begin(plain: Uint8Array, options: EncodeBlobOptions, begin?: BeginOptions): BlobJob;
  /** Starts a stream of blobs whose whole plaintext is hashed too. */
  openStream(): StreamEncoder;
  /**
   * Decodes a stored blob and checks it hashes to `id`. `stored` is given up (it may be moved
   * to a worker).
   *
   * @throws {IntegrityError} when it is corrupt or does not match its id
   * @throws {KeyError} when its key is not configured
   */
  decode(stored: Uint8Array, id: string, keyring: Keyring | undefined): Promise<Uint8Array>;
}

/** Hashes and encodes in the calling thread. */
export const inlineEncoder: BlobEncoder = {
  begin(plain, options, begin = {}) {
    const id = Promise.resolve(sha256HexSync(plain));
    let held: Uint8Array | undefined = plain;
    return {
      size: plain.length,
      id,
      async encode() {
        if (!held) throw new Error("The blob job has ended");
        const input = held;
        held = undefined;
        // encodeBlob writes a fresh buffer: the plaintext's can go back once it returns.
        const stored = await encodeBlob(input, options);
        begin.recycle?.give(input.buffer);
        return { stored };
      },
      drop() {
        if (held) begin.recycle?.give(held.buffer);
        held = undefined;
      },
    };
  },
  decode: decodeVerified,
  openStream() {
    const hash = createHash("sha256");
    let open = true;
    const ended = () => new Error("The blob stream has ended");
    return {
      begin(plain, options, begin) {
        if (!open) throw ended();
        hash.update(plain);
        return inlineEncoder.begin(plain, options, begin);
      },
      digest() {
        if (!open) return Promise.reject(ended());
        open = false;
        return Promise.resolve(hash.digest("hex"));
      },
      cancel() {
        open = false;
      },
    };
  },
};

interface Waiter {
  resolve(value: EncoderReply): void;
  reject(error: Error): void;
}

/** One worker thread and the replies it owes (one request per job at a time). */
class EncoderThread {
  readonly worker: Worker;
  readonly waiting = new Map<number, Waiter>();
  /** Jobs whose plaintext this worker holds or is working on. */
  load = 0;
  /** Pools that plaintext buffers the worker sends back go to, by job. */
  readonly returnTo = new Map<number, ChunkBufferPool>();

  constructor(onReply: () => void, onCrash: (thread: EncoderThread) => void) {
    this.worker = new Worker(new URL("./encoder_worker.ts", import.meta.url).href, {
      type: "module",
    });
    this.worker.onmessage = (event: MessageEvent<EncoderReply>) => {
      const reply = event.data;
      if (reply.type === "returned") {
        this.returnTo.get(reply.job)?.give(reply.buffer);
        this.returnTo.delete(reply.job);
        return;
      }
      const waiter = this.waiting.get(reply.job);
      if (!waiter) return;
      this.waiting.delete(reply.job);
      if (reply.type === "failed") waiter.reject(errorOf(reply.message, reply.kind));
      else waiter.resolve(reply);
      onReply();
    };
    this.worker.onerror = (event) => {
      event.preventDefault();
      this.fail(new Error(`The encoder thread stopped: ${event.message}`));
      onCrash(this);
    };
  }

  ask(request: EncoderRequest, transfer: Transferable[] = []): Promise<EncoderReply> {
    return new Promise<EncoderReply>((resolve, reject) => {
      this.waiting.set(request.job, { resolve, reject });
      try {
        this.worker.postMessage(request, transfer);
      } catch (error) {
        this.waiting.delete(request.job);
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  /** Rejects every reply still owed. */
  fail(error: Error): void {
    for (const waiter of this.waiting.values()) waiter.reject(error);
    this.waiting.clear();
    this.returnTo.clear();
  }
}

/** Options for {@link EncoderPool}. */
export interface EncoderPoolOptions {
  /** Worker threads (default 1). */
  threads?: number;
  /** Idle milliseconds after which the workers end (default 250). */
  idleMs?: number;
}

/** Hashes and encodes in worker threads, started on first use and ended when idle. */
export class EncoderPool implements BlobEncoder {
  readonly #size: number;
  readonly #idleMs: number;
  #threads: EncoderThread[] = [];
  #nextJob = 1;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: EncoderPoolOptions = {}) {
    this.#size = Math.max(1, Math.floor(options.threads ?? 1));
    this.#idleMs = options.idleMs ?? 250;
  }

  /** Worker threads running now. */
  get running(): number {
    return this.#threads.length;
  }

  begin(plain: Uint8Array, options: EncodeBlobOptions, begin: BeginOptions = {}): BlobJob {
    return this.#beginOn(this.#pick(), plain, options, begin);
  }

  openStream(): StreamEncoder {
    // Pinned to one thread, so the stream's hash sees its blobs in order; held open (counted
    // as load) until its digest or cancel.
    const thread = this.#pick();
    const stream = this.#nextJob++;
    thread.load++;
    this.#cancelIdle();
    let open = true;
    const close = () => {
      if (!open) return false;
      open = false;
      thread.load--;
      this.#scheduleIdle();
      return true;
    };
    return {
      begin: (plain, options, begin = {}) => {
        if (!open) throw new Error("The blob stream has ended");
        return this.#beginOn(thread, plain, options, begin, stream);
      },
      digest: async () => {
        if (!open) throw new Error("The blob stream has ended");
        try {
          const reply = await thread.ask({ type: "digest", job: this.#nextJob++, stream });
          return (reply as Extract<EncoderReply, { type: "digested" }>).sha256;
        } finally {
          close();
        }
      },
      cancel: () => {
        if (!close()) return;
        try {
          thread.worker.postMessage({ type: "forget", job: 0, stream } satisfies EncoderRequest);
        } catch { /* the worker ended: nothing is held */ }
      },
    };
  }

  #beginOn(
    thread: EncoderThread,
    plain: Uint8Array,
    options: EncodeBlobOptions,
    begin: BeginOptions,
    stream?: number,
  ): BlobJob {
    const job = this.#nextJob++;
    const size = plain.length;
    // A recycled plaintext moves with its whole buffer, which comes back to the pool.
    const owned = begin.recycle ? plain : begin.transfer ? ownBuffer(plain) : plain.slice();
    if (begin.recycle) thread.returnTo.set(job, begin.recycle);
    thread.load++;
    this.#cancelIdle();
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      thread.load--;
      this.#scheduleIdle();
    };
    const id = thread.ask(
      { type: "hash", job, plain: owned, stream, recycle: begin.recycle !== undefined },
      [owned.buffer as ArrayBuffer],
    ).then(
      (reply) => (reply as Extract<EncoderReply, { type: "hashed" }>).id,
    );
    id.catch(() => {
      thread.returnTo.delete(job);
      end();
    });
    return {
      size,
      id,
      encode: async () => {
        if (ended) throw new Error("The blob job has ended");
        await id;
        const key = options.keyring?.active;
        try {
          const reply = await thread.ask({
            type: "encode",
            job,
            compression: options.compression,
            level: options.level,
            key: key ? { id: key.id, key: key.key } : undefined,
          }) as Extract<EncoderReply, { type: "encoded" }>;
          return { stored: reply.stored };
        } catch (error) {
          thread.returnTo.delete(job);
          throw error;
        } finally {
          end();
        }
      },
      drop: () => {
        if (ended) return;
        id.then(() => {
          try {
            thread.worker.postMessage({ type: "drop", job } satisfies EncoderRequest);
          } catch { /* the worker ended: nothing is held */ }
        }, () => {});
        end();
      },
    };
  }

  async decode(stored: Uint8Array, id: string, keyring: Keyring | undefined): Promise<Uint8Array> {
    const thread = this.#pick();
    const job = this.#nextJob++;
    const owned = ownBuffer(stored);
    thread.load++;
    this.#cancelIdle();
    try {
      const reply = await thread.ask(
        { type: "decode", job, stored: owned, id, keys: keyClones(keyring) },
        [owned.buffer],
      );
      return (reply as Extract<EncoderReply, { type: "decoded" }>).plain;
    } finally {
      thread.load--;
      this.#scheduleIdle();
    }
  }

  /** Ends every worker now; jobs in flight fail. */
  close(): void {
    this.#cancelIdle();
    for (const thread of this.#threads) this.#end(thread);
    this.#threads = [];
  }

  #pick(): EncoderThread {
    let best: EncoderThread | undefined;
    for (const thread of this.#threads) if (!best || thread.load < best.load) best = thread;
    if (best && (best.load === 0 || this.#threads.length >= this.#size)) return best;
    const thread = new EncoderThread(
      () => this.#scheduleIdle(),
      (crashed) => {
        this.#threads = this.#threads.filter((one) => one !== crashed);
        crashed.worker.terminate();
      },
    );
    this.#threads.push(thread);
    return thread;
  }

  #end(thread: EncoderThread): void {
    thread.fail(new Error("The encoder pool was closed"));
    thread.worker.terminate();
  }

  #scheduleIdle(): void {
    if (this.#idleTimer !== undefined) return;
    if (this.#threads.some((thread) => thread.load > 0 || thread.waiting.size > 0)) return;
    const timer = setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.#threads.every((thread) => thread.load === 0 && thread.waiting.size === 0)) {
        this.close();
      }
    }, this.#idleMs);
    // The timer alone must not keep a finished process alive (the workers do, until it fires).
    Deno.unrefTimer(timer as unknown as number);
    this.#idleTimer = timer;
  }

  #cancelIdle(): void {
    if (this.#idleTimer === undefined) return;
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }
}

let shared: BlobEncoder = inlineEncoder;

/**
 * Sets the process-wide encoder repositories use by default: a pool of `threads` workers, or
 * the inline encoder for 0 (or where this runtime has no workers).
 */
export function useEncodeThreads(threads: number): void {
  if (shared instanceof EncoderPool) shared.close();
  shared = threads > 0 && typeof Worker === "function"
    ? new EncoderPool({ threads })
    : inlineEncoder;
}

/** The process-wide default encoder (inline unless {@link useEncodeThreads} chose a pool). */
export function defaultEncoder(): BlobEncoder {
  return shared;
}

/**
 * Encoder threads worth using here: one per core beyond the second, at most 3. With two cores
 * or fewer, none: since COPY rows are taken off the wire without per-row objects, the main
 * thread has time to encode, and a backup of the 1 GB bench database took as long inline as
 * with a thread while the thread's isolate and its buffers in flight cost 40–55 MB more (bench/README).
 */
export function autoEncodeThreads(): number {
  const cores = typeof navigator === "object" ? navigator.hardwareConcurrency ?? 1 : 1;
  return Math.max(0, Math.min(3, cores - 2));
}
