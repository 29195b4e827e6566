/**
 * Disaster recovery, the runbook's procedure in one call: restore the chosen database backup
 * (every blob verified first; a non-empty destination backed up first; row counts checked
 * per table), then the chosen Storage snapshot (missing buckets created, objects streamed
 * back and verified), then check that every object of the snapshot is present with its size.
 * Each phase is timed, so the report gives the RTO of the database, of Storage and in total.
 *
 * It never throws for a failed phase: the report says which phase failed and why, and what
 * was done before it (the database is not left half-explained). Storage is not restored
 * when the database restore failed.
 *
 * @module
 */
import { type DatabaseInput, describeDatabase } from "../pg/connect.ts";
import { restoreDatabase, RestoreError } from "../database/restore/mod.ts";
import { loadDatabaseManifest } from "../database/manifest.ts";
import { type Repository, requireAuthenticated } from "../repository/mod.ts";
import type { StorageDestination } from "../storage/destination.ts";
import { loadStorageSnapshot, restoreStorage } from "../storage/restore.ts";
import { checkRestoredStorage, describeStorageCheck, type StorageCheck } from "./storage_check.ts";

/** Options for {@link recover}. */
export interface RecoverOptions {
  /** Database backup id to restore. */
  backupId: string;
  /** Storage snapshot id to restore; null to leave Storage alone. */
  snapshotId: string | null;
  /** The database to recover into. */
  db: DatabaseInput;
  /** Storage's S3 endpoint to recover into; required when `snapshotId` is set. */
  storage?: StorageDestination;
  /** Back up a non-empty destination database first (default true). */
  safetyBackup?: boolean;
  /**
   * Recover from a backup or snapshot whose manifest is not authenticated: the operator's
   * explicit consent for this recovery (`recover --allow-unauthenticated`).
   */
  allowUnauthenticated?: boolean;
  parallel?: number;
  signal?: AbortSignal;
  onProgress?: (message: string) => void;
}

/** What a recovery did, phase by phase. */
export interface RecoveryReport {
  ok: boolean;
  backupId: string;
  snapshotId: string | null;
  /** Where the database went, without credentials. */
  destination: string;
  database: {
    tables: number;
    rows: number;
    bytes: number;
    seconds: number;
    safetyBackupId: string | null;
    skippedTables: string[];
    warnings: string[];
  } | null;
  storage: {
    objects: number;
    uploaded: number;
    skipped: number;
    bytes: number;
    bucketsCreated: string[];
    seconds: number;
    check: StorageCheck;
  } | null;
  /** Recovery time, in seconds: the database, Storage (restore and check), both. */
  rto: { database: number | null; storage: number | null; total: number };
  /** The phase that failed, and why. */
  failed?: { phase: "database" | "storage" | "storage-check"; error: string };
  /** Whether the failed phase had changed the destination already. */
  changed?: boolean;
}

const seconds = (from: number) => Math.round(performance.now() - from) / 1000;

/** Recovers the database then Storage; see the module documentation. */
export async function recover(
  repository: Repository,
  options: RecoverOptions,
): Promise<RecoveryReport> {
  const started = performance.now();
  const tell = options.onProgress ?? (() => {});
  const report: RecoveryReport = {
    ok: false,
    backupId: options.backupId,
    snapshotId: options.snapshotId,
    destination: typeof options.db === "string"
      ? describeDatabase(options.db)
      : "the given connection",
    database: null,
    storage: null,
    rto: { database: null, storage: null, total: 0 },
  };
  const finish = () => {
    report.rto.total = seconds(started);
    return report;
  };

  // Both manifests are authenticated (or allowed) before the database is touched, so a refused
  // snapshot never follows a database already restored.
  try {
    const chosen = await loadDatabaseManifest(repository, options.backupId);
    requireAuthenticated(chosen, {
      what: `Database backup ${chosen.backupId}`,
      allowUnauthenticated: options.allowUnauthenticated,
    });
  } catch (error) {
    report.failed = { phase: "database", error: messageOf(error) };
    report.changed = false;
    return finish();
  }
  if (options.snapshotId !== null) {
    try {
      const chosen = await loadStorageSnapshot(repository, options.snapshotId);
      requireAuthenticated(chosen, {
        what: `Storage snapshot ${chosen.id}`,
        allowUnauthenticated: options.allowUnauthenticated,
      });
    } catch (error) {
      report.failed = { phase: "storage", error: messageOf(error) };
      report.changed = false;
      return finish();
    }
  }

  tell(`Restoring database backup ${options.backupId} into ${report.destination}`);
  const databaseStarted = performance.now();
  try {
    const restored = await restoreDatabase({
      repository,
      backupId: options.backupId,
      db: options.db,
      safetyBackup: options.safetyBackup,
      allowUnauthenticated: options.allowUnauthenticated,
      parallel: options.parallel,
      signal: options.signal,
      onProgress: (progress) => {
        if (progress.phase !== "data") tell(`Database: ${progress.phase}`);
      },
    });
    report.rto.database = seconds(databaseStarted);
    report.database = {
      tables: restored.tables,
      rows: restored.rows,
      bytes: restored.bytes,
      seconds: report.rto.database,
      safetyBackupId: restored.safetyBackupId,
      skippedTables: restored.skippedTables,
      warnings: restored.warnings,
    };
  } catch (error) {
    report.rto.database = seconds(databaseStarted);
    report.failed = { phase: "database", error: messageOf(error) };
    report.changed = error instanceof RestoreError ? error.applied : true;
    return finish();
  }

  if (options.snapshotId !== null) {
    if (!options.storage) {
      report.failed = {
        phase: "storage",
        error: "Storage is not configured: set STORAGE_S3_ENDPOINT and its access keys",
      };
      return finish();
    }
    tell(`Restoring Storage snapshot ${options.snapshotId}`);
    const storageStarted = performance.now();
    try {
      const manifest = await loadStorageSnapshot(repository, options.snapshotId);
      const restored = await restoreStorage(repository, options.storage, {
        snapshot: manifest.id,
        allowUnauthenticated: options.allowUnauthenticated,
        signal: options.signal,
      });
      tell("Checking every object of the snapshot is back");
      let check: StorageCheck;
      try {
        check = await checkRestoredStorage(options.storage, manifest);
      } catch (error) {
        report.rto.storage = seconds(storageStarted);
        report.failed = { phase: "storage-check", error: messageOf(error) };
        return finish();
      }
      report.rto.storage = seconds(storageStarted);
      report.storage = {
        objects: restored.objects,
        uploaded: restored.uploaded,
        skipped: restored.skipped,
        bytes: restored.bytes,
        bucketsCreated: restored.bucketsCreated,
        seconds: report.rto.storage,
        check,
      };
      if (!check.ok) {
        report.failed = { phase: "storage-check", error: describeStorageCheck(check) };
        return finish();
      }
    } catch (error) {
      report.rto.storage = seconds(storageStarted);
      report.failed = { phase: "storage", error: messageOf(error) };
      report.changed = true;
      return finish();
    }
  }
  report.ok = true;
  return finish();
}

function messageOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/(\w+:\/\/[^:/@\s]+):[^@\s]+@/g, "$1:***@");
}
