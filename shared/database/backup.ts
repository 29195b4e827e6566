/**
 * One-shot database backup: one consistent snapshot, tables copied in parallel over
 * connections that share it, the manifest written last, all under a repository lock of its own
 * (`repository/hold.ts`) so that no prune runs meanwhile.
 *
 * @module
 */
import type { ChunkingOptions, Repository } from "../repository/mod.ts";
import {
  type BackupProgress,
  copyPendingTables,
  finishBackupRun,
  startBackupRun,
  TABLE_CHUNKING,
} from "./backup_run.ts";
import type { DumpScope } from "./catalog/model.ts";
import { connectionError, type DatabaseInput, openConnection } from "./connect.ts";
import { type CopyLane, openWorkerLanes, type RepositorySpec } from "./copy_lane.ts";
import type { DatabaseManifest } from "./manifest.ts";
import { openSnapshot } from "./snapshot.ts";
import { holdRepository } from "../repository/hold.ts";

/** Options for {@link backupDatabase}. */
export interface BackupDatabaseOptions {
  /** Connection URL, or a postgres.js pool allowing `parallel` connections at once. */
  db: DatabaseInput;
  repository: Repository;
  scope?: DumpScope;
  /** Tables copied at once, each over its own connection in the shared snapshot (default 2). */
  parallel?: number;
  /** Blobs of one table in flight at once (default 2). */
  writeConcurrency?: number;
  /** Blob sizes for table data (default `TABLE_CHUNKING`). */
  chunking?: ChunkingOptions;
  /**
   * Copy tables in worker threads, each opening this repository spec itself (the same target
   * as `repository`): parsing, hashing and compression then use several cores. Only with a
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
 * Backs up a database into a repository. Throws a clear error on any failure (database,
 * connection, target), in which case no manifest is written and the backup does not exist.
 */
export async function backupDatabase(options: BackupDatabaseOptions): Promise<BackupResult> {
  const started = performance.now();
  const parallel = Math.max(1, Math.floor(options.parallel ?? 2));
  const useWorkers = options.workers !== undefined && typeof options.db === "string";
  // Held before any blob is reused or stored, until the manifest is written: a prune refuses
  // to start meanwhile, and this waits while one runs.
  const hold = (await holdRepository(options.repository, {
    kind: "database",
    id: options.purpose === "safety" ? "safety" : "backup",
    owner: options.purpose === "safety" ? "safety backup" : "database backup",
    signal: options.signal,
    onWait: (prune) =>
      console.error(
        `A prune holds the repository (until ${prune.expiresAt} at the latest); ` +
          `the backup waits for it`,
      ),
  }))!;
  const signal = options.signal ? AbortSignal.any([options.signal, hold.signal]) : hold.signal;
  let connection;
  try {
    connection = openConnection(options.db, { max: useWorkers ? 1 : parallel });
  } catch (error) {
    await hold.release();
    throw error;
  }
  let failed = false;
  try {
    let snapshot;
    let lanes: CopyLane[] | undefined;
    try {
      snapshot = await openSnapshot(connection.sql, { connections: useWorkers ? 1 : parallel });
    } catch (error) {
      throw connectionError(error, connection.label);
    }
    try {
      if (useWorkers) {
        lanes = await openWorkerLanes(parallel, {
          db: options.db as string,
          snapshotId: snapshot.id,
          repository: options.workers!,
          options: {
            writeConcurrency: options.writeConcurrency ?? 2,
            chunking: options.chunking ?? TABLE_CHUNKING,
          },
        });
      }
      options.onProgress?.({ phase: "schema", tablesDone: 0, tablesTotal: 0, rows: 0, bytes: 0 });
      const initial = await startBackupRun(snapshot, options.repository, {
        scope: options.scope,
        purpose: options.purpose,
        label: options.label,
        otherDatabase: options.otherDatabase,
        encryptionKeyId: options.encryptionKeyId,
        signal,
      });
      const state = await copyPendingTables(initial, snapshot, options.repository, {
        signal,
        onProgress: options.onProgress,
        writeConcurrency: options.writeConcurrency,
        chunking: options.chunking,
        lanes,
      });
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
