/**
 * The database engine: consistent backups of a PostgreSQL (Supabase) database into a
 * content-addressed repository, and verified restores.
 *
 * - One shot: {@link backupDatabase} (`backup/`), {@link restoreDatabase} (`restore/`).
 * - In budgeted, resumable steps (Edge Functions): {@link startBackupRun},
 *   {@link copyPendingTables}, {@link finishBackupRun} over a JSON {@link BackupRunState}, as
 *   the executor's step does (`steps/database.ts`); large tables in key-ordered slices.
 * - The schema: `catalog/`; what the repository holds of a backup: `manifest.ts`,
 *   `sections.ts`. PostgreSQL plumbing (connections, the exported snapshot, COPY) is `pg/`.
 * - Manifests: {@link loadDatabaseManifest}, {@link listDatabaseBackupIds},
 *   {@link parseManifest}; a backup's class ({@link backupClassOf}: only `full` is "latest").
 *
 * @module
 */
export {
  BACKUP_CLASSES,
  type BackupChoice,
  type BackupClass,
  backupClassOf,
  parseBackupChoice,
} from "./backup_class.ts";
export {
  backupDatabase,
  type BackupDatabaseOptions,
  type BackupProgress,
  type BackupResult,
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
} from "./backup/mod.ts";
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
} from "./restore/mod.ts";
