/**
 * An object's bytes stored as blobs: one blob when it fits in a chunk (most Storage objects),
 * else one per chunk (`store_chunks.ts`); written uncompressed when the content is known not to
 * compress.
 *
 * @module
 */
import type { BodyBufferPool } from "../../util/body_buffer_pool.ts";
import { isIncompressible } from "../codec_choice.ts";
import type { BlobRef } from "../../repository/repository.ts";
import type { SnapshotRepository } from "../repository_port.ts";
import { storeChunks } from "./store_chunks.ts";

/** SHA-256 of no bytes: the hash of an empty object, which has no blob. */
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/** What {@link storeObject} stored for an object. */
export interface StoredObject {
  blobs: BlobRef[];
  size: number;
  sha256: string;
  /** Stored bytes actually uploaded (the rest was known to be stored). */
  uploadedSize: number;
}

/** Stores one blob; what the repository answers. */
export type PutBlob = (
  bytes: Uint8Array,
) => Promise<{ id: string; size: number; storedSize: number; reused: boolean }>;

/**
 * Stores an object's bytes: one blob, read into one buffer, when it fits in a chunk (most
 * Storage objects: no chunker, no spare buffer), else one blob per chunk (see
 * {@link storeChunks}). Every blob is uploaded without asking first whether it is stored,
 * unless `known` says it is. Each buffer goes back to the pool once its blob is stored (not
 * after a failure: an upload that failed may still be sending from it). Returns what the
 * manifest records.
 */
export async function storeObject(
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
  const put: PutBlob = async (bytes) => {
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
