/**
 * What a restore is asked, what it reports while it runs, and what it returns.
 *
 * @module
 */
import type { Repository } from "../../repository/mod.ts";
import type { DatabaseInput } from "../../pg/connect.ts";

/** Options for `restoreDatabase`. */
export interface RestoreDatabaseOptions {
  repository: Repository;
  /** A backup id, or "latest" (the newest regular backup). */
  backupId: string;
  /** Destination: connection URL, or a postgres.js pool allowing `parallel` connections. */
  db: DatabaseInput;
  /** Only these tables' data (`schema.table`), into existing tables. */
  tables?: string[];
  schemaOnly?: boolean;
  dataOnly?: boolean;
  /**
   * Empty destination tables that hold rows before loading them, inside the table's load
   * transaction, so a failed load leaves the table as it was.
   */
  truncate?: boolean;
  /** Back up a non-empty destination first (default true). */
  safetyBackup?: boolean;
  /**
   * Restore a backup whose manifest is not authenticated (`authenticity.ts`): the operator's
   * explicit consent for this restore. Unattended restores never set it.
   */
  allowUnauthenticated?: boolean;
  /** Connections used to load tables and build indexes (default 2). */
  parallel?: number;
  signal?: AbortSignal;
  onProgress?: (progress: RestoreProgress) => void;
  onWarning?: (message: string) => void;
}

/** Progress of a restore. */
export interface RestoreProgress {
  phase: "verify" | "safety-backup" | "pre-data" | "data" | "post-data";
  tablesDone: number;
  tablesTotal: number;
  rows: number;
  bytes: number;
  table?: string;
}

/** What `restoreDatabase` returns. */
export interface RestoreResult {
  backupId: string;
  tables: number;
  rows: number;
  bytes: number;
  seconds: number;
  /** Tables of the backup not restored (platform tables the destination lacks). */
  skippedTables: string[];
  warnings: string[];
  /** The safety backup taken of the destination first, if any. */
  safetyBackupId: string | null;
  /**
   * How the foreign keys came back: "checked", added after loading, every row checked by the
   * server; "trusted", added to the empty tables of a one-snapshot backup, rows not checked
   * again (see `restore/mod.ts`); "none", the restore added none.
   */
  foreignKeys: "checked" | "trusted" | "none";
  /** Large objects whose contents were written (absent when the backup has none to restore). */
  largeObjects?: number;
}

/** What a restore restores: everything, the schema, the data, or chosen tables' data. */
export type RestoreMode = "full" | "schema-only" | "data-only" | "tables";
