/**
 * The database engine: consistent backups of a PostgreSQL (Supabase) database into a
 * content-addressed repository, and verified restores.
 *
 * - One shot: {@link backupDatabase}, {@link restoreDatabase}.
 * - In budgeted, resumable steps (Edge Functions): {@link startBackupRun},
 *   {@link copyPendingTables}, {@link finishBackupRun} over a JSON {@link BackupRunState}, or
 *   the executor's step {@link createDatabaseStep}; large tables in key-ordered slices.
 * - Manifests: {@link loadDatabaseManifest}, {@link listDatabaseBackupIds},
 *   {@link parseManifest}; a backup's class ({@link backupClassOf}: only `full` is "latest").
 *
 * @module
 */
export { backupDatabase, type BackupDatabaseOptions, type BackupResult } from "./backup.ts";
export {
  BACKUP_CLASSES,
  type BackupChoice,
  type BackupClass,
  backupClassOf,
  parseBackupChoice,
} from "./backup_class.ts";
export {
  type BackupProgress,
  type BackupRunState,
  BackupStepError,
  type CopiedSlice,
  copyPendingTables,
  type CopyPendingTablesOptions,
  finishBackupRun,
  type PendingTable,
  startBackupRun,
  type StartBackupRunOptions,
  TABLE_CHUNKING,
} from "./backup_run.ts";
export {
  DATABASE_MANIFEST_KIND,
  type DatabaseManifest,
  databaseManifestSchema,
  findLatestDatabaseBackup,
  FORMAT_VERSION,
  isBackupId,
  listDatabaseBackupIds,
  loadDatabaseManifest,
  ManifestError,
  type ManifestSlice,
  type ManifestTable,
  newBackupId,
  parseManifest,
  slicesDigest,
} from "./manifest.ts";
export {
  restoreDatabase,
  type RestoreDatabaseOptions,
  RestoreError,
  type RestoreProgress,
  type RestoreResult,
} from "./restore.ts";
export { createDatabaseStep, type DatabaseCheckpoint, sliceBytesFor } from "./run_step.ts";
export { openSnapshot, type Snapshot } from "./snapshot.ts";
