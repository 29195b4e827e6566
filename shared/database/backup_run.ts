/**
 * A database backup as a sequence of resumable steps over a JSON-serialisable run state.
 *
 * - {@link startBackupRun} reads the schema inside a snapshot, stores the DDL sections and
 *   lists the tables to copy (largest first), each with its ordered key when it has one.
 * - {@link copyPendingTables} copies pending tables inside a snapshot, in parallel over the
 *   snapshot's connections, until none is left or a deadline passes. It returns the new
 *   state, which a caller may checkpoint.
 * - {@link finishBackupRun} checks every referenced blob is stored with its recorded size and
 *   writes the manifest, last.
 *
 * A one-shot backup runs the three in one snapshot (`backup.ts`); a budgeted caller runs
 * `startBackupRun` and `copyPendingTables` in one step, more `copyPendingTables` steps each in
 * a new snapshot (the manifest then records `snapshots > 1`), and `finishBackupRun` at the end.
 * Blobs are content-addressed, so a step that died costs only its own work: its tables are
 * copied again next step, and their unchanged blobs are referenced, not uploaded again.
 *
 * Slices: given `sliceBytes` (a budgeted step), a table larger than that which has an ordered
 * key (`catalog/copy_keys.ts`) is copied in key-ordered slices of at most about that many COPY
 * bytes, ended at keys chosen by content (`slices.ts`). The deadline and `shouldStop` are
 * checked between slices, the state records the slices done (their blobs, and the last key
 * reached), and the next step goes on from there, in its own snapshot; the table's manifest
 * entry lists its slices (`manifest.ts`). A
 * table without such a key, or smaller than a slice, is copied whole with a plain `COPY t TO
 * STDOUT` (the fast path, pg_dump's output): once started it always finishes, so a step may
 * overrun its budget by what a large keyless table costs. Without `sliceBytes` (the worker, a
 * one-shot backup) every table is copied whole, except that a table a budgeted step left
 * part-way is finished as one last slice from where it stopped.
 *
 * The state is additive: a state written before slices existed (no `key`, `estimatedRows` or
 * `slices` on its pending tables) is read as tables to copy whole.
 *
 * @module
 */
import type { BlobRef, ChunkingOptions, Repository } from "../repository/mod.ts";
import { deriveBackupClass } from "./backup_class.ts";
import type { DumpScope, KeyColumn, TableToCopy } from "./catalog/model.ts";
import { readSchema } from "./catalog/mod.ts";
import { type CopyLane, threadLane } from "./copy_lane.ts";
import type { CopyCounter, CopySource } from "./copy_out.ts";
import {
  type DatabaseManifest,
  type ManifestSection,
  type ManifestTable,
  newBackupId,
  saveDatabaseManifest,
  slicesDigest,
} from "./manifest.ts";
import { sectionBlobs, storeSection } from "./sections.ts";
import type { Snapshot } from "./snapshot.ts";
import { qualifiedName, tableLabel } from "./sql_text.ts";

/**
 * Blob sizes for table data: 0.5 / 2 / 4 MiB (minimum, average, maximum). Smaller than the
 * repository's general default to keep memory flat with several tables in flight (each holds
 * up to `writeConcurrency + 1` blobs); boundaries stay content-defined, so unchanged tables
 * still produce the same blobs as long as these sizes stay the same.
 */
export const TABLE_CHUNKING: Readonly<Required<ChunkingOptions>> = Object.freeze({
  minSize: 512 * 1024,
  avgSize: 2 * 1024 * 1024,
  maxSize: 4 * 1024 * 1024,
});

/**
 * Blobs a table has in flight while it copies: one on a local disk, where a write is done before
 * the next blob is cut (measured: no slower than two, and 8 MiB less for two tables in flight);
 * two on an object store, to hide each upload's round trips.
 */
export function defaultWriteConcurrency(repository: Repository): number {
  return repository.target.kind === "file" ? 1 : 2;
}

/** A table still to copy. */
export interface PendingTable {
  schema: string;
  name: string;
  columns: string[];
  kind: "table" | "partition";
  managed: boolean;
  estimatedBytes: number;
  /** From pg_class.reltuples (0 when unknown); absent in states from before slices. */
  estimatedRows?: number;
  /** The key the table can be copied in slices by; absent: always copied whole. */
  key?: KeyColumn[];
  /** Slices copied so far, in key order: the next one starts after the last one's `through`. */
  slices?: CopiedSlice[];
}

/** A slice of a table copied by an earlier step or earlier in this one. */
export interface CopiedSlice {
  /** The key of the slice's last row (text per key column); null: it ran to the table's end. */
  through: string[] | null;
  rows: number;
  /** Raw COPY text bytes. */
  bytes: number;
  /** SHA-256 of the slice's COPY text. */
  sha256: string;
  storedBytes: number;
  /** The slice's blobs, in stream order. */
  blobs: BlobRef[];
  /** The time of the snapshot the slice was read in. */
  snapshotTime: string;
}

/** Everything a backup run has done so far; plain JSON, safe to checkpoint (no secrets). */
export interface BackupRunState {
  stateVersion: 1;
  backupId: string;
  purpose: "backup" | "safety";
  label?: string;
  /** The database is not the project's (`backup_class.ts`): the backup is `other-database`. */
  otherDatabase?: boolean;
  startedAt: string;
  scope: DumpScope;
  compression: "zstd" | "gzip" | "none";
  encryptionKeyId: string | null;
  source: { serverVersion: string; database: string; isSupabase: boolean };
  /** Time of the first snapshot. */
  snapshotTime: string;
  /** How many snapshots tables were copied in so far. */
  snapshots: number;
  /** The last snapshot used (to count new ones). */
  lastSnapshotId: string;
  roles: string[];
  warnings: string[];
  sections: { preData: ManifestSection; postData: ManifestSection };
  /** Tables still to copy, largest first. */
  pending: PendingTable[];
  /** Tables copied, with their blobs. */
  done: ManifestTable[];
  /** Blobs that were already stored when written. */
  reusedBlobs: number;
}

/** Progress of a backup, reported while it runs. */
export interface BackupProgress {
  phase: "schema" | "tables" | "manifest";
  tablesDone: number;
  tablesTotal: number;
  /** Rows copied so far (tables in flight included). */
  rows: number;
  /** Raw COPY bytes copied so far (tables in flight included). */
  bytes: number;
  /** The table that just finished, if any. */
  table?: string;
}

/** A step failed; `state` holds what was finished before the failure (safe to resume from). */
export class BackupStepError extends Error {
  constructor(message: string, readonly state: BackupRunState, options?: ErrorOptions) {
    super(message, options);
    this.name = "BackupStepError";
  }
}

/** Options for {@link startBackupRun}. */
export interface StartBackupRunOptions {
  scope?: DumpScope;
  purpose?: "backup" | "safety";
  label?: string;
  /** The database is not the project's: the backup's class is `other-database`. */
  otherDatabase?: boolean;
  /** Id of the key blobs are encrypted with (never the key); null or omitted when none. */
  encryptionKeyId?: string | null;
  backupId?: string;
  signal?: AbortSignal;
}

/** Reads the schema inside `snapshot`, stores the DDL sections, and lists the tables to copy. */
export async function startBackupRun(
  snapshot: Snapshot,
  repository: Repository,
  options: StartBackupRunOptions = {},
): Promise<BackupRunState> {
  const startedAt = new Date().toISOString();
  const scope = normaliseScope(options.scope ?? {});
  const schema = await readSchema(snapshot.coordinator, scope);
  options.signal?.throwIfAborted();
  const pre = schema.statements.filter((statement) => statement.section === "pre-data");
  const post = schema.statements.filter((statement) => statement.section === "post-data");
  const [preData, postData] = await Promise.all([
    storeSection(repository, pre, { signal: options.signal }),
    storeSection(repository, post, { signal: options.signal }),
  ]);
  return {
    stateVersion: 1,
    backupId: options.backupId ?? newBackupId(),
    purpose: options.purpose ?? "backup",
    ...(options.label === undefined ? {} : { label: options.label }),
    ...(options.otherDatabase ? { otherDatabase: true } : {}),
    startedAt,
    scope,
    compression: repository.compression,
    encryptionKeyId: options.encryptionKeyId ?? (repository.encrypted ? "active" : null),
    source: {
      serverVersion: schema.serverVersion,
      database: schema.database,
      isSupabase: schema.isSupabase,
    },
    snapshotTime: snapshot.time,
    snapshots: 1,
    lastSnapshotId: snapshot.id,
    roles: [...schema.roles],
    warnings: [...schema.warnings],
    sections: { preData, postData },
    pending: orderTables(schema.tables),
    done: [],
    reusedBlobs: 0,
  };
}

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

/** A table a lane is copying, with the slices done so far and the current copy's totals. */
interface InFlight {
  table: PendingTable;
  counter: CopyCounter;
}

/**
 * Copies pending tables inside `snapshot`, one per connection at a time, largest first (tables
 * started in slices first), until none is left or `deadline` passes. Returns the new state; on
 * failure throws {@link BackupStepError} carrying the state of the tables and slices that did
 * finish.
 */
export async function copyPendingTables(
  state: BackupRunState,
  snapshot: Snapshot,
  repository: Repository,
  options: CopyPendingTablesOptions = {},
): Promise<BackupRunState> {
  const queue = [...state.pending].sort(byProgressThenSize);
  const done = [...state.done];
  let reusedBlobs = state.reusedBlobs;
  const snapshots = state.snapshots + (snapshot.id === state.lastSnapshotId ? 0 : 1);
  const inFlight = new Set<InFlight>();
  const current = (): BackupRunState => ({
    ...state,
    snapshots,
    lastSnapshotId: snapshot.id,
    pending: [...queue, ...[...inFlight].map((entry) => entry.table)].sort(byProgressThenSize),
    done: [...done],
    reusedBlobs,
  });
  if (queue.length === 0) return current();
  const sliceBytes = options.sliceBytes;
  if (sliceBytes !== undefined && !(sliceBytes >= 1)) {
    throw new RangeError(`Slices must be at least 1 byte, got ${sliceBytes}`);
  }

  const abort = new AbortController();
  const outer = options.signal;
  const onAbort = () => abort.abort(outer?.reason);
  outer?.addEventListener("abort", onAbort, { once: true });
  const signal = abort.signal;
  let failure: Error | undefined;
  const total = done.length + queue.length;
  const doneRows = () => done.reduce((sum, table) => sum + table.rows, 0);
  const doneBytes = () => done.reduce((sum, table) => sum + table.bytes, 0);
  const report = (table?: string) => {
    if (!options.onProgress) return;
    let rows = doneRows();
    let bytes = doneBytes();
    for (const entry of inFlight) {
      for (const slice of entry.table.slices ?? []) {
        rows += slice.rows;
        bytes += slice.bytes;
      }
      rows += entry.counter.rows;
      bytes += entry.counter.bytes;
    }
    options.onProgress({
      phase: "tables",
      tablesDone: done.length,
      tablesTotal: total,
      rows,
      bytes,
      table,
    });
  };
  const ticker = options.onProgress ? setInterval(() => report(), 1000) : undefined;
  const timeIsUp = () =>
    (options.deadline !== undefined && Date.now() >= options.deadline) ||
    options.shouldStop?.() === true;
  const fail = (error: unknown) => {
    failure ??= error instanceof Error ? error : new Error(String(error));
    abort.abort(failure);
  };

  /** Copies a table or one of its slices on `lane`: what was stored, as the manifest says it. */
  const copyOnce = async (lane: CopyLane, source: CopySource, entry: InFlight) => {
    const written = await lane.copy(source, entry.counter, signal);
    checkWritten(written.size, entry.counter.bytes);
    reusedBlobs += written.reusedBlobs;
    return {
      rows: entry.counter.rows,
      bytes: entry.counter.bytes,
      sha256: written.sha256,
      storedBytes: written.storedSize,
      blobs: written.blobs,
      snapshotTime: snapshot.time,
    };
  };

  /** Copies one whole table with a plain COPY. */
  const copyWhole = async (lane: CopyLane, entry: InFlight): Promise<ManifestTable> => ({
    ...tableIdentity(entry.table),
    ...await copyOnce(lane, entry.table, entry),
  });

  /**
   * Copies the table's next slices until its last one (then returns the finished table) or
   * until time is up or another lane failed (then returns undefined, the slices done kept in
   * `entry.table`).
   */
  const copySlices = async (
    lane: CopyLane,
    entry: InFlight,
  ): Promise<ManifestTable | undefined> => {
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
      signal.throwIfAborted();
      entry.counter = { rows: 0, bytes: 0 };
      const slice: CopiedSlice = {
        through,
        ...await copyOnce(lane, { ...source, range: { key, after, through } }, entry),
      };
      entry.table = { ...entry.table, slices: [...slices, slice] };
      entry.counter = { rows: 0, bytes: 0 };
      if (through === null) return await slicedTable(entry.table);
      try {
        await options.onSliceDone?.(current(), entry.table, slice);
      } catch (error) {
        fail(error);
        return undefined;
      }
      if (failure || timeIsUp()) return undefined;
    }
  };

  try {
    await lockTables(snapshot, queue, options.lockTimeoutMs ?? 60_000);
    const lanes = options.lanes ??
      snapshot.connections.map((connection) =>
        threadLane(connection, repository, {
          writeConcurrency: options.writeConcurrency ?? defaultWriteConcurrency(repository),
          chunking: options.chunking ?? TABLE_CHUNKING,
        })
      );
    const worker = async (lane: CopyLane) => {
      while (!failure) {
        if (timeIsUp()) return;
        const next = queue.shift();
        if (!next) return;
        const entry: InFlight = { table: next, counter: { rows: 0, bytes: 0 } };
        inFlight.add(entry);
        let finished: ManifestTable | undefined;
        try {
          finished = inSlices(entry.table, sliceBytes)
            ? await copySlices(lane, entry)
            : await copyWhole(lane, entry);
        } catch (error) {
          inFlight.delete(entry);
          queue.unshift(entry.table);
          if (!failure) {
            const reason = outer?.aborted ? "the backup was cancelled" : describeCopyError(error);
            fail(
              new Error(`Could not back up table ${tableLabel(entry.table)}: ${reason}`, {
                cause: error,
              }),
            );
          }
          return;
        }
        inFlight.delete(entry);
        if (!finished) {
          // Time is up (or another lane failed) between two slices: the table waits, its
          // slices done kept, for the next step.
          queue.unshift(entry.table);
          return;
        }
        const copied = finished.slices
          ? { rows: finished.slices.at(-1)!.rows, bytes: finished.slices.at(-1)!.bytes }
          : { rows: finished.rows, bytes: finished.bytes };
        done.push(finished);
        report(tableLabel(finished));
        try {
          await options.onTableDone?.(current(), finished, copied);
        } catch (error) {
          fail(error);
          return;
        }
      }
    };
    await Promise.all(lanes.map(worker));
  } catch (error) {
    failure ??= error instanceof Error ? error : new Error(String(error));
  } finally {
    clearInterval(ticker);
    outer?.removeEventListener("abort", onAbort);
  }
  if (failure) throw new BackupStepError(failure.message, current(), { cause: failure });
  return current();
}

/** Whether a table is copied in slices: it has a key, and it is large or already started. */
function inSlices(table: PendingTable, sliceBytes: number | undefined): boolean {
  if (!table.key?.length) return false;
  if (table.slices?.length) return true;
  return sliceBytes !== undefined && table.estimatedBytes > sliceBytes;
}

/** Width assumed for a row when nothing is known yet: wide, so a first slice errs small. */
const UNKNOWN_ROW_BYTES = 1024;

/**
 * At most how many rows the table's next slice may hold to stay within `sliceBytes` of COPY
 * text (`slices.ts` ends it by content, on average about half as far): from the widest of the
 * slices so far (all of them together, or the last one when it had enough rows to tell),
 * else from the catalog's estimate, else from a wide guess. While fewer than 16 rows were
 * copied the width is a guess, so the answer grows at most fourfold from them (plus 16) rather
 * than overshooting. The same rows give the same answer, so an unchanged table is cut the same
 * way by the next backup.
 */
export function rowsPerSlice(table: PendingTable, sliceBytes: number): number {
  const slices = table.slices ?? [];
  const last = slices.at(-1);
  const rows = slices.reduce((sum, slice) => sum + slice.rows, 0);
  const bytes = slices.reduce((sum, slice) => sum + slice.bytes, 0);
  const width = rows > 0
    ? Math.max(bytes / rows, last && last.rows >= 16 ? last.bytes / last.rows : 0)
    : (table.estimatedRows ?? 0) > 0 && table.estimatedBytes > 0
    ? table.estimatedBytes / table.estimatedRows!
    : UNKNOWN_ROW_BYTES;
  let count = Math.floor(sliceBytes / Math.max(1, width));
  if (slices.length > 0 && rows < 16) count = Math.min(count, rows * 4 + 16);
  return Math.max(1, Math.min(count, Number.MAX_SAFE_INTEGER));
}

/** What names a table in its manifest entry. */
function tableIdentity(
  table: PendingTable,
): Pick<ManifestTable, "schema" | "name" | "columns" | "kind" | "managed"> {
  const { schema, name, columns, kind, managed } = table;
  return { schema, name, columns, kind, managed };
}

/** The manifest entry of a table copied in slices (see `manifest.ts`). */
async function slicedTable(table: PendingTable): Promise<ManifestTable> {
  const slices = table.slices!;
  const sum = (field: "rows" | "bytes" | "storedBytes") =>
    slices.reduce((total, slice) => total + slice[field], 0);
  return {
    ...tableIdentity(table),
    rows: sum("rows"),
    bytes: sum("bytes"),
    sha256: await slicesDigest(slices),
    storedBytes: sum("storedBytes"),
    blobs: slices.flatMap((slice) => slice.blobs),
    snapshotTime: slices[0].snapshotTime,
    key: table.key!.map((column) => column.name),
    slices: slices.map((slice) => ({
      through: slice.through,
      rows: slice.rows,
      bytes: slice.bytes,
      sha256: slice.sha256,
      storedBytes: slice.storedBytes,
      blobs: slice.blobs.length,
      snapshotTime: slice.snapshotTime,
    })),
  };
}

function checkWritten(stored: number, read: number): void {
  if (stored !== read) throw new Error(`stored ${stored} bytes of the ${read} bytes read`);
}

/** Options for {@link finishBackupRun}. */
export interface FinishBackupRunOptions {
  signal?: AbortSignal;
  /** Blobs checked at once (default 8). */
  concurrency?: number;
}

/**
 * Checks that every blob the backup references is stored with its recorded stored size, then
 * writes the manifest (last) and returns it. Throws when tables are still pending.
 */
export async function finishBackupRun(
  state: BackupRunState,
  repository: Repository,
  options: FinishBackupRunOptions = {},
): Promise<DatabaseManifest> {
  if (state.pending.length > 0) {
    throw new Error(`The backup still has ${state.pending.length} tables to copy`);
  }
  const blobs = new Map<string, { id: string; size: number; storedSize: number }>();
  for (const table of state.done) for (const blob of table.blobs) blobs.set(blob.id, blob);
  for (const blob of sectionBlobs(state.sections.preData)) blobs.set(blob.id, blob);
  for (const blob of sectionBlobs(state.sections.postData)) blobs.set(blob.id, blob);
  const refs = [...blobs.values()];
  const concurrency = options.concurrency ?? 8;
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, refs.length) }, async () => {
    while (next < refs.length) {
      options.signal?.throwIfAborted();
      const check = await repository.verifyBlob(refs[next++]);
      if (!check.ok) throw new Error(`The backup cannot be completed: ${check.message}`);
    }
  }));
  options.signal?.throwIfAborted();
  const tables = [...state.done].sort((a, b) =>
    a.schema === b.schema ? compare(a.name, b.name) : compare(a.schema, b.schema)
  );
  const manifest: DatabaseManifest = {
    formatVersion: 1,
    kind: "database",
    backupId: state.backupId,
    purpose: state.purpose,
    class: deriveBackupClass(state),
    ...(state.label === undefined ? {} : { label: state.label }),
    source: state.source,
    startedAt: state.startedAt,
    finishedAt: new Date().toISOString(),
    snapshotTime: state.snapshotTime,
    snapshots: state.snapshots,
    options: {
      scope: state.scope,
      compression: state.compression,
      encryptionKeyId: state.encryptionKeyId,
      copyFormat: "text",
    },
    roles: state.roles,
    warnings: state.warnings,
    sections: state.sections,
    tables,
    totals: {
      tables: tables.length,
      rows: tables.reduce((sum, table) => sum + table.rows, 0),
      bytes: tables.reduce((sum, table) => sum + table.bytes, 0),
      storedBytes: tables.reduce((sum, table) => sum + table.storedBytes, 0),
      blobs: blobs.size,
      reusedBlobs: state.reusedBlobs,
    },
  };
  await saveDatabaseManifest(repository, manifest);
  return manifest;
}

/** Takes ACCESS SHARE locks on the tables in the coordinator, as pg_dump does. */
async function lockTables(snapshot: Snapshot, tables: PendingTable[], timeoutMs: number) {
  if (tables.length === 0) return;
  const coordinator = snapshot.coordinator;
  await coordinator`select set_config('lock_timeout', ${`${timeoutMs}ms`}, true)`;
  const names = tables.map((table) => qualifiedName(table.schema, table.name)).join(", ");
  try {
    // Every name is quoted by qualifiedName; the statement has no parameters.
    await coordinator.unsafe(`lock table ${names} in access share mode`);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`Could not lock the tables to back up: ${reason}`, { cause: error });
  }
  await coordinator`select set_config('lock_timeout', '0', true)`;
}

const CONNECTION_LOST = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
  "CONNECTION_ENDED",
  "ECONNRESET",
  "EPIPE",
  "57P01",
  "57P02",
  "57P03",
]);

/** One clause on why a table's copy failed; a lost database connection is named as such. */
export function describeCopyError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string } | null)?.code;
  if (code !== undefined && CONNECTION_LOST.has(code)) {
    return `the database connection was lost (${message})`;
  }
  return message;
}

function orderTables(tables: readonly TableToCopy[]): PendingTable[] {
  return tables.map((table) => ({
    schema: table.schema,
    name: table.name,
    columns: [...table.columns],
    kind: table.kind,
    managed: table.managed,
    estimatedBytes: table.estimatedBytes,
    estimatedRows: table.estimatedRows,
    ...(table.key ? { key: table.key.map((column) => ({ ...column })) } : {}),
  })).sort(byProgressThenSize);
}

/** Tables started in slices first (to finish them), then the largest first. */
function byProgressThenSize(a: PendingTable, b: PendingTable): number {
  return Number(Boolean(b.slices?.length)) - Number(Boolean(a.slices?.length)) ||
    b.estimatedBytes - a.estimatedBytes || compare(tableLabel(a), tableLabel(b));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function normaliseScope(scope: DumpScope): DumpScope {
  const out: DumpScope = {};
  for (
    const key of ["includeSchemas", "excludeSchemas", "includeTables", "excludeTables"] as const
  ) {
    if (scope[key]?.length) out[key] = [...new Set(scope[key])].sort();
  }
  if (scope.schemaOnly) out.schemaOnly = true;
  if (scope.dataOnly) out.dataOnly = true;
  return out;
}
