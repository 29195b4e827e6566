/**
 * Replication (3-2-1): every backup and snapshot of the source reaches each named target.
 *
 * For every destination, the backups it lacks (or the chosen one) are copied with
 * {@link copyBackup}, newest first so the latest backup is offsite soonest. One destination
 * failing does not stop the others; each gets its own status.
 *
 * @module
 */
import { looseBackupClass } from "../database/backup_class.ts";
import { DATABASE_MANIFEST_KIND } from "../database/manifest.ts";
import { isFutureId, refuseFutureId } from "../repository/backup_time.ts";
import type { Repository } from "../repository/repository.ts";
import { manifestKinds } from "../retention/holdings.ts";
import { type BackupRef, type CopiedBackup, copyBackup } from "./copy_backup.ts";
import { DestinationIndex } from "./destination_index.ts";

/** A destination of a replication. */
export interface ReplicationDestination {
  name: string;
  repository: Repository;
}

/** Options for {@link replicate}. */
export interface ReplicateOptions {
  /** Manifest kinds to replicate (default: every kind the source holds). */
  kinds?: readonly string[];
  /**
   * Which backups: `"latest"` (the newest of each kind not dated in the future; for database
   * backups, the newest full one), one backup id (refused when dated in the future), or, when
   * omitted, every backup the destination lacks.
   */
  backup?: string;
  /** Blobs copied at once per destination (default 4). */
  concurrency?: number;
  /** Read every copied blob back from the destination (default true). */
  readBack?: boolean;
  signal?: AbortSignal;
}

/** The outcome for one destination. */
export interface TargetReplication {
  target: string;
  ok: boolean;
  /** Backups copied or found complete, newest first. */
  backups: CopiedBackup[];
  /** Backups already at the destination and not checked again. */
  skipped: number;
  copiedBlobs: number;
  copiedBytes: number;
  /** The backup that failed and why, when `ok` is false. */
  error?: string;
  failedBackup?: BackupRef;
}

/** Backup selection found nothing to do with the given id. */
export class BackupNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BackupNotFoundError";
  }
}

/**
 * Replicates the source's backups to each destination and reports per destination.
 *
 * @throws {BackupNotFoundError} when a requested backup id is not on the source
 */
export async function replicate(
  source: Repository,
  destinations: readonly ReplicationDestination[],
  options: ReplicateOptions = {},
): Promise<TargetReplication[]> {
  const wanted = await sourceBackups(source, options);
  const statuses: TargetReplication[] = [];
  for (const destination of destinations) {
    const status: TargetReplication = {
      target: destination.name,
      ok: true,
      backups: [],
      skipped: 0,
      copiedBlobs: 0,
      copiedBytes: 0,
    };
    statuses.push(status);
    const index = new DestinationIndex(destination.repository);
    let current: BackupRef | undefined;
    try {
      const present = options.backup === undefined
        ? await destinationBackups(destination.repository, wanted)
        : new Set<string>();
      for (const backup of wanted) {
        options.signal?.throwIfAborted();
        if (present.has(`${backup.kind}/${backup.id}`)) {
          status.skipped++;
          continue;
        }
        current = backup;
        const copied = await copyBackup(source, destination.repository, {
          ...backup,
          concurrency: options.concurrency,
          readBack: options.readBack,
          index,
          signal: options.signal,
        });
        status.backups.push(copied);
        status.copiedBlobs += copied.copiedBlobs;
        status.copiedBytes += copied.copiedBytes;
      }
    } catch (error) {
      status.ok = false;
      status.error = error instanceof Error ? error.message : String(error);
      status.failedBackup = current;
    }
  }
  return statuses;
}

/** The backups to replicate, newest first. */
async function sourceBackups(source: Repository, options: ReplicateOptions): Promise<BackupRef[]> {
  const kinds = options.kinds ?? await manifestKinds(source);
  const backups: BackupRef[] = [];
  for (const kind of kinds) {
    const ids = await source.listManifests(kind);
    const chosen = options.backup === "latest"
      ? await latestOf(source, kind, ids)
      : options.backup !== undefined
      ? ids.filter((id) => id === options.backup)
      : ids;
    if (options.backup !== undefined && options.backup !== "latest" && chosen.length) {
      refuseFutureId("Backup", options.backup);
    }
    for (const id of [...chosen].reverse()) backups.push({ kind, id });
  }
  if (options.backup !== undefined && options.backup !== "latest" && backups.length === 0) {
    throw new BackupNotFoundError(
      `Backup "${options.backup}" is not on ${source.target.location}`,
    );
  }
  return backups.sort((a, b) => a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/**
 * The latest backup of a kind: the newest id not dated in the future and, for database
 * backups, the newest full one (partial and safety backups are replicated by id, or all at once).
 */
async function latestOf(source: Repository, kind: string, ids: string[]): Promise<string[]> {
  for (const id of [...ids].sort().reverse()) {
    if (isFutureId(id)) continue;
    // Replication copies any manifest as stored: its class is read loosely, as retention does.
    if (kind !== DATABASE_MANIFEST_KIND) return [id];
    if (looseBackupClass(await source.loadManifest(kind, id)) === "full") return [id];
  }
  return [];
}

async function destinationBackups(
  destination: Repository,
  wanted: readonly BackupRef[],
): Promise<Set<string>> {
  const present = new Set<string>();
  for (const kind of new Set(wanted.map((backup) => backup.kind))) {
    for (const id of await destination.listManifests(kind)) present.add(`${kind}/${id}`);
  }
  return present;
}
