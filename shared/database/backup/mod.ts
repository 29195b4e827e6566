/**
 * Database backups: a consistent snapshot of a PostgreSQL database, its DDL and its tables'
 * rows stored in a content-addressed repository, the manifest written last.
 *
 * Three phases, one file each, over a JSON-serialisable run state (`state.ts`):
 * - `start.ts`, {@link startBackupRun}: reads the schema inside an exported snapshot, stores
 *   the DDL sections and lists the tables to copy (largest first), each with its ordered key
 *   when it has one.
 * - `copy_tables.ts`, {@link copyPendingTables}: copies pending tables inside a snapshot, in
 *   parallel over the snapshot's connections, until none is left or a deadline passes. It
 *   returns the new state, which a caller may checkpoint.
 * - `finish.ts`, {@link finishBackupRun}: checks every referenced blob is stored with its
 *   recorded size and writes the manifest, last.
 *
 * A one-shot backup ({@link backupDatabase}, below) runs the three in one snapshot; a budgeted
 * caller (`steps/database.ts`) runs `startBackupRun` and `copyPendingTables` in one step, more
 * `copyPendingTables` steps each in a new snapshot (the manifest then records `snapshots > 1`),
 * and `finishBackupRun` at the end. Blobs are content-addressed, so a step that died costs only
 * its own work: its tables are copied again next step, and their unchanged blobs are
 * referenced, not uploaded again.
 *
 * Slices: given `sliceBytes` (a budgeted step), a table larger than that which has an ordered
 * key (`catalog/copy_keys.ts`) is copied in key-ordered slices of at most about that many COPY
 * bytes, ended at keys chosen by content (`pg/slices.ts`). The deadline and `shouldStop` are
 * checked between slices, the state records the slices done (their blobs, and the last key
 * reached), and the next step goes on from there, in its own snapshot; the table's manifest
 * entry lists its slices (`manifest.ts`). A table without such a key, or smaller than a slice,
 * is copied whole with a plain `COPY t TO STDOUT` (the fast path, pg_dump's output): once
 * started it always finishes, so a step may overrun its budget by what a large keyless table
 * costs. Without `sliceBytes` (the worker, a one-shot backup) every table is copied whole,
 * except that a table a budgeted step left part-way is finished as one last slice from where
 * it stopped.
 *
 * @module
 */
import type { ChunkingOptions, Repository } from "../../repository/mod.ts";
import { connectionError, type DatabaseInput, openConnection } from "../../pg/connect.ts";
import {
  type CopyLane,
  openWorkerLanes,
  type RepositorySpec,
  threadLane,
} from "../../pg/copy_lane.ts";
import { openExportedSnapshot } from "../../pg/exported_snapshot.ts";
import type { DumpScope } from "../catalog/model.ts";
import type { DatabaseManifest } from "../manifest.ts";
import { defaultWriteConcurrency, TABLE_CHUNKING } from "./chunking.ts";
import { copyPendingTables } from "./copy_tables.ts";
import { finishBackupRun } from "./finish.ts";
import { holdForBackup } from "./lock.ts";
import { startBackupRun } from "./start.ts";
import type { BackupProgress } from "./state.ts";

export { TABLE_CHUNKING } from "./chunking.ts";
export { IncompleteBackupError } from "./incomplete.ts";
export { copyPendingTables, type CopyPendingTablesOptions } from "./copy_tables.ts";
export { finishBackupRun, type FinishBackupRunOptions } from "./finish.ts";
export { rowsPerSlice } from "./slice_plan.ts";
export { startBackupRun, type StartBackupRunOptions } from "./start.ts";
export {
  type BackupProgress,
  type BackupRunState,
  BackupStepError,
  type CopiedSlice,
  type PendingTable,
} from "./state.ts";

/** Options for {@link backupDatabase}. */
export interface BackupDatabaseOptions {
  /** Connection URL, or a postgres.js pool allowing `parallel` connections at once. */
  db: DatabaseInput;
  repository: Repository;
  scope?: DumpScope;
  /** Tables copied at once, each over its own connection in the shared snapshot (default 2). */
  parallel?: number;
  /** Blobs of one table in flight at once (default: `defaultWriteConcurrency` of `repository`). */
  writeConcurrency?: number;
  /** Blob sizes for table data (default `TABLE_CHUNKING`). */
  chunking?: ChunkingOptions;
  /**
   * Copy tables in worker threads, each opening this repository spec itself (the same target
   * as `repository`): parsing, hashing and compression then use several cores. This thread is
   * the first of the `parallel` lanes, `parallel - 1` workers the others. Only with a
   * connection URL; the CLI sets it.
   */
  workers?: RepositorySpec;
  /** Id of the encryption key (recorded in the manifest; never the key). */
  encryptionKeyId?: string | null;
  /** `safety` for the backup a restore takes before overwriting a database. */
  purpose?: "backup" | "safety";
  label?: string;
  /** The database is not the project's: the backup's class is `other-database`. */
  otherDatabase?: boolean;
  /**
   * Record a backup that cannot reproduce everything (class `incomplete`, its warnings naming
   * what) instead of failing with {@link IncompleteBackupError} before anything is stored.
   */
  allowIncomplete?: boolean;
  signal?: AbortSignal;
  onProgress?: (progress: BackupProgress) => void;
}

/** What {@link backupDatabase} returns. */
export interface BackupResult {
  backupId: string;
  /** Raw COPY bytes of every table. */
  bytes: number;
  /** Bytes of the blobs the tables reference, as stored. */
  storedBytes: number;
  tables: number;
  rows: number;
  /** Blobs that were already stored (unchanged data). */
  reusedBlobs: number;
  seconds: number;
  manifest: DatabaseManifest;
}

/**
 * Backs up a database into a repository in one call: one exported snapshot, tables copied in
 * parallel over connections that share it, the manifest written last, all under a repository
 * hold of its own so that no prune runs meanwhile. Throws a clear error on any failure
 * (database, connection, target), in which case no manifest is written and the backup does
 * not exist.
 */
export async function backupDatabase(options: BackupDatabaseOptions): Promise<BackupResult> {
  const started = performance.now();
  const parallel = Math.max(1, Math.floor(options.parallel ?? 2));
  // Copy lanes are Web Workers: where the runtime has none (an Edge Function), stay inline.
  const useWorkers = options.workers !== undefined && typeof options.db === "string" &&
    typeof (globalThis as { Worker?: unknown }).Worker === "function";
  // 1. Hold the repository: before any blob is reused or stored, until the manifest is written.
  const hold = await holdForBackup(options.repository, options);
  const signal = options.signal ? AbortSignal.any([options.signal, hold.signal]) : hold.signal;
  // 2. Connect.
  let connection;
  try {
    connection = openConnection(options.db, { max: useWorkers ? 1 : parallel });
  } catch (error) {
    await hold.release();
    throw error;
  }
  let failed = false;
  try {
    // 3. Export one snapshot that every connection (or worker lane) reads in.
    let snapshot;
    let lanes: CopyLane[] | undefined;
    try {
      snapshot = await openExportedSnapshot(connection.sql, {
        connections: useWorkers ? 1 : parallel,
      });
    } catch (error) {
      throw connectionError(error, connection.label);
    }
    try {
      // 4. Worker lanes, when asked: each thread joins the snapshot on its own connection. This
      // thread copies too, over the coordinator's connection: it would otherwise only wait, and
      // a worker's isolate and module graph cost about 30 MB of RSS (bench/README, over TLS).
      if (useWorkers) {
        const laneOptions = {
          writeConcurrency: options.writeConcurrency ?? defaultWriteConcurrency(options.repository),
          chunking: options.chunking ?? TABLE_CHUNKING,
        };
        const workers = await openWorkerLanes(parallel - 1, {
          db: options.db as string,
          snapshotId: snapshot.id,
          repository: options.workers!,
          options: laneOptions,
        });
        // Workers first: the largest table goes to one, not to this thread, which also reports.
        lanes = [...workers, threadLane(snapshot.coordinator, options.repository, laneOptions)];
      }
      // 5. Schema: the DDL sections stored, the tables listed.
      options.onProgress?.({ phase: "schema", tablesDone: 0, tablesTotal: 0, rows: 0, bytes: 0 });
      const initial = await startBackupRun(snapshot, options.repository, {
        scope: options.scope,
        purpose: options.purpose,
        label: options.label,
        otherDatabase: options.otherDatabase,
        encryptionKeyId: options.encryptionKeyId,
        allowIncomplete: options.allowIncomplete,
        signal,
      });
      // 6. Tables: every row, in parallel.
      const state = await copyPendingTables(initial, snapshot, options.repository, {
        signal,
        onProgress: options.onProgress,
        writeConcurrency: options.writeConcurrency,
        chunking: options.chunking,
        lanes,
      });
      // 7. Manifest, last: only now does the backup exist.
      options.onProgress?.({
        phase: "manifest",
        tablesDone: state.done.length,
        tablesTotal: state.done.length,
        rows: state.done.reduce((sum, table) => sum + table.rows, 0),
        bytes: state.done.reduce((sum, table) => sum + table.bytes, 0),
      });
      const manifest = await finishBackupRun(state, options.repository, { signal });
      return {
        backupId: manifest.backupId,
        bytes: manifest.totals.bytes,
        storedBytes: manifest.totals.storedBytes,
        tables: manifest.totals.tables,
        rows: manifest.totals.rows,
        reusedBlobs: manifest.totals.reusedBlobs,
        seconds: Math.round(performance.now() - started) / 1000,
        manifest,
      };
    } finally {
      if (lanes) await Promise.all(lanes.map((lane) => lane.close()));
      await snapshot.close();
    }
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    await connection.close({ force: failed });
    await hold.release();
  }
}
