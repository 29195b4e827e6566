/**
 * Copying one table on one lane: whole with a plain `COPY t TO STDOUT` (the fast path,
 * pg_dump's output), or in key-ordered slices, one `COPY (SELECT …)` each, checking between
 * slices whether the step must stop. The large objects' contents are copied as a whole table.
 *
 * @module
 */
import type { CopyLane } from "../../pg/copy_lane.ts";
import type { CopySource } from "../../pg/copy_out.ts";
import type { ManifestTable } from "../manifest.ts";
import type { CopyControl } from "./control.ts";
import type { CopyLedger, InFlight } from "./ledger.ts";
import { inSlices, rowsPerSlice } from "./slice_plan.ts";
import type { BackupRunState, CopiedSlice, PendingTable } from "./state.ts";
import { slicedTable, tableIdentity } from "./table_entry.ts";

/** What a table's copy works with, shared by every lane of a step. */
export interface TableCopyContext {
  ledger: CopyLedger;
  control: CopyControl;
  /** The time of the exported snapshot the rows are read in. */
  snapshotTime: string;
  /** Slice size in raw COPY bytes; undefined: tables are copied whole (see `slice_plan.ts`). */
  sliceBytes?: number;
  /** Called after each slice but a table's last, with the state so far (a checkpoint). */
  onSliceDone?: (
    state: BackupRunState,
    table: PendingTable,
    slice: CopiedSlice,
  ) => void | Promise<void>;
}

/**
 * Copies the table in `entry` on `lane`: the finished manifest entry, or undefined when the
 * step stopped between two slices (the slices done kept in `entry.table`). Throws when a copy
 * fails.
 */
export function copyTable(
  lane: CopyLane,
  entry: InFlight,
  context: TableCopyContext,
): Promise<ManifestTable | undefined> {
  return inSlices(entry.table, context.sliceBytes)
    ? copySlices(lane, entry, context)
    : copyWhole(lane, entry, context);
}

/**
 * Copies one whole table with a plain COPY (only the rows its condition selects, for an
 * extension's configuration table), or the large objects' contents.
 */
async function copyWhole(
  lane: CopyLane,
  entry: InFlight,
  context: TableCopyContext,
): Promise<ManifestTable> {
  const { table } = entry;
  const source: CopySource = {
    schema: table.schema,
    name: table.name,
    columns: table.columns,
    ...(table.extension?.condition ? { condition: table.extension.condition } : {}),
    ...(table.largeObjects ? { largeObjects: true } : {}),
  };
  return {
    ...tableIdentity(table),
    ...await copyOnce(lane, source, entry, context),
  };
}

/**
 * Copies the table's next slices until its last one (then returns the finished table) or
 * until time is up or another lane failed (then returns undefined, the slices done kept in
 * `entry.table`).
 */
async function copySlices(
  lane: CopyLane,
  entry: InFlight,
  context: TableCopyContext,
): Promise<ManifestTable | undefined> {
  const { control, sliceBytes } = context;
  const key = entry.table.key!;
  while (true) {
    const slices = entry.table.slices ?? [];
    const after = slices.at(-1)?.through ?? null;
    const source: CopySource = {
      schema: entry.table.schema,
      name: entry.table.name,
      columns: entry.table.columns,
    };
    const through = sliceBytes === undefined ? null : await lane.sliceEnd({
      table: source,
      key,
      after,
      rows: rowsPerSlice(entry.table, sliceBytes),
    });
    control.signal.throwIfAborted();
    entry.counter = { rows: 0, bytes: 0 };
    const slice: CopiedSlice = {
      through,
      ...await copyOnce(lane, { ...source, range: { key, after, through } }, entry, context),
    };
    entry.table = { ...entry.table, slices: [...slices, slice] };
    entry.counter = { rows: 0, bytes: 0 };
    if (through === null) return await slicedTable(entry.table);
    try {
      await context.onSliceDone?.(context.ledger.current(), entry.table, slice);
    } catch (error) {
      control.fail(error);
      return undefined;
    }
    if (control.failure || control.timeIsUp()) return undefined;
  }
}

/** Copies a table or one of its slices on `lane`: what was stored, as the manifest says it. */
async function copyOnce(
  lane: CopyLane,
  source: CopySource,
  entry: InFlight,
  context: TableCopyContext,
) {
  const written = await lane.copy(source, entry.counter, context.control.signal);
  checkWritten(written.size, entry.counter.bytes);
  context.ledger.addReusedBlobs(written.reusedBlobs);
  return {
    rows: entry.counter.rows,
    bytes: entry.counter.bytes,
    sha256: written.sha256,
    storedBytes: written.storedSize,
    blobs: written.blobs,
    snapshotTime: context.snapshotTime,
  };
}

/** Every byte COPY sent must have reached the repository. */
function checkWritten(stored: number, read: number): void {
  if (stored !== read) throw new Error(`stored ${stored} bytes of the ${read} bytes read`);
}
