/**
 * The content-addressed repository that database backups and Storage snapshots write into.
 *
 * ```
 * blobs/<sha256[0:2]>/<sha256>   data, named by the SHA-256 of its plaintext, in the blob format
 * manifests/<kind>/<id>.json     the roots: a backup exists once its manifest exists (JSON,
 *                                sealed in the blob format when the repository has keys)
 * locks/<name>.json              who is writing or pruning, with expiry
 * damaged/<sha256>.json          blobs verification found damaged: the next write of the same
 *                                content uploads it again instead of referencing the damage
 * ```
 *
 * A blob found stored is referenced only when it still looks like what was stored: its header
 * (read with a small ranged request) names the plaintext size of the content being written,
 * the stored size it implies is the size stored, and it is sealed as the repository's keys
 * expect. Otherwise — truncated, padded, swapped for a plain blob, marked damaged — the content
 * is stored again under the same name, which heals every earlier backup referencing it.
 *
 * A blob that already exists is referenced, never uploaded again. Every blob read is decoded
 * and re-hashed against its id. Streams are cut into blobs by the chunkers and written with a
 * bounded number of blobs in flight, so memory stays about `(concurrency + 1) × maxSize`.
 *
 * @module
 */
import type { ChunkBufferPool } from "../util/chunk_buffer_pool.ts";
import { type EncodeBlobOptions, plaintextRefused, readBlobHeader } from "../codec/blob_format.ts";
import { type BlobEncoder, type BlobJob, defaultEncoder } from "../codec/encoder.ts";
import { type CompressionName, defaultCompression } from "../codec/compression.ts";
import { KeyError, type Keyring } from "../codec/encryption.ts";
import type { StorageTarget } from "../targets/target.ts";
import { IntegrityError, NotFoundError } from "../util/errors.ts";
import { type ByteSource, type ChunkingOptions, splitBytes, splitRows } from "./chunker.ts";
import { isSha256Hex, sha256Hex } from "./digest.ts";
import { releaseBuffer } from "../util/release_buffer.ts";
import { decodeManifest, encodeManifest, type OpenedManifest } from "./manifest_codec.ts";
import { markAuthenticated } from "./authenticity.ts";
import {
  acquireLock,
  type AcquireLockOptions,
  listLocks,
  type LockInfo,
  type RepositoryLock,
} from "./locks.ts";

/** A stored blob as manifests reference it. */
export interface BlobRef {
  /** SHA-256 of the plaintext, lowercase hex. */
  id: string;
  /** Plaintext size in bytes. */
  size: number;
  /** Size of the stored (compressed, maybe encrypted) object in bytes. */
  storedSize: number;
}

/** The result of {@link Repository.putBlob}. */
export interface PutBlobResult extends BlobRef {
  /** True when the blob was already stored and nothing was uploaded. */
  reused: boolean;
}

/** Options for {@link Repository.putBlob}. */
export interface PutBlobOptions {
  signal?: AbortSignal;
  /** The caller gives `plain` up: the encoder may take its buffer instead of copying it. */
  transfer?: boolean;
  /**
   * Blobs the caller knows are stored, by id, with their stored size. A blob found here is
   * referenced with no request at all; every blob this call stores (or finds stored) is added.
   * The caller answers for what it puts here: that the blobs exist and that a prune cannot
   * sweep them before its manifest lands (Storage snapshots seed it with the blobs of the
   * previous snapshots they build on, and hold a repository lock while they run).
   */
  known?: Map<string, number>;
  /**
   * Upload without asking first whether the blob is stored: one request instead of two for a
   * blob that is probably new. Storing identical content again is harmless (same key, same
   * bytes) and gives the object a fresh modification time, which prune's grace period counts
   * from.
   */
  assumeAbsent?: boolean;
}

/** Options for {@link Repository}. */
export interface RepositoryOptions {
  /** Codec for new blobs (default: zstd when this runtime has it, else gzip). */
  compression?: CompressionName;
  /** Compression level for new blobs (codec default when omitted). */
  level?: number;
  /** When set, new blobs are encrypted with its active key and any of its keys can read. */
  keyring?: Keyring;
  /**
   * With `keyring` set, also read plain manifests, unbound sealed ones and unencrypted blobs
   * (stored before keys were set), as unauthenticated: the explicit opt-in. Without it they
   * are refused, since anyone who can write to the target can write them.
   */
  acceptUnauthenticated?: boolean;
  /** Milliseconds since the epoch; for lock expiry (tests). */
  clock?: () => number;
  /** Where blobs are hashed and encoded (default: the process-wide encoder, see `encoder.ts`). */
  encoder?: BlobEncoder;
}

/** Options for {@link Repository.writeStream}. */
export interface WriteStreamOptions {
  /**
   * "rows" for COPY text output (cut at row ends by content), "bytes" for binary objects,
   * "chunked" when the source already yields one blob's content per piece (see `RowCutter`).
   */
  split: "rows" | "bytes" | "chunked";
  /** Blobs hashed, compressed and uploaded at the same time (default 4). */
  concurrency?: number;
  /** Chunk sizes (defaults: 1 / 4 / 8 MiB). */
  chunking?: ChunkingOptions;
  /**
   * "chunked" sources whose pieces are views of this pool's buffers: each buffer goes back to
   * it once its blob is encoded or found already stored.
   */
  recycle?: ChunkBufferPool;
  /** Cancels the write; blobs already stored stay (unreferenced until a manifest names them). */
  signal?: AbortSignal;
}

/** The result of {@link Repository.writeStream}. */
export interface WriteStreamResult {
  /** The blobs in stream order; concatenated, their plaintexts are the stream. */
  blobs: BlobRef[];
  /** Plaintext bytes in the stream. */
  size: number;
  /** SHA-256 of the whole plaintext stream, lowercase hex. */
  sha256: string;
  /** Sum of the blobs' stored sizes (reused ones included). */
  storedSize: number;
  /** Stored bytes actually uploaded by this call. */
  uploadedSize: number;
  /** How many of the blobs were already stored. */
  reusedBlobs: number;
}

/** Options for {@link Repository.readStream}. */
export interface ReadStreamOptions {
  /** Blobs loaded ahead of the reader (default 2). */
  prefetch?: number;
  signal?: AbortSignal;
}

/** Options for {@link Repository.verifyBlob}. */
export interface VerifyBlobOptions {
  /** Load, decode and re-hash the blob; otherwise only check it exists with the right size. */
  deep?: boolean;
}

/** Why a blob failed verification. */
export type BlobProblem = "missing" | "size" | "corrupt" | "key";

/** The outcome of {@link Repository.verifyBlob}. */
export type BlobCheck =
  | { id: string; ok: true; storedSize: number }
  | { id: string; ok: false; problem: BlobProblem; message: string };

/** A stored blob as listed by {@link Repository.listBlobObjects}. */
export interface BlobObject {
  id: string;
  storedSize: number;
  lastModified?: Date;
}

/** What {@link Repository.saveManifest} stored. */
export interface SavedManifest {
  key: string;
  size: number;
  sha256: string;
}

const KIND_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const MANIFEST_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/;

/** A content-addressed repository over one storage target. */
export class Repository {
  /** The codec new blobs are written with. */
  readonly compression: CompressionName;
  readonly #target: StorageTarget;
  readonly #level?: number;
  readonly #keyring?: Keyring;
  readonly #acceptUnauthenticated: boolean;
  readonly #clock: () => number;
  readonly #encoder: BlobEncoder;
  /** Blobs being stored right now, so the same content in flight twice is stored once. */
  readonly #inFlight = new Map<string, Promise<PutBlobResult>>();
  /** Blobs marked damaged on the target, listed once per repository (see `damaged/`). */
  #damaged?: Promise<Set<string>>;

  constructor(target: StorageTarget, options: RepositoryOptions = {}) {
    this.#target = target;
    this.compression = options.compression ?? defaultCompression();
    this.#level = options.level;
    this.#keyring = options.keyring;
    this.#acceptUnauthenticated = options.acceptUnauthenticated ?? false;
    this.#clock = options.clock ?? Date.now;
    this.#encoder = options.encoder ?? defaultEncoder();
  }

  /** The storage target underneath. */
  get target(): StorageTarget {
    return this.#target;
  }

  /** Whether new blobs are encrypted. */
  get encrypted(): boolean {
    return this.#keyring !== undefined;
  }

  // ---- Blobs ----------------------------------------------------------------------------

  /**
   * Stores one blob, unless a blob with the same content is already stored (asked of the
   * target, unless `options` say the answer is known).
   *
   * The stored bytes are checked by the target against their size and SHA-256 while saving.
   */
  putBlob(plain: Uint8Array, options: PutBlobOptions = {}): Promise<PutBlobResult> {
    const job = this.#encoder.begin(plain, this.#encodeOptions(), { transfer: options.transfer });
    return this.#putJob(job, options);
  }

  async #putJob(job: BlobJob, options: PutBlobOptions): Promise<PutBlobResult> {
    let id: string;
    try {
      id = await job.id;
    } catch (error) {
      job.drop();
      throw error;
    }
    const storedSize = options.known?.get(id);
    if (storedSize !== undefined && !(await this.damagedBlobs()).has(id)) {
      job.drop();
      return { id, size: job.size, storedSize, reused: true };
    }
    return this.#put(id, job, options);
  }

  #encodeOptions(): EncodeBlobOptions {
    return { compression: this.compression, level: this.#level, keyring: this.#keyring };
  }

  #put(id: string, job: BlobJob, options: PutBlobOptions): Promise<PutBlobResult> {
    const pending = this.#inFlight.get(id);
    if (pending) {
      job.drop();
      return pending.then((result) => ({ ...result, reused: true }));
    }
    const work = this.#store(id, job, options).finally(() => {
      job.drop();
      this.#inFlight.delete(id);
    });
    this.#inFlight.set(id, work);
    return work;
  }

  async #store(id: string, job: BlobJob, options: PutBlobOptions): Promise<PutBlobResult> {
    const { signal, known } = options;
    const key = blobKey(id);
    const damaged = await this.damagedBlobs();
    if (!options.assumeAbsent && !damaged.has(id)) {
      try {
        const info = await this.#target.stat(key);
        if (await this.#storedAsExpected(id, job.size, info.size)) {
          known?.set(id, info.size);
          return { id, size: job.size, storedSize: info.size, reused: true };
        }
      } catch (error) {
        if (!(error instanceof NotFoundError)) throw error;
      }
    }
    signal?.throwIfAborted();
    const { stored, inPlaintext } = await job.encode();
    signal?.throwIfAborted();
    await this.#target.save(key, stored, { size: stored.length, signal });
    known?.set(id, stored.length);
    if (damaged.delete(id)) await this.#target.remove(damagedKey(id));
    const storedSize = stored.length;
    // Saved: the encoded copy (ours alone unless framed in the plaintext) is done with.
    if (!inPlaintext) releaseBuffer(stored);
    return { id, size: job.size, storedSize, reused: false };
  }

  /**
   * Whether the blob stored under `id` (`storedSize` bytes) can be referenced for content of
   * `plainSize` bytes: its header says that plaintext size and exactly the stored size, and it
   * is sealed with a configured key when the repository has keys (plain, under the opt-in, is
   * read but never kept: new content is sealed). Payload damage that keeps the sizes is
   * verification's to find (`markDamaged`).
   */
  async #storedAsExpected(id: string, plainSize: number, storedSize: number): Promise<boolean> {
    let header;
    try {
      const head = await readAll(await this.#target.load(blobKey(id), { length: HEADER_PROBE }));
      header = readBlobHeader(head, { label: id });
    } catch (error) {
      if (error instanceof IntegrityError) return false;
      throw error;
    }
    if (header.plainSize !== plainSize) return false;
    if (header.headerSize + header.payloadSize !== storedSize) return false;
    if (!this.#keyring) return header.keyId === undefined;
    return header.keyId !== undefined && this.#keyring.get(header.keyId) !== undefined;
  }

  /**
   * The blobs marked damaged on the target (listed on first use, then kept up to date by this
   * repository): a write of their content stores it again rather than referencing them.
   */
  damagedBlobs(): Promise<Set<string>> {
    this.#damaged ??= (async () => {
      const ids = new Set<string>();
      for await (const info of this.#target.list("damaged/")) {
        const file = info.key.slice("damaged/".length);
        const id = file.endsWith(".json") ? file.slice(0, -".json".length) : "";
        if (isSha256Hex(id)) ids.add(id);
      }
      return ids;
    })();
    // A failed listing is not remembered: the next write asks again.
    this.#damaged.catch(() => (this.#damaged = undefined));
    return this.#damaged;
  }

  /**
   * Records that a blob is damaged (verification read it back and it did not decode to its
   * id, or held the wrong size), so the next backup of the same content stores it again. The
   * damaged bytes stay where they are until then: nothing readable is removed.
   */
  async markDamaged(id: string, finding: { problem: BlobProblem; message: string }): Promise<void> {
    checkBlobId(id);
    const body = new TextEncoder().encode(
      JSON.stringify({ id, ...finding, at: new Date(this.#clock()).toISOString() }) + "\n",
    );
    await this.#target.save(damagedKey(id), body, { size: body.length });
    (await this.damagedBlobs().catch(() => undefined))?.add(id);
  }

  /**
   * Loads, decodes and verifies one blob.
   *
   * @throws {NotFoundError} when the blob is not stored
   * @throws {IntegrityError} when it is corrupt or its content does not hash to its id
   * @throws {KeyError} when it is encrypted with a key that is not configured
   */
  async loadBlob(id: string, options: { signal?: AbortSignal } = {}): Promise<Uint8Array> {
    checkBlobId(id);
    const stream = await this.#target.load(blobKey(id), { signal: options.signal });
    return await this.decodeStoredBlob(await readAll(stream), id);
  }

  /**
   * Decodes a blob's stored bytes as {@link loadBlob} does (keys, trust rules, hash against its
   * id). `stored` is given up.
   */
  async decodeStoredBlob(stored: Uint8Array, id: string): Promise<Uint8Array> {
    checkBlobId(id);
    return await this.#encoder.decode(stored, id, this.#keysFor(stored, id));
  }

  /**
   * The keys to open a stored blob with: the keyring for an encrypted one; none for a plain
   * one, which with keys configured is read only under the opt-in.
   *
   * @throws {IntegrityError} for a plain blob while keys are configured, without the opt-in
   */
  #keysFor(stored: Uint8Array, id: string): Keyring | undefined {
    if (!this.#keyring) return undefined;
    if (readBlobHeader(stored, { label: id }).keyId !== undefined) return this.#keyring;
    if (this.#acceptUnauthenticated) return undefined;
    throw plaintextRefused(`Blob ${id}`);
  }

  /** Whether a blob is stored (existence only). */
  async hasBlob(id: string): Promise<boolean> {
    checkBlobId(id);
    try {
      await this.#target.stat(blobKey(id));
      return true;
    } catch (error) {
      if (error instanceof NotFoundError) return false;
      throw error;
    }
  }

  /**
   * Checks one blob: that it exists with the expected stored size, and with `deep` that it
   * decodes and hashes to its id (and has the expected plaintext size). Never throws for a
   * bad blob: the answer says what is wrong; errors of the target itself do throw.
   */
  async verifyBlob(blob: string | BlobRef, options: VerifyBlobOptions = {}): Promise<BlobCheck> {
    const ref = typeof blob === "string" ? { id: blob } : blob;
    const { id } = ref;
    checkBlobId(id);
    let storedSize: number;
    try {
      storedSize = (await this.#target.stat(blobKey(id))).size;
    } catch (error) {
      if (error instanceof NotFoundError) {
        return { id, ok: false, problem: "missing", message: `Blob ${id} is missing` };
      }
      throw error;
    }
    if ("storedSize" in ref && ref.storedSize !== storedSize) {
      return {
        id,
        ok: false,
        problem: "size",
        message: `Blob ${id} is ${storedSize} bytes stored, expected ${ref.storedSize}`,
      };
    }
    if (options.deep) {
      try {
        const plain = await this.loadBlob(id);
        if ("size" in ref && ref.size !== plain.length) {
          return {
            id,
            ok: false,
            problem: "size",
            message: `Blob ${id} holds ${plain.length} bytes, expected ${ref.size}`,
          };
        }
      } catch (error) {
        if (error instanceof IntegrityError) {
          return { id, ok: false, problem: "corrupt", message: error.message };
        }
        if (error instanceof KeyError) {
          return { id, ok: false, problem: "key", message: error.message };
        }
        if (error instanceof NotFoundError) {
          return { id, ok: false, problem: "missing", message: `Blob ${id} is missing` };
        }
        throw error;
      }
    }
    return { id, ok: true, storedSize };
  }

  /** Every stored blob id, in no particular order. */
  async *listBlobs(options: { signal?: AbortSignal } = {}): AsyncGenerator<string> {
    for await (const blob of this.listBlobObjects(options)) yield blob.id;
  }

  /** Every stored blob with its stored size and modification time (for prune's grace period). */
  async *listBlobObjects(options: { signal?: AbortSignal } = {}): AsyncGenerator<BlobObject> {
    for await (const info of this.#target.list("blobs/", options)) {
      const id = info.key.slice(info.key.lastIndexOf("/") + 1);
      if (isSha256Hex(id) && info.key === blobKey(id)) {
        yield { id, storedSize: info.size, lastModified: info.lastModified };
      }
    }
  }

  /** Removes a blob (missing is fine). Only prune should call this. */
  async removeBlob(id: string): Promise<void> {
    checkBlobId(id);
    await this.#target.remove(blobKey(id));
  }

  // ---- Streams --------------------------------------------------------------------------

  /**
   * Cuts a stream into blobs and stores them, reading ahead while earlier blobs are hashed,
   * compressed and uploaded, with at most `concurrency` blobs in flight.
   *
   * On failure or abort, reading stops, the source is cancelled, blobs in flight settle, and
   * the first error is thrown.
   */
  async writeStream(source: ByteSource, options: WriteStreamOptions): Promise<WriteStreamResult> {
    const concurrency = options.concurrency ?? 4;
    if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
      throw new RangeError(`Concurrency must be a positive integer, got ${concurrency}`);
    }
    const abort = new AbortController();
    const outer = options.signal;
    const onAbort = () => abort.abort(outer?.reason);
    outer?.addEventListener("abort", onAbort, { once: true });
    const signal = abort.signal;
    const chunks = options.split === "rows"
      ? splitRows(source, options.chunking)
      : options.split === "bytes"
      ? splitBytes(source, options.chunking)
      : source as AsyncIterable<Uint8Array>;

    const whole = this.#encoder.openStream();
    const blobs: BlobRef[] = [];
    const inFlight = new Set<Promise<void>>();
    let failed = false;
    let failure: unknown;
    let size = 0;
    let storedSize = 0;
    let uploadedSize = 0;
    let reusedBlobs = 0;
    const fail = (error: unknown) => {
      if (!failed) {
        failed = true;
        failure = error;
        abort.abort(error);
      }
    };

    try {
      outer?.throwIfAborted();
      let index = 0;
      for await (const chunk of chunks) {
        if (failed) break;
        signal.throwIfAborted();
        size += chunk.length;
        const at = index++;
        // Chunks are fresh buffers nobody else holds (or views of the pool's): the encoder
        // may take them.
        const job = whole.begin(chunk, this.#encodeOptions(), {
          transfer: true,
          recycle: options.recycle,
        });
        const task: Promise<void> = this.#putJob(job, { signal }).then(
          (result) => {
            blobs[at] = { id: result.id, size: result.size, storedSize: result.storedSize };
            storedSize += result.storedSize;
            if (result.reused) reusedBlobs++;
            else uploadedSize += result.storedSize;
          },
          fail,
        ).finally(() => inFlight.delete(task));
        inFlight.add(task);
        while (inFlight.size >= concurrency && !failed) await Promise.race(inFlight);
      }
    } catch (error) {
      fail(error);
    } finally {
      await Promise.all(inFlight);
      outer?.removeEventListener("abort", onAbort);
    }
    if (failed) {
      whole.cancel();
      throw failure;
    }
    const sha256 = await whole.digest();
    return { blobs, size, sha256, storedSize, uploadedSize, reusedBlobs };
  }

  /**
   * Reads blobs back as one stream, each verified against its id (and its size in the ref)
   * before any of its bytes are delivered, loading up to `prefetch` blobs ahead.
   */
  readStream(
    blobs: readonly BlobRef[],
    options: ReadStreamOptions = {},
  ): ReadableStream<Uint8Array> {
    const prefetch = Math.max(0, options.prefetch ?? 2);
    const abort = new AbortController();
    const outer = options.signal;
    const onAbort = () => abort.abort(outer?.reason);
    outer?.addEventListener("abort", onAbort, { once: true });
    const queue: Promise<Uint8Array>[] = [];
    let next = 0;
    const fill = () => {
      while (queue.length <= prefetch && next < blobs.length) {
        const ref = blobs[next++];
        const load = this.loadBlob(ref.id, { signal: abort.signal }).then((plain) => {
          if (plain.length !== ref.size) {
            throw new IntegrityError(
              `Blob ${ref.id} holds ${plain.length} bytes, the manifest says ${ref.size}`,
            );
          }
          return plain;
        });
        load.catch(() => {}); // Reported when the reader reaches it.
        queue.push(load);
      }
    };
    const finish = () => outer?.removeEventListener("abort", onAbort);
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        try {
          for (;;) {
            outer?.throwIfAborted();
            fill();
            const head = queue.shift();
            if (!head) {
              finish();
              controller.close();
              return;
            }
            const plain = await head;
            outer?.throwIfAborted();
            fill();
            if (plain.length > 0) {
              controller.enqueue(plain);
              return;
            }
          }
        } catch (error) {
          abort.abort(error);
          finish();
          throw error;
        }
      },
      cancel: (reason) => {
        abort.abort(reason);
        finish();
      },
    }, { highWaterMark: 0 });
  }

  // ---- Manifests ------------------------------------------------------------------------

  /**
   * Stores a manifest under `manifests/<kind>/<id>.json`, replacing any previous one: JSON,
   * sealed in the blob format when the repository has keys (`manifest_codec.ts`). Callers write
   * it last, once every blob it references is stored.
   */
  async saveManifest(
    kind: string,
    id: string,
    value: unknown,
    options: { signal?: AbortSignal } = {},
  ): Promise<SavedManifest> {
    const key = manifestKey(kind, id);
    const bytes = await encodeManifest(value, { ...this.#encodeOptions(), kind, id });
    const sha256 = await sha256Hex(bytes);
    await this.#target.save(key, bytes, { size: bytes.length, sha256, signal: options.signal });
    return { key, size: bytes.length, sha256 };
  }

  /**
   * Loads a manifest, opening it with the repository's keys when it is sealed. A value opened
   * from an authenticated seal is marked so (`authenticity.ts`).
   *
   * @throws {NotFoundError} when there is none
   * @throws {IntegrityError} when it is not valid JSON; sealed and corrupt or bound to another
   *   name; or, with keys configured, plain or unbound (without the opt-in)
   * @throws {KeyError} when it is sealed with a key that is not configured
   */
  async loadManifest<T = unknown>(kind: string, id: string): Promise<T> {
    return (await this.openManifest(kind, id)).value as T;
  }

  /** Loads a manifest (as {@link loadManifest}) and says whether it is authenticated. */
  async openManifest(kind: string, id: string): Promise<OpenedManifest> {
    const key = manifestKey(kind, id);
    const stored = new Uint8Array(await new Response(await this.#target.load(key)).arrayBuffer());
    return await this.openStoredManifest(stored, kind, id);
  }

  /** A manifest's value from its stored bytes (as {@link loadManifest} reads them). */
  async decodeManifest<T = unknown>(stored: Uint8Array, kind: string, id: string): Promise<T> {
    return (await this.openStoredManifest(stored, kind, id)).value as T;
  }

  /** A manifest from its stored bytes, and whether it is authenticated. */
  async openStoredManifest(stored: Uint8Array, kind: string, id: string): Promise<OpenedManifest> {
    const opened = await decodeManifest(stored, {
      keyring: this.#keyring,
      kind,
      id,
      acceptUnauthenticated: this.#acceptUnauthenticated,
    });
    if (opened.authenticated && typeof opened.value === "object" && opened.value !== null) {
      markAuthenticated(opened.value);
    }
    return opened;
  }

  /** The ids of every manifest of a kind, sorted. */
  async listManifests(kind: string): Promise<string[]> {
    checkKind(kind);
    const prefix = `manifests/${kind}/`;
    const ids: string[] = [];
    for await (const info of this.#target.list(prefix)) {
      const file = info.key.slice(prefix.length);
      if (!file.includes("/") && file.endsWith(".json")) {
        const id = file.slice(0, -".json".length);
        if (MANIFEST_ID_PATTERN.test(id)) ids.push(id);
      }
    }
    return ids.sort();
  }

  /** Removes a manifest (missing is fine). */
  async removeManifest(kind: string, id: string): Promise<void> {
    await this.#target.remove(manifestKey(kind, id));
  }

  // ---- Locks ----------------------------------------------------------------------------

  /**
   * Takes a named lock with expiry (best effort on object stores: see `locks.ts`).
   *
   * @throws {LockedError} when another holder has a live lock of that name
   */
  acquireLock(name: string, options: AcquireLockOptions): Promise<RepositoryLock> {
    return acquireLock(this.#target, name, { clock: this.#clock, ...options });
  }

  /** Extends a held lock; throws {@link LockedError} when it was lost. */
  refreshLock(lock: RepositoryLock, options: { ttlMs: number }): Promise<void> {
    return lock.refresh(options);
  }

  /** Releases a lock if still held. */
  releaseLock(lock: RepositoryLock): Promise<void> {
    return lock.release();
  }

  /** Live locks (and expired ones with `includeExpired`), sorted by name. */
  listLocks(options: { includeExpired?: boolean } = {}): Promise<LockInfo[]> {
    return listLocks(this.#target, { clock: this.#clock, ...options });
  }
}

/** The target key of a blob. */
export function blobKey(id: string): string {
  return `blobs/${id.slice(0, 2)}/${id}`;
}

/** The target key of a blob's damage marker. */
function damagedKey(id: string): string {
  return `damaged/${id}.json`;
}

/** Bytes read to see a stored blob's header: more than the largest header (291 bytes). */
const HEADER_PROBE = 512;

/** The target key of a manifest. */
export function manifestKey(kind: string, id: string): string {
  checkKind(kind);
  if (!MANIFEST_ID_PATTERN.test(id)) {
    throw new RangeError(
      `Manifest id "${id}" must be 1-200 of A-Z a-z 0-9 . _ : - (letter or digit first)`,
    );
  }
  return `manifests/${kind}/${id}.json`;
}

function checkKind(kind: string): void {
  if (!KIND_PATTERN.test(kind)) {
    throw new RangeError(`Manifest kind "${kind}" must be 1-64 of a-z 0-9 _ -`);
  }
}

function checkBlobId(id: string): void {
  if (!isSha256Hex(id)) throw new RangeError(`Blob id "${id}" is not a lowercase SHA-256`);
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const part of stream) {
    parts.push(part);
    total += part.length;
  }
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
