/**
 * Pairing Storage snapshots with database backups.
 *
 * A snapshot records the database backup on the same target it pairs with (the latest one
 * when it finished), and the database run records the snapshot back in its `details`. The
 * snapshot also compares `storage.objects` with what it found in the buckets: rows without an
 * object are the broken links users meet after a restore; objects without a row are invisible
 * to the Storage API.
 *
 * @module
 */
import type postgres from "postgres";
import { entryKey, type Pairing, STORAGE_MANIFEST_KIND } from "./manifest.ts";
import type { SnapshotRepository } from "./repository_port.ts";
import { looseBackupClass } from "../database/backup_class.ts";
import { isFutureId } from "../repository/backup_time.ts";

/** How many examples of each kind of broken link a manifest keeps. */
export const PAIRING_EXAMPLES = 20;

/**
 * The id of the latest database backup on a repository, if any: the newest full backup of the
 * project (`database/backup_class.ts`) not dated in the future. Partial and safety backups do
 * not pair with a snapshot: restoring one with it would not bring the project back.
 */
export async function latestDatabaseBackupId(
  repository: SnapshotRepository,
): Promise<string | null> {
  try {
    const ids = [...await repository.listManifests("database")].sort().reverse();
    for (const id of ids) {
      if (isFutureId(id)) continue;
      const value = await repository.loadManifest("database", id).catch(() => undefined);
      if (value !== undefined && looseBackupClass(value) === "full") return id;
    }
    return null;
  } catch {
    return null;
  }
}

/**
 * Compares `storage.objects` rows of the snapshot's buckets with the objects the snapshot
 * holds. `database` is "unreachable" when the query failed, "not_configured" without `sql`.
 */
export async function compareWithDatabase(
  sql: postgres.Sql | undefined,
  buckets: string[],
  objects: Iterable<{ bucket: string; key: string }>,
): Promise<Omit<Pairing, "databaseBackupId">> {
  const empty = { count: 0, examples: [] };
  if (!sql) {
    return { database: "not_configured", missingFromBucket: empty, missingFromDatabase: empty };
  }
  const inBuckets = new Set<string>();
  for (const object of objects) inBuckets.add(entryKey(object.bucket, object.key));
  const missingFromBucket = { count: 0, examples: [] as Array<{ bucket: string; key: string }> };
  const inDatabase = new Set<string>();
  try {
    const cursor = sql`
      select bucket_id, name from storage.objects
      where bucket_id = any(${buckets}) and name is not null
      order by bucket_id, name`.cursor(2000);
    for await (const rows of cursor) {
      for (const row of rows) {
        const key = entryKey(row.bucket_id, row.name);
        inDatabase.add(key);
        if (!inBuckets.has(key)) {
          missingFromBucket.count++;
          if (missingFromBucket.examples.length < PAIRING_EXAMPLES) {
            missingFromBucket.examples.push({ bucket: row.bucket_id, key: row.name });
          }
        }
      }
    }
  } catch (error) {
    console.error(
      `storage.objects could not be compared with the buckets: ${
        error instanceof Error ? error.message.split("\n")[0] : error
      }`,
    );
    return { database: "unreachable", missingFromBucket: empty, missingFromDatabase: empty };
  }
  const missingFromDatabase = { count: 0, examples: [] as Array<{ bucket: string; key: string }> };
  for (const key of inBuckets) {
    if (inDatabase.has(key)) continue;
    missingFromDatabase.count++;
    if (missingFromDatabase.examples.length < PAIRING_EXAMPLES) {
      const [bucket, name] = key.split("\u0000");
      missingFromDatabase.examples.push({ bucket, key: name });
    }
  }
  return { database: "compared", missingFromBucket, missingFromDatabase };
}

/**
 * Records the snapshot on the database backup's run (`details.storageSnapshotId`), the reverse
 * of the snapshot's `pairing.databaseBackupId`. Best effort: returns false when no run matched
 * or the database refused.
 */
export async function linkDatabaseRun(
  sql: postgres.Sql,
  databaseBackupId: string,
  snapshotId: string,
): Promise<boolean> {
  try {
    const rows = await sql`
      update public.backup_runs
      set details = details || ${sql.json({ storageSnapshotId: snapshotId })}
      where kind = 'database' and backup_id = ${databaseBackupId}
      returning id`;
    return rows.length > 0;
  } catch {
    return false;
  }
}

/**
 * The Storage snapshots on a repository paired with a database backup, newest first (what a
 * restore of that backup should bring back with it).
 */
export async function snapshotsPairedWith(
  repository: SnapshotRepository,
  databaseBackupId: string,
): Promise<string[]> {
  const ids = [...await repository.listManifests(STORAGE_MANIFEST_KIND)].sort().reverse();
  const paired: string[] = [];
  for (const id of ids) {
    const manifest = await repository.loadManifest(STORAGE_MANIFEST_KIND, id) as {
      pairing?: { databaseBackupId?: string | null };
    };
    if (manifest?.pairing?.databaseBackupId === databaseBackupId) paired.push(id);
  }
  return paired;
}
