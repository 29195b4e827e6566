/**
 * Prune: remove the backups retention no longer keeps, then the blobs no manifest references
 * (mark and sweep), without ever losing what a live or landing backup needs.
 *
 * Safety, in order:
 * 1. Health: refused while backups of a pruned kind are failing or stale (`health.ts`).
 * 2. Lock: the prune holds the repository lock `prune` and refuses while any other live lock
 *    exists (a database backup or Storage snapshot step holds one while it writes:
 *    `repository/hold.ts`). Locks on object stores are best effort (no compare-and-swap; see
 *    `repository/locks.ts`).
 * 3. Grace period: unreferenced blobs younger than `graceMs` are kept, so a backup that has
 *    stored blobs but not yet its manifest loses nothing, lock or no lock.
 * 4. Re-mark: after removing manifests and just before sweeping, manifests are listed again;
 *    any that landed meanwhile add their references, and a new live lock skips the sweep.
 * 5. Safety keeps of the plan: the newest complete full backup of each kind, undated and
 *    future-dated backups, and every manifest of a kind without a policy; partial, safety and
 *    other-database backups never take a full backup's slot (`plan.ts`).
 *
 * A writer that holds its lock cannot reuse an old unreferenced blob (past the grace period)
 * that the sweep is removing: it waits for the prune's lock to go before it starts. What stays
 * open is between the steps of a budgeted run, which hold no lock: a blob reused in one step
 * and swept before the last is caught when the last step checks every blob before the manifest.
 *
 * @module
 */
import { type LockInfo, PRUNE_LOCK, type RepositoryLock } from "../repository/locks.ts";
import type { Repository } from "../repository/repository.ts";
import type { RunKind } from "../runs/mod.ts";
import {
  type Holdings,
  listManifestKeys,
  loadCatalogManifest,
  manifestKinds,
  readHoldings,
  splitKey,
} from "./holdings.ts";
import { backupHealth, type RunHistory } from "./health.ts";
import { mapLimit } from "../util/concurrency.ts";
import { planPrune, type PrunePlan } from "./plan.ts";
import type { RetentionPolicy } from "../config/retention_policy.ts";

/** The name of the lock a prune holds (defined with the locks, which writers check). */
export { PRUNE_LOCK };

/** Default grace period for unreferenced blobs: 24 hours. */
export const DEFAULT_GRACE_MS = 24 * 3_600_000;

/** Default freshness window of a kind when none is given: 24 hours. */
export const DEFAULT_FRESHNESS_MS = 24 * 3_600_000;

/** Options for {@link prune}. */
export interface PruneOptions {
  /** The policy of each kind retention thins out; manifests of other kinds are all kept. */
  policies: Readonly<Record<string, RetentionPolicy>>;
  /** The policy of partial, safety and other-database backups, each class on its own. */
  classPolicy?: RetentionPolicy;
  /** `backup_runs` (the run store), to refuse while backups fail. */
  history: RunHistory;
  /** Freshness window per kind: the latest succeeded run must be newer (default 24 h). */
  freshnessMs?: Readonly<Partial<Record<string, number>>>;
  /** Unreferenced blobs younger than this are kept (default 24 h). */
  graceMs?: number;
  /** Report the plan, change nothing (takes no lock). */
  dryRun?: boolean;
  /** Life of the prune lock between refreshes (default 15 min). */
  lockTtlMs?: number;
  /** Who prunes, written in the lock for people reading it (default "prune"). */
  owner?: string;
  /** Removals in flight at once (default 8). */
  concurrency?: number;
  /** The current time (tests). */
  clock?: () => Date;
  signal?: AbortSignal;
}

/** What a prune did (or, in a dry run, would do). */
export interface PruneReport {
  dryRun: boolean;
  plan: PrunePlan;
  /** `kind/id` of every manifest removed. */
  removedManifests: string[];
  removedBlobs: number;
  removedBytes: number;
  /** Blobs planned for removal but kept: a manifest that landed during the prune names them. */
  keptLate: number;
  /** Whether unreferenced blobs were swept. */
  sweep: "done" | "dry-run" | "skipped";
  /** Why the sweep was skipped. */
  sweepSkipped?: string;
}

/** A prune that must not run now (failing backups, another writer); nothing was changed. */
export class PruneRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PruneRefusedError";
  }
}

/**
 * Prunes one repository.
 *
 * @throws {PruneRefusedError} while backups fail or another live lock exists (nothing changed)
 * @throws {HoldingsError} when a manifest cannot be read (nothing changed)
 */
export async function prune(repository: Repository, options: PruneOptions): Promise<PruneReport> {
  const clock = options.clock ?? (() => new Date());
  const dryRun = options.dryRun ?? false;
  await checkHealth(repository, options, clock());
  let lock: RepositoryLock | undefined;
  const ttlMs = options.lockTtlMs ?? 15 * 60_000;
  if (!dryRun) lock = await takeLock(repository, options.owner ?? "prune", ttlMs);
  try {
    const holdings = await readHoldings(repository);
    const plan = planPrune(holdings, {
      policies: options.policies,
      classPolicy: options.classPolicy,
      graceMs: options.graceMs ?? DEFAULT_GRACE_MS,
      now: clock(),
    });
    const report: PruneReport = {
      dryRun,
      plan,
      removedManifests: [],
      removedBlobs: 0,
      removedBytes: 0,
      keptLate: 0,
      sweep: "dry-run",
    };
    if (dryRun || !lock) return report;
    const held = lock;
    // Reading the holdings may have outlived the lock: make sure it is still ours and that no
    // backup started meanwhile, before changing anything.
    await repository.refreshLock(held, { ttlMs });
    const arrived = await otherLocks(repository, held);
    if (arrived.length) throw new PruneRefusedError(`Prune refused: ${describeLocks(arrived)}`);
    let refreshedAt = Date.now();
    const keepAlive = async () => {
      if (Date.now() - refreshedAt > ttlMs / 3) {
        await repository.refreshLock(held, { ttlMs });
        refreshedAt = Date.now();
      }
    };
    const concurrency = options.concurrency ?? 8;

    for (const kindPlan of plan.kinds) {
      await mapLimit(kindPlan.remove, concurrency, async (backup) => {
        options.signal?.throwIfAborted();
        await keepAlive();
        await repository.removeManifest(kindPlan.kind, backup.id);
        report.removedManifests.push(`${kindPlan.kind}/${backup.id}`);
      });
    }

    const late = await remark(repository, holdings);
    if ("skip" in late) {
      report.sweep = "skipped";
      report.sweepSkipped = late.skip;
      return report;
    }
    const others = await otherLocks(repository, held);
    if (others.length) {
      report.sweep = "skipped";
      report.sweepSkipped = `${describeLocks(others)} appeared during the prune`;
      return report;
    }
    await mapLimit(plan.blobs.remove, concurrency, async (blob) => {
      options.signal?.throwIfAborted();
      if (late.referenced.has(blob.id)) {
        report.keptLate++;
        return;
      }
      await keepAlive();
      await repository.removeBlob(blob.id);
      report.removedBlobs++;
      report.removedBytes += blob.storedSize;
    });
    report.sweep = "done";
    return report;
  } finally {
    if (lock) await repository.releaseLock(lock).catch(() => {});
  }
}

async function checkHealth(repository: Repository, options: PruneOptions, now: Date) {
  const present = new Set(await manifestKinds(repository));
  const kinds = Object.keys(options.policies).filter((kind) => present.has(kind)).sort();
  const verdicts = await Promise.all(
    kinds.map((kind) =>
      backupHealth(options.history, kind as RunKind, {
        now,
        freshnessMs: options.freshnessMs?.[kind] ?? DEFAULT_FRESHNESS_MS,
      })
    ),
  );
  const reasons = verdicts.flatMap((verdict) => verdict.ok ? [] : [verdict.reason]);
  if (reasons.length) {
    throw new PruneRefusedError(
      `Prune refused while backups are failing: ${reasons.join("; ")}`,
    );
  }
}

async function takeLock(
  repository: Repository,
  owner: string,
  ttlMs: number,
): Promise<RepositoryLock> {
  let lock: RepositoryLock;
  try {
    lock = await repository.acquireLock(PRUNE_LOCK, { owner, ttlMs });
  } catch (error) {
    throw new PruneRefusedError(
      `Prune refused: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const others = await otherLocks(repository, lock);
  if (others.length) {
    await repository.releaseLock(lock).catch(() => {});
    throw new PruneRefusedError(`Prune refused: ${describeLocks(others)}`);
  }
  return lock;
}

async function otherLocks(repository: Repository, ours: RepositoryLock): Promise<LockInfo[]> {
  return (await repository.listLocks()).filter((lock) => lock.token !== ours.token);
}

function describeLocks(locks: LockInfo[]): string {
  const [first] = locks;
  const more = locks.length > 1 ? ` and ${locks.length - 1} more` : "";
  return `lock "${first.name}" is held by "${first.owner}" until ${first.expiresAt}${more}`;
}

/**
 * The references of manifests that landed since the holdings was read (the holdings's kept
 * manifests already protect theirs), or why the sweep must not happen.
 */
async function remark(
  repository: Repository,
  holdings: Holdings,
): Promise<{ referenced: Set<string> } | { skip: string }> {
  const known = new Set(holdings.manifests.map((m) => `${m.kind}/${m.id}`));
  const referenced = new Set<string>();
  try {
    for (const key of await listManifestKeys(repository)) {
      if (known.has(key)) continue;
      const [kind, id] = splitKey(key);
      const manifest = await loadCatalogManifest(repository, kind, id);
      for (const ref of manifest.refs) referenced.add(ref.id);
    }
  } catch (error) {
    return { skip: error instanceof Error ? error.message : String(error) };
  }
  return { referenced };
}
