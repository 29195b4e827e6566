/**
 * The part of the content-addressed repository (`shared/repository`) the Storage engine uses,
 * stated as an interface so the engine's contract with it is visible in one place.
 *
 * @module
 */
import type { LockInfo, RepositoryLock } from "../repository/locks.ts";
import type { BlobRef } from "../repository/repository.ts";
import type { StorageTarget } from "../targets/target.ts";

/** The repository operations Storage snapshots and restores rely on. */
export interface SnapshotRepository {
  readonly target: StorageTarget;
  putBlob(
    plain: Uint8Array,
    options?: {
      signal?: AbortSignal;
      /** The caller gives `plain` up (it may be moved to an encoder thread). */
      transfer?: boolean;
      /** Blobs known to be stored (id → stored size): referenced with no request. */
      known?: Map<string, number>;
      /** Upload without asking whether the blob is stored. */
      assumeAbsent?: boolean;
    },
  ): Promise<{ id: string; size: number; storedSize: number; reused: boolean }>;
  loadBlob(id: string): Promise<Uint8Array>;
  /** Blobs verification marked damaged: never referenced as stored. */
  damagedBlobs(): Promise<ReadonlySet<string>>;
  readStream(blobs: BlobRef[], options?: { prefetch?: number }): ReadableStream<Uint8Array>;
  saveManifest(kind: string, id: string, value: unknown): Promise<unknown>;
  loadManifest(kind: string, id: string): Promise<unknown>;
  listManifests(kind: string): Promise<string[]>;
  acquireLock(name: string, options: { owner: string; ttlMs: number }): Promise<RepositoryLock>;
  refreshLock(lock: RepositoryLock, options: { ttlMs: number }): Promise<void>;
  releaseLock(lock: RepositoryLock): Promise<void>;
  listLocks(options?: { includeExpired?: boolean }): Promise<LockInfo[]>;
}
