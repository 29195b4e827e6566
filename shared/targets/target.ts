/**
 * The one storage-target interface every backup destination implements.
 *
 * Keys are relative, slash-separated paths ("blobs/ab/ab12…", "manifests/database/x.json").
 * Implementations: the local filesystem (`file_target.ts`) and S3-compatible stores
 * (`s3_target.ts`); tests also use an in-memory one (`tests/support/memory_target.ts`). Every
 * implementation runs the one contract suite, `tests/support/target_contract.ts`. The errors
 * they raise (`TargetError`, `NotFoundError`, `IntegrityError`) live in
 * `util/errors.ts`, as the codec and the repository raise them too.
 *
 * @module
 */

/** What a target knows about one stored object. */
export interface ObjectInfo {
  /** The key, relative to the target's root. */
  key: string;
  /** Stored size in bytes. */
  size: number;
  /** Last modification time, when the target reports it. */
  lastModified?: Date;
}

/** Options for {@link StorageTarget.save}. */
export interface SaveOptions {
  /** Expected size in bytes; a stream of any other length is rejected and nothing is kept. */
  size?: number;
  /** Expected SHA-256 (lowercase hex); a stream hashing otherwise is rejected and nothing is kept. */
  sha256?: string;
  /** Cancels the write; nothing is kept. */
  signal?: AbortSignal;
}

/** The result of a completed {@link StorageTarget.save}. */
export interface SavedObject {
  key: string;
  size: number;
  /** SHA-256 (lowercase hex) of the bytes stored, computed while streaming. */
  sha256: string;
}

/**
 * Options for {@link StorageTarget.load}. A range reaching past the end is clipped: an offset at
 * or past the end yields an empty stream, a length past the end yields the bytes up to the end.
 */
export interface LoadOptions {
  /** First byte to return (default 0); a non-negative integer. */
  offset?: number;
  /** Number of bytes to return (default: to the end); a non-negative integer. */
  length?: number;
  signal?: AbortSignal;
}

/**
 * A place backups are stored.
 *
 * Contract (checked by the shared suite):
 * - `save` is all-or-nothing: after it rejects (stream error, size or hash mismatch, abort),
 *   no object exists under the key, and a previous object under the key is untouched.
 * - `load` and `stat` reject with `NotFoundError` for a missing key.
 * - `list` yields every object under the prefix, across pages, in no particular order.
 * - `remove` of a missing key succeeds (idempotent).
 * - Keys are relative, slash-separated paths without empty, "." or ".." segments; any other key
 *   is refused with a `TargetError`.
 * - A save cancelled through its signal rejects with the signal's reason (an "AbortError"); a
 *   save whose source stream errors rejects with that error.
 * - A save keeps no reference to a `Uint8Array` body once it has resolved: the caller may reuse
 *   the buffer, or release its memory, at once.
 */
export interface StorageTarget {
  /** Kind of store, for reports and the 3-2-1 check. */
  readonly kind: "file" | "s3";
  /** A printable location with no secrets in it. */
  readonly location: string;
  save(
    key: string,
    body: ReadableStream<Uint8Array> | Uint8Array,
    options?: SaveOptions,
  ): Promise<SavedObject>;
  load(key: string, options?: LoadOptions): Promise<ReadableStream<Uint8Array>>;
  stat(key: string): Promise<ObjectInfo>;
  list(prefix: string, options?: { signal?: AbortSignal }): AsyncIterable<ObjectInfo>;
  remove(key: string): Promise<void>;
  /** Releases connections; the target is unusable afterwards. */
  close(): Promise<void>;
}
