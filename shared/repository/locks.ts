/**
 * Repository locks with expiry: `locks/<name>.json` holding owner, token and expiry time.
 *
 * A lock is held while its object exists, carries our token and has not expired; an expired
 * lock is taken over. Storage targets have no compare-and-swap, so acquisition is best effort:
 * after writing, the lock is read back (after `settleMs`) and acquisition fails if another
 * writer's token is there. Two writers racing within that window on an eventually consistent
 * store could both believe they hold it; prune therefore also keeps a grace period for
 * unreferenced blobs, so a backup racing a prune loses nothing it has not yet referenced.
 *
 * The protocol: every writer (a database backup, a Storage snapshot step) holds a lock of its
 * own while it works (`hold.ts`); prune holds {@link PRUNE_LOCK} and refuses to start, or to
 * sweep, while any other live lock exists; a writer waits while `prune` is live.
 *
 * @module
 */
import type { StorageTarget } from "../targets/target.ts";
import { NotFoundError } from "../util/errors.ts";
import { sha256Hex } from "./digest.ts";

/** What a lock object says. */
export interface LockInfo {
  name: string;
  owner: string;
  /** Random token distinguishing this holder from another with the same owner label. */
  token: string;
  /** ISO 8601. */
  acquiredAt: string;
  /** ISO 8601. */
  expiresAt: string;
}

/** Options for acquiring a lock. */
export interface AcquireLockOptions {
  /** Who holds the lock, for people reading it (e.g. "backup run 42"); not a secret. */
  owner: string;
  /** How long the lock lives without a refresh. */
  ttlMs: number;
  /** Wait before reading the lock back to detect a racing writer (default 0). */
  settleMs?: number;
}

/** The lock is held by someone else (or was lost). */
export class LockedError extends Error {
  constructor(message: string, readonly holder?: LockInfo) {
    super(message);
    this.name = "LockedError";
  }
}

/** The name of the lock a prune holds. */
export const PRUNE_LOCK = "prune";

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** A held lock; refresh it before `expiresAt`, release it when done. */
export class RepositoryLock {
  #info: LockInfo;

  constructor(
    readonly target: StorageTarget,
    info: LockInfo,
    readonly clock: () => number = Date.now,
  ) {
    this.#info = info;
  }

  get name(): string {
    return this.#info.name;
  }

  get owner(): string {
    return this.#info.owner;
  }

  get token(): string {
    return this.#info.token;
  }

  get expiresAt(): Date {
    return new Date(this.#info.expiresAt);
  }

  /** A copy of what the lock object holds. */
  get info(): LockInfo {
    return { ...this.#info };
  }

  /**
   * Extends the lock's life by `ttlMs` from now.
   *
   * @throws {LockedError} when the lock was lost (expired and taken, or removed)
   */
  async refresh(options: { ttlMs: number }): Promise<void> {
    const current = await readLock(this.target, this.name);
    if (!current || current.token !== this.token) {
      throw new LockedError(
        `Lock "${this.name}" is no longer held by "${this.owner}"`,
        current,
      );
    }
    const next = { ...this.#info, expiresAt: new Date(this.clock() + options.ttlMs).toISOString() };
    await writeLock(this.target, next);
    this.#info = next;
  }

  /** Removes the lock if it is still ours; does nothing otherwise. */
  async release(): Promise<void> {
    const current = await readLock(this.target, this.name);
    if (current && current.token === this.token) {
      await this.target.remove(lockKey(this.name));
    }
  }
}

/**
 * Takes the named lock.
 *
 * @throws {LockedError} when a live lock is held by another holder
 */
export async function acquireLock(
  target: StorageTarget,
  name: string,
  options: AcquireLockOptions & { clock?: () => number },
): Promise<RepositoryLock> {
  checkLockName(name);
  if (!(options.ttlMs > 0)) throw new RangeError("Lock ttlMs must be positive");
  const clock = options.clock ?? Date.now;
  const existing = await readLock(target, name);
  if (existing && Date.parse(existing.expiresAt) > clock()) throw heldBy(existing);
  const now = clock();
  const info: LockInfo = {
    name,
    owner: options.owner,
    token: crypto.randomUUID(),
    acquiredAt: new Date(now).toISOString(),
    expiresAt: new Date(now + options.ttlMs).toISOString(),
  };
  await writeLock(target, info);
  if (options.settleMs) await new Promise((resolve) => setTimeout(resolve, options.settleMs));
  const check = await readLock(target, name);
  if (!check || check.token !== info.token) {
    throw check ? heldBy(check) : new LockedError(`Lock "${name}" was taken by another writer`);
  }
  return new RepositoryLock(target, info, clock);
}

/** Every lock object, live or expired, sorted by name. Unreadable objects are skipped. */
export async function listLocks(
  target: StorageTarget,
  options: { includeExpired?: boolean; clock?: () => number } = {},
): Promise<LockInfo[]> {
  const now = (options.clock ?? Date.now)();
  const names: string[] = [];
  for await (const info of target.list("locks/")) {
    const file = info.key.slice("locks/".length);
    if (file.endsWith(".json") && !file.includes("/")) names.push(file.slice(0, -5));
  }
  const locks: LockInfo[] = [];
  for (const name of names.sort()) {
    const lock = await readLock(target, name);
    if (lock && (options.includeExpired || Date.parse(lock.expiresAt) > now)) locks.push(lock);
  }
  return locks;
}

/** Reads a lock object; undefined when missing or unreadable (it is then treated as free). */
export async function readLock(
  target: StorageTarget,
  name: string,
): Promise<LockInfo | undefined> {
  checkLockName(name);
  let text: string;
  try {
    text = await new Response(await target.load(lockKey(name))).text();
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
  try {
    const value = JSON.parse(text);
    if (
      value && typeof value.token === "string" && typeof value.owner === "string" &&
      typeof value.expiresAt === "string" && !Number.isNaN(Date.parse(value.expiresAt))
    ) {
      return { ...value, name } as LockInfo;
    }
  } catch {
    // Unreadable: treated as free.
  }
  return undefined;
}

async function writeLock(target: StorageTarget, info: LockInfo): Promise<void> {
  const bytes = new TextEncoder().encode(JSON.stringify(info) + "\n");
  await target.save(lockKey(info.name), bytes, {
    size: bytes.length,
    sha256: await sha256Hex(bytes),
  });
}

function lockKey(name: string): string {
  return `locks/${name}.json`;
}

function checkLockName(name: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new RangeError(`Lock name "${name}" must be 1-128 of A-Z a-z 0-9 . _ - (not first)`);
  }
}

function heldBy(lock: LockInfo): LockedError {
  return new LockedError(
    `Lock "${lock.name}" is held by "${lock.owner}" until ${lock.expiresAt}`,
    lock,
  );
}
