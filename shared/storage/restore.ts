/**
 * Restoring a Storage snapshot: re-create missing buckets (and their settings when the
 * database is reachable), upload every object that is missing or different, skip those already
 * identical (same size, ETag, content type, cache control and metadata), keep memory flat
 * (objects stream from the repository, verified, to the destination). A dry run only plans.
 *
 * @module
 */
import type postgres from "postgres";
import { applyBucketSettings } from "./bucket_settings.ts";
import type { StorageDestination } from "./destination.ts";
import {
  type ObjectEntry,
  parseStorageManifest,
  STORAGE_MANIFEST_KIND,
  type StorageManifest,
} from "./manifest.ts";
import type { SnapshotRepository } from "./repository_port.ts";
import { WeightedLimiter } from "../util/concurrency.ts";
import { listSnapshotIds } from "./snapshot_list.ts";
import { isFutureId, refuseFutureId } from "../repository/backup_time.ts";
import { createHash } from "node:crypto";
import { carryAuthentication, requireAuthenticated } from "../repository/authenticity.ts";

/** Options for {@link restoreStorage}. */
export interface RestoreOptions {
  /** Snapshot id, or "latest". */
  snapshot: string;
  /** Only these buckets (default: all in the snapshot). */
  buckets?: string[];
  /** Only keys starting with this. */
  prefix?: string;
  /** Plan only: nothing is created or uploaded. */
  dryRun?: boolean;
  /**
   * Restore a snapshot whose manifest is not authenticated (`authenticity.ts`): the operator's
   * explicit consent for this restore. A dry run needs none.
   */
  allowUnauthenticated?: boolean;
  /** Uploads at once (default 8). */
  concurrency?: number;
  /** The destination project's database, to re-apply bucket settings. */
  sql?: postgres.Sql;
  signal?: AbortSignal;
  /** Called for each decision, as it is made. */
  onAction?: (action: RestoreAction) => void;
}

/** One decision of a restore. */
export interface RestoreAction {
  action: "create-bucket" | "upload" | "skip";
  bucket: string;
  key?: string;
  size?: number;
  /** Why: "missing", "different" or "identical" (objects), "missing" (buckets). */
  reason: string;
}

/** What a restore did (or, dry, would do). */
export interface RestoreReport {
  snapshotId: string;
  dryRun: boolean;
  bucketsCreated: string[];
  objects: number;
  uploaded: number;
  skipped: number;
  /** Bytes uploaded (or to upload). */
  bytes: number;
  seconds: number;
}

/** The snapshot a restore request names doesn't exist. */
export class SnapshotNotFoundError extends Error {
  constructor(readonly snapshot: string) {
    super(
      snapshot === "latest"
        ? "The target holds no Storage snapshot"
        : `Storage snapshot ${snapshot} does not exist on the target`,
    );
    this.name = "SnapshotNotFoundError";
  }
}

/**
 * Loads the manifest of a snapshot id or "latest" (the newest not dated in the future, see
 * `repository/backup_time.ts`). A named snapshot dated in the future is refused, unless
 * `allowFuture` (for listings).
 *
 * @throws {FutureBackupError} for a named snapshot dated in the future
 */
export async function loadStorageSnapshot(
  repository: SnapshotRepository,
  snapshot: string,
  options: { now?: Date; allowFuture?: boolean } = {},
): Promise<StorageManifest> {
  const ids = await listSnapshotIds(repository);
  const id = snapshot === "latest" ? ids.find((one) => !isFutureId(one, options.now)) : snapshot;
  if (!id || !ids.includes(id)) throw new SnapshotNotFoundError(snapshot);
  if (!options.allowFuture) refuseFutureId("Storage snapshot", id, options.now);
  const value = await repository.loadManifest(STORAGE_MANIFEST_KIND, id);
  return carryAuthentication(value, parseStorageManifest(value, id));
}

/** Restores a snapshot (or plans it, with `dryRun`). */
export async function restoreStorage(
  repository: SnapshotRepository,
  destination: StorageDestination,
  options: RestoreOptions,
): Promise<RestoreReport> {
  const started = performance.now();
  const manifest = await loadStorageSnapshot(repository, options.snapshot);
  // What a forged manifest would upload into the project's buckets is the attacker's choice.
  if (!options.dryRun) {
    requireAuthenticated(manifest, {
      what: `Storage snapshot ${manifest.id}`,
      allowUnauthenticated: options.allowUnauthenticated,
    });
  }
  const wanted = options.buckets?.length ? new Set(options.buckets) : undefined;
  if (wanted) {
    const unknown = [...wanted].filter((b) => !manifest.buckets.some((m) => m.name === b));
    if (unknown.length) {
      throw new Error(
        `Snapshot ${manifest.id} has no bucket ${unknown.map((b) => `"${b}"`).join(", ")}`,
      );
    }
  }
  const prefix = options.prefix ?? "";
  const buckets = manifest.buckets.filter((b) => !wanted || wanted.has(b.name));
  const report: RestoreReport = {
    snapshotId: manifest.id,
    dryRun: options.dryRun ?? false,
    bucketsCreated: [],
    objects: 0,
    uploaded: 0,
    skipped: 0,
    bytes: 0,
    seconds: 0,
  };
  const tell = (action: RestoreAction) => options.onAction?.(action);
  const existingBuckets = await destination.listBuckets();
  const limiter = new WeightedLimiter({ count: options.concurrency ?? 8, weight: 64 * 2 ** 20 });

  for (const bucket of buckets) {
    options.signal?.throwIfAborted();
    const exists = existingBuckets.has(bucket.name);
    if (!exists) {
      tell({ action: "create-bucket", bucket: bucket.name, reason: "missing" });
      report.bucketsCreated.push(bucket.name);
      if (!report.dryRun) {
        await destination.createBucket(bucket.name);
        if (options.sql && bucket.settings) {
          await applyBucketSettings(options.sql, bucket.name, bucket.settings);
        }
      }
    }
    const existing = exists ? await destination.listExisting(bucket.name, prefix) : new Map();
    const entries = manifest.objects.filter((e) =>
      e.bucket === bucket.name && e.key.startsWith(prefix)
    );
    const tasks: Promise<void>[] = [];
    let failure: unknown;
    for (const entry of entries) {
      if (failure) break;
      const weight = Math.min(entry.size, 16 * 2 ** 20) * 2 + 65536;
      await limiter.acquire(weight);
      const task = restoreObject(repository, destination, entry, existing.get(entry.key), {
        dryRun: report.dryRun,
        signal: options.signal,
      }).then((action) => {
        report.objects++;
        if (action.action === "upload") {
          report.uploaded++;
          report.bytes += entry.size;
        } else report.skipped++;
        tell(action);
      }, (error) => {
        failure ??= error;
      }).finally(() => limiter.release(weight));
      tasks.push(task);
    }
    await Promise.all(tasks);
    if (failure) throw failure;
  }
  report.seconds = Math.round((performance.now() - started) / 10) / 100;
  return report;
}

async function restoreObject(
  repository: SnapshotRepository,
  destination: StorageDestination,
  entry: ObjectEntry,
  existing: { size: number; etag: string } | undefined,
  options: { dryRun: boolean; signal?: AbortSignal },
): Promise<RestoreAction> {
  const base = { bucket: entry.bucket, key: entry.key, size: entry.size };
  let reason = "missing";
  if (existing) {
    reason = "different";
    if (existing.size === entry.size && existing.etag === entry.etag) {
      const head = await destination.head(entry.bucket, entry.key);
      if (head && sameMetadata(entry, head)) {
        return { action: "skip", reason: "identical", ...base };
      }
    }
  }
  if (!options.dryRun) {
    const stream = repository.readStream(entry.blobs, { prefetch: 1 });
    const body = checkedByItsBlob(entry) ? stream : stream.pipeThrough(verifying(entry));
    try {
      await destination.put(entry, body, { signal: options.signal });
    } catch (error) {
      await removeHalfWritten(destination, entry, existing).catch(() => {});
      throw error;
    }
  }
  return { action: "upload", reason, ...base };
}

function sameMetadata(
  entry: ObjectEntry,
  head: {
    contentType?: string;
    cacheControl?: string;
    contentEncoding?: string;
    contentDisposition?: string;
    metadata: Record<string, string>;
  },
): boolean {
  const same = (a: string | undefined, b: string | undefined) => a === undefined || a === b;
  if (!same(entry.contentType, head.contentType)) return false;
  if (!same(entry.cacheControl, head.cacheControl)) return false;
  if (!same(entry.contentEncoding, head.contentEncoding)) return false;
  if (!same(entry.contentDisposition, head.contentDisposition)) return false;
  const lower = (m: Record<string, string>) =>
    JSON.stringify(Object.entries(m).map(([k, v]) => [k.toLowerCase(), v]).sort());
  return lower(entry.metadata) === lower(head.metadata);
}

/**
 * After a failed upload, removes what it left under the key unless it is still the object that
 * was there before. A store may keep a body cut short by the failure as a whole object (the
 * local S3 server here did: 1.2 of 9 MiB), which a person would take for the restored file.
 */
async function removeHalfWritten(
  destination: StorageDestination,
  entry: ObjectEntry,
  before: { size: number; etag: string } | undefined,
): Promise<void> {
  const now = await destination.head(entry.bucket, entry.key);
  if (!now || (before && now.size === before.size && now.etag === before.etag)) return;
  await destination.remove(entry.bucket, entry.key);
}

/**
 * Whether reading the entry's blobs already proves its bytes: one blob holding the whole object
 * is named by the SHA-256 of exactly those bytes, which the repository checks as it reads it.
 */
function checkedByItsBlob(entry: ObjectEntry): boolean {
  const [only] = entry.blobs;
  return entry.blobs.length === 1 && only.id === entry.sha256 && only.size === entry.size;
}

/**
 * Passes bytes through, failing before the end when they do not hash to the entry's SHA-256.
 * The last chunk is held back until the whole object has checked out: an upload that fails
 * then is short of its declared length, so the store keeps nothing of it (sent whole, a wrong
 * object was stored before the check could fail).
 */
function verifying(entry: ObjectEntry): TransformStream<Uint8Array, Uint8Array> {
  const hash = createHash("sha256");
  let size = 0;
  let held: Uint8Array | undefined;
  return new TransformStream({
    transform(chunk, controller) {
      hash.update(chunk);
      size += chunk.length;
      if (held) controller.enqueue(held);
      held = chunk;
    },
    flush(controller) {
      const actual = hash.digest("hex");
      if (size !== entry.size || actual !== entry.sha256) {
        throw new Error(
          `Object "${entry.key}" of bucket "${entry.bucket}" does not match its snapshot ` +
            `(${size} bytes hashing to ${actual.slice(0, 12)}…)`,
        );
      }
      if (held) controller.enqueue(held);
    },
  });
}
