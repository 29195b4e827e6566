/**
 * The second phase of a database backup: the pending tables copied inside the exported
 * snapshot, one table per lane at a time, largest first (tables started in slices first),
 * until none is left or the step must stop.
 *
 * The parts, one file each: {@link CopyLedger} keeps what is done and what is left,
 * {@link CopyControl} says when to stop, {@link copyTable} copies one table (whole or in
 * slices), and {@link runLane} below feeds a lane table after table.
 *
 * @module
 */
import type { ChunkingOptions, Repository } from "../../repository/mod.ts";
import type { ExportedSnapshot } from "../../pg/exported_snapshot.ts";
import { type CopyLane, threadLane } from "../../pg/copy_lane.ts";
import type { CopyCounter } from "../../pg/copy_out.ts";
import { largeObjectCensus } from "../../pg/large_objects.ts";
import { tableLabel } from "../../pg/sql_text.ts";
import type { ManifestTable } from "../manifest.ts";
import { defaultWriteConcurrency, TABLE_CHUNKING } from "./chunking.ts";
import { CopyControl } from "./control.ts";
import { describeCopyError } from "./copy_error.ts";
import { CopyLedger } from "./ledger.ts";
import { lockTables } from "./lock_tables.ts";
import {
  type BackupProgress,
  type BackupRunState,
  BackupStepError,
  type CopiedSlice,
  type PendingTable,
} from "./state.ts";
import { copyTable, type TableCopyContext } from "./table_copy.ts";

/** Options for {@link copyPendingTables}. */
export interface CopyPendingTablesOptions {
  /** Start no new table or slice after this time (milliseconds since the epoch). */
  deadline?: number;
  /** Start no new table or slice once this answers true (a step's budget is spent). */
  shouldStop?: () => boolean;
  /**
   * Copy a table that has an ordered key and is larger than this (raw COPY bytes, estimated)
   * in key-ordered slices of at most about this size, checking `deadline` and `shouldStop`
   * between slices. Omitted: tables are copied whole (a table a budgeted step left part-way
   * is finished in one slice).
   */
  sliceBytes?: number;
  /**
   * Called after each table with the state so far (to save a checkpoint mid-step) and what
   * this call copied of the table (all of it, or its last slice).
   */
  onTableDone?: (
    state: BackupRunState,
    table: ManifestTable,
    copied: CopyCounter,
  ) => void | Promise<void>;
  /**
   * Called after each slice but a table's last (which ends in `onTableDone`) with the state
   * so far, which holds the slice: to save a checkpoint mid-table.
   */
  onSliceDone?: (
    state: BackupRunState,
    table: PendingTable,
    slice: CopiedSlice,
  ) => void | Promise<void>;
  /** Blobs of one table hashed, compressed and uploaded at once (default 2). */
  writeConcurrency?: number;
  /** Blob sizes for table data (default {@link TABLE_CHUNKING}). */
  chunking?: ChunkingOptions;
  /**
   * Where tables are copied, one table per lane at a time (default: one lane in this thread
   * per snapshot connection). Worker lanes must have joined this snapshot.
   */
  lanes?: readonly CopyLane[];
  /** How long to wait for the ACCESS SHARE locks on the tables (default 60 s). */
  lockTimeoutMs?: number;
  signal?: AbortSignal;
  onProgress?: (progress: BackupProgress) => void;
}

/**
 * Copies pending tables inside `snapshot`, one per connection at a time, largest first (tables
 * started in slices first), until none is left or `deadline` passes. Returns the new state; on
 * failure throws {@link BackupStepError} carrying the state of the tables and slices that did
 * finish.
 */
export async function copyPendingTables(
  state: BackupRunState,
  snapshot: ExportedSnapshot,
  repository: Repository,
  options: CopyPendingTablesOptions = {},
): Promise<BackupRunState> {
  const ledger = new CopyLedger(state, snapshot.id);
  if (ledger.queued.length === 0) return ledger.current();
  const sliceBytes = options.sliceBytes;
  if (sliceBytes !== undefined && !(sliceBytes >= 1)) {
    throw new RangeError(`Slices must be at least 1 byte, got ${sliceBytes}`);
  }
  const control = new CopyControl(options);
  const report = (table?: string) => options.onProgress?.(ledger.progress(table));
  const ticker = options.onProgress ? setInterval(() => report(), 1000) : undefined;
  const context: LaneContext = {
    ledger,
    control,
    snapshotTime: snapshot.time,
    sliceBytes,
    onSliceDone: options.onSliceDone,
    onTableDone: options.onTableDone,
    report,
  };
  try {
    // Locked before any row is read, as pg_dump does.
    await lockTables(snapshot, ledger.queued, options.lockTimeoutMs ?? 60_000);
    await checkLargeObjects(snapshot, ledger.queued);
    const lanes = options.lanes ??
      snapshot.connections.map((connection) =>
        threadLane(connection, repository, {
          writeConcurrency: options.writeConcurrency ?? defaultWriteConcurrency(repository),
          chunking: options.chunking ?? TABLE_CHUNKING,
        })
      );
    await Promise.all(lanes.map((lane) => runLane(lane, context)));
  } catch (error) {
    control.record(error);
  } finally {
    clearInterval(ticker);
    control.close();
  }
  const failure = control.failure;
  if (failure) throw new BackupStepError(failure.message, ledger.current(), { cause: failure });
  return ledger.current();
}

/**
 * The large objects' contents must be those of the objects the DDL creates: read in another
 * snapshot than the schema (a later step), they are first counted again, and the backup fails
 * when the objects, or their sizes, changed meanwhile (their definitions and contents would
 * not match). Read in the schema's snapshot, as the copy order makes it usual, nothing to do.
 */
async function checkLargeObjects(
  snapshot: ExportedSnapshot,
  queued: readonly PendingTable[],
): Promise<void> {
  const expected = queued.find((table) => table.largeObjects)?.largeObjects;
  if (!expected || expected.snapshotId === snapshot.id) return;
  const now = await largeObjectCensus(snapshot.coordinator);
  if (
    now.count !== expected.count || now.bytes !== expected.bytes ||
    now.digest !== expected.digest
  ) {
    throw new Error(
      `The large objects changed since the backup read the schema (${expected.count} objects ` +
        `of ${expected.bytes} bytes then, ${now.count} of ${now.bytes} now): start a new backup`,
    );
  }
}

/** What a lane works with: a table's copy context, and what to tell after each table. */
interface LaneContext extends TableCopyContext {
  onTableDone?: CopyPendingTablesOptions["onTableDone"];
  report: (table?: string) => void;
}

/**
 * Feeds one lane table after table until none is left, time is up or a lane failed. A table
 * that failed, or stopped between slices, goes back to the queue, its finished slices kept.
 */
async function runLane(lane: CopyLane, context: LaneContext): Promise<void> {
  const { ledger, control } = context;
  while (!control.failure) {
    if (control.timeIsUp()) return;
    const entry = ledger.take();
    if (!entry) return;
    let finished: ManifestTable | undefined;
    try {
      finished = await copyTable(lane, entry, context);
    } catch (error) {
      ledger.putBack(entry);
      if (!control.failure) {
        const reason = control.cancelled ? "the backup was cancelled" : describeCopyError(error);
        const what = entry.table.largeObjects
          ? "the large objects"
          : `table ${tableLabel(entry.table)}`;
        control.fail(new Error(`Could not back up ${what}: ${reason}`, { cause: error }));
      }
      return;
    }
    if (!finished) {
      // Time is up (or another lane failed) between two slices: the table waits, its slices
      // done kept, for the next step.
      ledger.putBack(entry);
      return;
    }
    const copied = finished.slices
      ? { rows: finished.slices.at(-1)!.rows, bytes: finished.slices.at(-1)!.bytes }
      : { rows: finished.rows, bytes: finished.bytes };
    ledger.finish(entry, finished);
    context.report(tableLabel(finished));
    try {
      await context.onTableDone?.(ledger.current(), finished, copied);
    } catch (error) {
      control.fail(error);
      return;
    }
  }
}
