/**
 * What a target can bring back: its database backups and Storage snapshots, newest first,
 * each with its time, size and contents, so an operator (or a flag) can choose.
 *
 * @module
 */
import { type BackupClass, backupClassOf, parseBackupChoice } from "../database/backup_class.ts";
import { listDatabaseBackupIds, loadDatabaseManifest } from "../database/manifest.ts";
import type { Repository } from "../repository/mod.ts";
import { listSnapshotIds } from "../storage/snapshot_list.ts";
import { loadStorageSnapshot } from "../storage/restore.ts";

/** A database backup to recover from. */
export interface DatabasePoint {
  id: string;
  /** The instant the backup shows the database as it was. */
  time: string;
  /** `safety`: taken automatically before a restore overwrote a database. */
  purpose: "backup" | "safety";
  /** Only a `full` backup is the project's latest (`database/backup_class.ts`). */
  class: BackupClass;
  database: string;
  tables: number;
  rows: number;
  /** Raw COPY bytes. */
  bytes: number;
  storedBytes: number;
}

/** A Storage snapshot to recover from. */
export interface SnapshotPoint {
  id: string;
  /** When the snapshot started listing the buckets. */
  time: string;
  buckets: number;
  objects: number;
  bytes: number;
}

/** A manifest that could not be read (listed so it is not silently ignored). */
export interface UnreadablePoint {
  id: string;
  error: string;
}

/** Every recovery point of a target, newest first. */
export interface RecoveryPoints {
  databases: DatabasePoint[];
  snapshots: SnapshotPoint[];
  unreadable: UnreadablePoint[];
}

/** Lists a repository's database backups and Storage snapshots, newest first. */
export async function listRecoveryPoints(repository: Repository): Promise<RecoveryPoints> {
  const points: RecoveryPoints = { databases: [], snapshots: [], unreadable: [] };
  for (const id of await listDatabaseBackupIds(repository)) {
    try {
      const manifest = await loadDatabaseManifest(repository, id);
      points.databases.push({
        id,
        time: manifest.snapshotTime,
        purpose: manifest.purpose,
        class: backupClassOf(manifest),
        database: manifest.source.database,
        tables: manifest.totals.tables,
        rows: manifest.totals.rows,
        bytes: manifest.totals.bytes,
        storedBytes: manifest.totals.storedBytes,
      });
    } catch (error) {
      points.unreadable.push({ id, error: error instanceof Error ? error.message : String(error) });
    }
  }
  for (const id of await listSnapshotIds(repository)) {
    try {
      const manifest = await loadStorageSnapshot(repository, id);
      points.snapshots.push({
        id,
        time: manifest.startedAt,
        buckets: manifest.buckets.length,
        objects: manifest.totals.objects,
        bytes: manifest.totals.bytes,
      });
    } catch (error) {
      points.unreadable.push({ id, error: error instanceof Error ? error.message : String(error) });
    }
  }
  return points;
}

/**
 * Resolves a choice among points: an id, "latest" (the newest full database backup, or the
 * newest snapshot) or "latest:<class>" (database backups). Points dated in the future are not
 * listed (`listRecoveryPoints` reports them unreadable), so they are never latest. Throws
 * naming what exists when the choice matches nothing.
 */
export function choosePoint<T extends { id: string; class?: BackupClass }>(
  points: readonly T[],
  choice: string,
  what: string,
): T {
  const wanted = parseBackupChoice(choice);
  const found = "latest" in wanted
    ? points.find((point) => (point.class ?? "full") === wanted.latest)
    : points.find((point) => point.id === choice);
  if (found) return found;
  if (points.length === 0) throw new Error(`The target holds no ${what}`);
  if ("latest" in wanted) {
    throw new Error(
      `The target holds no ${wanted.latest} ${what} (only ${
        [...new Set(points.map((point) => point.class ?? "full"))].join(", ")
      } ones: name one by id)`,
    );
  }
  throw new Error(
    `The target has no ${what} ${choice} (the newest are ${
      points.slice(0, 3).map((point) => point.id).join(", ")
    })`,
  );
}
