/**
 * One object of a bucket walk: referenced as it was in the previous snapshot when its size,
 * ETag and last-modified time match, else read from the source and stored in the repository;
 * an object deleted meanwhile is counted as vanished, one replaced while read is read again.
 *
 * @module
 */
import { entryKey, type ObjectEntry } from "../manifest.ts";
import type { BodyBufferPool } from "../../util/body_buffer_pool.ts";
import type { SnapshotRepository } from "../repository_port.ts";
import { type ListedObject, ObjectChangedError, ObjectVanishedError } from "../source.ts";
import { DEFAULT_CHUNK, type SnapshotContext } from "./context.ts";
import { storeObject } from "./store_object.ts";
import { retry, type RetryPolicy } from "../../util/retry.ts";

/** An object replaced while read in parts is read again at once, from its new version. */
const REREAD: RetryPolicy = { attempts: 3, baseDelayMs: 0 };

/** What became of one listed object. */
export type Outcome =
  | { kind: "copied"; entry: ObjectEntry; storedSize: number }
  | { kind: "skipped"; entry: ObjectEntry }
  | { kind: "vanished" };

/** Where an object's copy goes, and what is known from before. */
export interface ObjectPass {
  repository: SnapshotRepository;
  uncompressed?: SnapshotRepository;
  /** The previous snapshot index (`previous.ts`). */
  previous?: Map<string, ObjectEntry>;
  /** Blobs known to be stored, with their stored sizes. */
  known: Map<string, number>;
  pool: BodyBufferPool;
}

/** Snapshots one listed object: skipped when unchanged, else copied (up to three reads). */
export async function snapshotObject(
  ctx: SnapshotContext,
  pass: ObjectPass,
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
  try {
    return await retry(REREAD, () => {
      signal.throwIfAborted();
      return copyObject(ctx, pass, listed, signal);
    }, { retryError: (error) => error instanceof ObjectChangedError, signal });
  } catch (error) {
    if (error instanceof ObjectVanishedError) return { kind: "vanished" };
    throw error;
  }
}

async function copyObject(
  ctx: SnapshotContext,
  pass: ObjectPass,
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
