/**
 * A large object stored as fixed-size chunks, one blob each.
 *
 * @module
 */
import { StreamHash } from "../../repository/digest.ts";
import type { BodyBufferPool } from "../../util/body_buffer_pool.ts";
import type { BlobRef } from "../../repository/repository.ts";
import type { PutBlob, StoredObject } from "./store_object.ts";

/**
 * Stores a large object as blobs of `chunkSize` bytes cut at fixed offsets (the last one
 * shorter), one at a time while the source reads the next part ahead. The source's parts are
 * chunk-sized already, so they are stored as they come, without a copy; other piece sizes are
 * gathered. The cut is the repository's `splitBytes` with the same size, so blob ids, and
 * deduplication with snapshots written through it, are the same.
 */
export async function storeChunks(
  put: PutBlob,
  first: Uint8Array | undefined,
  rest: AsyncIterator<Uint8Array>,
  options: { chunkSize: number; pool: BodyBufferPool },
): Promise<StoredObject> {
  const { chunkSize, pool } = options;
  const whole = new StreamHash();
  const blobs: BlobRef[] = [];
  let size = 0;
  let uploadedSize = 0;
  let buffer: Uint8Array | undefined;
  let filled = 0;
  const store = async (chunk: Uint8Array) => {
    const blob = await put(chunk);
    blobs.push({ id: blob.id, size: blob.size, storedSize: blob.storedSize });
    if (!blob.reused) uploadedSize += blob.storedSize;
  };
  const take = async (piece: Uint8Array) => {
    // Hashed before it is stored: storing may hand the buffer to another thread.
    whole.update(piece);
    size += piece.length;
    if (filled === 0 && piece.length === chunkSize) return await store(piece);
    for (let at = 0; at < piece.length;) {
      buffer ??= pool.take(chunkSize);
      const take = Math.min(chunkSize - filled, piece.length - at);
      buffer.set(piece.subarray(at, at + take), filled);
      filled += take;
      at += take;
      if (filled === chunkSize) {
        const full = buffer;
        buffer = undefined;
        filled = 0;
        await store(full);
      }
    }
    pool.give(piece);
  };
  if (first) await take(first);
  for (;;) {
    const next = await rest.next();
    if (next.done) break;
    await take(next.value);
  }
  if (filled > 0) await store(buffer!.subarray(0, filled));
  return { blobs, size, sha256: whole.hex(), uploadedSize };
}
