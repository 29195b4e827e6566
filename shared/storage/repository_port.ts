/**
 * The part of the content-addressed repository (`shared/repository`) the Storage engine uses,
 * stated as an interface so the engine's contract with it is visible in one place.
 *
 * @module
 */

/** A stored blob, as manifests reference it. */
export interface BlobRef {
  id: string;
  size: number;
  storedSize: number;
}

/** The repository operations Storage snapshots and restores rely on. */
export interface SnapshotRepository {
  putBlob(
    plain: Uint8Array,
    options?: { signal?: AbortSignal },
  ): Promise<{ id: string; size: number; storedSize: number; reused: boolean }>;
  loadBlob(id: string): Promise<Uint8Array>;
  writeStream(
    source: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
    options: {
      split: "bytes";
      concurrency?: number;
      signal?: AbortSignal;
      chunking?: { maxSize?: number };
    },
  ): Promise<{
    blobs: BlobRef[];
    size: number;
    sha256: string;
    storedSize: number;
    /** Stored bytes actually uploaded (the rest was already there). */
    uploadedSize?: number;
    reusedBlobs: number;
  }>;
  readStream(blobs: BlobRef[], options?: { prefetch?: number }): ReadableStream<Uint8Array>;
  saveManifest(kind: string, id: string, value: unknown): Promise<unknown>;
  loadManifest(kind: string, id: string): Promise<unknown>;
  listManifests(kind: string): Promise<string[]>;
}
