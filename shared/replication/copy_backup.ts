/**
 * Copies one backup (a manifest and every blob it references) from one repository to
 * another, as stored: blobs are copied byte for byte, never decoded and encoded again, so
 * their ids, sizes and encryption stay what the manifest says.
 *
 * Each blob the destination lacks is read from the source, checked there (its stored size,
 * then decoded and hashed against its id), saved at the destination with the expected size
 * and SHA-256 of the stored bytes, and, unless `readBack` is false, read back from the
 * destination and hashed again. Only when every blob is in place is the manifest copied:
 * a destination never holds a manifest whose blobs it lacks.
 *
 * @module
 */
import { KeyError } from "../codec/encryption.ts";
import { sha256Hex } from "../repository/digest.ts";
import { referencedBlobs } from "../repository/references.ts";
import { blobKey, type BlobRef, manifestKey, type Repository } from "../repository/repository.ts";
import type { StorageTarget } from "../targets/target.ts";
import { IntegrityError, NotFoundError } from "../util/errors.ts";
import { mapLimit } from "../util/concurrency.ts";
import { DestinationIndex } from "./destination_index.ts";

/** Which backup to copy. */
export interface BackupRef {
  /** Manifest kind: database, storage, config, code… */
  kind: string;
  id: string;
}

/** Options for {@link copyBackup}. */
export interface CopyBackupOptions {
  /** Blobs copied at once (default 4). */
  concurrency?: number;
  /** Read every copied blob back from the destination and hash it (default true). */
  readBack?: boolean;
  /** What the destination holds, shared across the backups of one replication. */
  index?: DestinationIndex;
  signal?: AbortSignal;
}

/** What {@link copyBackup} did. */
export interface CopiedBackup extends BackupRef {
  /** Blobs the manifest references. */
  blobs: number;
  /** Blobs copied (the destination lacked them or held them with another size). */
  copiedBlobs: number;
  /** Stored bytes copied. */
  copiedBytes: number;
  /** Whether the manifest was copied or was already there, identical. */
  manifest: "copied" | "present";
}

/** Replication could not complete; the destination got no manifest for this backup. */
export class ReplicationError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ReplicationError";
  }
}

/**
 * Copies a backup from `source` to `destination`, blobs first, manifest last.
 *
 * @throws {ReplicationError} when a source blob is missing, corrupt or unreadable with the
 * keys given, or a copy does not read back identical (the manifest is then not copied)
 * @throws {NotFoundError} when the source has no such manifest
 */
export async function copyBackup(
  source: Repository,
  destination: Repository,
  options: BackupRef & CopyBackupOptions,
): Promise<CopiedBackup> {
  const { kind, id } = options;
  const key = manifestKey(kind, id);
  const manifestBytes = await readAll(await source.target.load(key));
  let manifest: unknown;
  try {
    // Copied as stored (sealed or not); read here only for the blobs it names.
    manifest = await source.decodeManifest(manifestBytes, kind, id);
  } catch (error) {
    if (!(error instanceof IntegrityError || error instanceof KeyError)) throw error;
    throw new ReplicationError(`${error.message} (on ${source.target.location})`);
  }
  const refs = referencedBlobs(manifest);
  const index = options.index ?? new DestinationIndex(destination);
  await index.prepare(refs.length);
  const result: CopiedBackup = {
    kind,
    id,
    blobs: refs.length,
    copiedBlobs: 0,
    copiedBytes: 0,
    manifest: "present",
  };
  await mapLimit(refs, options.concurrency ?? 4, async (ref) => {
    options.signal?.throwIfAborted();
    if ((await index.storedSize(ref.id)) === ref.storedSize) return;
    await copyBlob(source, destination.target, ref, { ...options, label: `${kind}/${id}` });
    index.add(ref.id, ref.storedSize);
    result.copiedBlobs++;
    result.copiedBytes += ref.storedSize;
  });
  options.signal?.throwIfAborted();
  const manifestSha = await sha256Hex(manifestBytes);
  if (!(await sameObject(destination.target, key, manifestBytes.length, manifestSha))) {
    await destination.target.save(key, manifestBytes, {
      size: manifestBytes.length,
      sha256: manifestSha,
      signal: options.signal,
    });
    result.manifest = "copied";
  }
  return result;
}

async function copyBlob(
  source: Repository,
  to: StorageTarget,
  ref: BlobRef,
  options: CopyBackupOptions & { label: string },
): Promise<void> {
  const from = source.target;
  const key = blobKey(ref.id);
  const what = `Blob ${ref.id} of ${options.label} on ${from.location}`;
  let stored: Uint8Array;
  try {
    stored = await readAll(await from.load(key, { signal: options.signal }));
  } catch (error) {
    if (error instanceof NotFoundError) throw new ReplicationError(`${what} is missing`);
    throw error;
  }
  if (stored.length !== ref.storedSize) {
    throw new ReplicationError(
      `${what} is ${stored.length} bytes stored, the manifest says ${ref.storedSize}`,
    );
  }
  try {
    // Decoded as the source reads it (its keys and trust rules), checked against its id; the
    // stored bytes are what is copied.
    const plain = await source.decodeStoredBlob(stored.slice(), ref.id);
    if (plain.length !== ref.size) {
      throw new IntegrityError(`it holds ${plain.length} bytes, the manifest says ${ref.size}`);
    }
  } catch (error) {
    throw new ReplicationError(
      `${what} is refused: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  const sha256 = await sha256Hex(stored);
  await to.save(key, stored, { size: stored.length, sha256, signal: options.signal });
  if (options.readBack ?? true) {
    const copy = await readAll(await to.load(key, { signal: options.signal }));
    if (copy.length !== stored.length || (await sha256Hex(copy)) !== sha256) {
      await to.remove(key).catch(() => {});
      throw new ReplicationError(
        `Blob ${ref.id} did not read back identical from ${to.location}; the copy was removed`,
      );
    }
  }
}

async function sameObject(
  target: StorageTarget,
  key: string,
  size: number,
  sha256: string,
): Promise<boolean> {
  try {
    if ((await target.stat(key)).size !== size) return false;
    return (await sha256Hex(await readAll(await target.load(key)))) === sha256;
  } catch (error) {
    if (error instanceof NotFoundError) return false;
    throw error;
  }
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
