/**
 * A writer's hold on a repository: the lock every backup (database backups, Storage snapshot
 * steps) takes before it reuses or uploads a blob, kept until its manifest is written, so a
 * prune refuses to start or to sweep meanwhile (`shared/retention/prune.ts`), and the writer
 * waits while a prune holds its lock (`PRUNE_LOCK`). The lock is refreshed while the work lasts;
 * when a refresh fails (the lock was lost) the hold's signal aborts, so the work stops before it
 * writes a manifest that might name swept blobs.
 *
 * @module
 */
import { type LockInfo, PRUNE_LOCK, RepositoryLock } from "./locks.ts";
import type { StorageTarget } from "../targets/target.ts";

/** The lock operations a hold needs (the repository, or the Storage engine's port of it). */
export interface LockingRepository {
  readonly target: StorageTarget;
  acquireLock(name: string, options: { owner: string; ttlMs: number }): Promise<RepositoryLock>;
  refreshLock(lock: RepositoryLock, options: { ttlMs: number }): Promise<void>;
  releaseLock(lock: RepositoryLock): Promise<void>;
  listLocks(options?: { includeExpired?: boolean }): Promise<LockInfo[]>;
}

/** A held repository; release it on every exit path. */
export interface RepositoryHold {
  /** The lock's name. */
  readonly name: string;
  /** Aborted when the lock is lost (it could not be refreshed in time). */
  readonly signal: AbortSignal;
  /** Stops refreshing and removes the lock; never throws. */
  release(): Promise<void>;
}

/** Options of {@link holdRepository}. */
export interface HoldOptions {
  /** What writes, first part of the lock's name: `database`, `storage`. */
  kind: string;
  /** The backup or run the hold is for, in the lock's name. */
  id: string;
  /** Who holds it, for people reading the lock ("database backup run …"). */
  owner: string;
  /** Life of the lock between refreshes (default 10 min; refreshed every third of it). */
  ttlMs?: number;
  /** How often to look again while a prune holds the repository (default 5 s). */
  pollMs?: number;
  signal?: AbortSignal;
  /** Stop waiting for a prune when this turns true (a step's budget): undefined is returned. */
  giveUp?: () => boolean;
  /** Told once when a prune keeps the writer waiting. */
  onWait?: (prune: LockInfo) => void;
}

/** Default life of a writer's lock without a refresh. */
export const HOLD_TTL_MS = 10 * 60_000;

/**
 * Takes a lock of the writer's own (`<kind>-<id>-<random>`: a killed writer's lock must not keep
 * the next one out), clears expired locks of the same kind left by killed writers, and waits
 * while a prune holds its lock. Returns undefined when `giveUp` said so while waiting.
 *
 * @throws the signal's reason when aborted while waiting
 */
export async function holdRepository(
  repository: LockingRepository,
  options: HoldOptions,
): Promise<RepositoryHold | undefined> {
  const name = `${options.kind}-${options.id}-${crypto.randomUUID().slice(0, 8)}`;
  const ttlMs = options.ttlMs ?? HOLD_TTL_MS;
  let told = false;
  for (;;) {
    options.signal?.throwIfAborted();
    const lock = await repository.acquireLock(name, { owner: options.owner, ttlMs });
    let locks: LockInfo[];
    try {
      locks = await repository.listLocks({ includeExpired: true });
    } catch (error) {
      await repository.releaseLock(lock).catch(() => {});
      throw error;
    }
    const now = Date.now();
    for (const stale of locks) {
      if (stale.name.startsWith(`${options.kind}-`) && Date.parse(stale.expiresAt) <= now) {
        await repository.releaseLock(new RepositoryLock(repository.target, stale)).catch(() => {});
      }
    }
    const prune = locks.find((held) =>
      held.name === PRUNE_LOCK && Date.parse(held.expiresAt) > now
    );
    if (!prune) return keep(repository, lock, { ttlMs, owner: options.owner });
    await repository.releaseLock(lock).catch(() => {});
    if (!told) {
      options.onWait?.(prune);
      told = true;
    }
    if (options.giveUp?.()) return undefined;
    await pause(options.pollMs ?? 5_000, options.signal);
  }
}

function keep(
  repository: LockingRepository,
  lock: RepositoryLock,
  options: { ttlMs: number; owner: string },
): RepositoryHold {
  const lost = new AbortController();
  let refreshing: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    refreshing = repository.refreshLock(lock, { ttlMs: options.ttlMs }).catch((error) => {
      lost.abort(
        new Error(
          `The ${options.owner} lost its repository lock: ${
            error instanceof Error ? error.message : error
          }`,
        ),
      );
    });
  }, options.ttlMs / 3);
  let released: Promise<void> | undefined;
  return {
    name: lock.name,
    signal: lost.signal,
    release() {
      released ??= (async () => {
        clearInterval(timer);
        await refreshing;
        await repository.releaseLock(lock).catch(() => {});
      })();
      return released;
    },
  };
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener("abort", stop);
      resolve();
    }
    function stop() {
      clearTimeout(timer);
      reject(signal!.reason);
    }
    signal?.addEventListener("abort", stop, { once: true });
  });
}
