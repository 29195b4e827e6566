/**
 * A database backup as a sequence of resumable steps over a JSON-serialisable run state.
 *
 * - {@link startBackupRun} reads the schema inside a snapshot, stores the DDL sections and
 *   lists the tables to copy (largest first).
 * - {@link copyPendingTables} copies pending tables inside a snapshot, in parallel over the
 *   snapshot's connections, until none is left or a deadline passes (a table is never split:
 *   tables already started finish). It returns the new state, which a caller may checkpoint.
 * - {@link finishBackupRun} checks every referenced blob is stored with its recorded size and
 *   writes the manifest, last.
 *
 * A one-shot backup runs the three in one snapshot (`backup.ts`); a budgeted caller runs
 * `startBackupRun` and `copyPendingTables` in one step, more `copyPendingTables` steps each in
 * a new snapshot (the manifest then records `snapshots > 1`), and `finishBackupRun` at the end.
 * Blobs are content-addressed, so a step that died costs only its own work: its tables are
 * copied again next step, and their unchanged blobs are referenced, not uploaded again.
 *
 * @module
 */
import type { ChunkingOptions, Repository } from "../repository/mod.ts";
import type { DumpScope, TableToCopy } from "./catalog/model.ts";
import { readSchema } from "./catalog/mod.ts";
import { type CopyLane, threadLane } from "./copy_lane.ts";
import type { CopyCounter } from "./copy_out.ts";
import {
  type DatabaseManifest,
  type ManifestSection,
  type ManifestTable,
  newBackupId,
  saveDatabaseManifest,
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

/** A table still to copy. */
export interface PendingTable {
  schema: string;
  name: string;
  columns: string[];
  kind: "table" | "partition";
  managed: boolean;
  estimatedBytes: number;
}

/** Everything a backup run has done so far; plain JSON, safe to checkpoint (no secrets). */
export interface BackupRunState {
  stateVersion: 1;
  backupId: string;
  purpose: "backup" | "safety";
  label?: string;
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
  /** Start no new table after this time (milliseconds since the epoch). */
  deadline?: number;
  /** Start no new table once this answers true (a step's budget is spent). */
  shouldStop?: () => boolean;
  /** Called after each table with the state so far (to save a checkpoint mid-step). */
  onTableDone?: (state: BackupRunState, table: ManifestTable) => void | Promise<void>;
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
 * Copies pending tables inside `snapshot`, one per connection at a time, largest first, until
 * none is left or `deadline` passes. Returns the new state; on failure throws
 * {@link BackupStepError} carrying the state of the tables that did finish.
 */
export async function copyPendingTables(
  state: BackupRunState,
  snapshot: Snapshot,
  repository: Repository,
  options: CopyPendingTablesOptions = {},
): Promise<BackupRunState> {
  const queue = [...state.pending];
  const done = [...state.done];
  let reusedBlobs = state.reusedBlobs;
  const snapshots = state.snapshots + (snapshot.id === state.lastSnapshotId ? 0 : 1);
  const current = (): BackupRunState => ({
    ...state,
    snapshots,
    lastSnapshotId: snapshot.id,
    pending: [...queue, ...inFlight.values()].sort(bySizeDescending),
    done: [...done],
    reusedBlobs,
  });
  const inFlight = new Map<CopyCounter, PendingTable>();
  if (queue.length === 0) return current();

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
    for (const counter of inFlight.keys()) {
      rows += counter.rows;
      bytes += counter.bytes;
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

  try {
    await lockTables(snapshot, queue, options.lockTimeoutMs ?? 60_000);
    const lanes = options.lanes ??
      snapshot.connections.map((connection) =>
        threadLane(connection, repository, {
          writeConcurrency: options.writeConcurrency ?? 2,
          chunking: options.chunking ?? TABLE_CHUNKING,
        })
      );
    const worker = async (lane: CopyLane) => {
      while (!failure) {
        if (options.deadline !== undefined && Date.now() >= options.deadline) return;
        if (options.shouldStop?.()) return;
        const table = queue.shift();
        if (!table) return;
        const counter: CopyCounter = { rows: 0, bytes: 0 };
        inFlight.set(counter, table);
        try {
          const written = await lane.copy(table, counter, signal);
          if (written.size !== counter.bytes) {
            throw new Error(
              `stored ${written.size} bytes of the ${counter.bytes} bytes read`,
            );
          }
          done.push({
            schema: table.schema,
            name: table.name,
            columns: table.columns,
            kind: table.kind,
            managed: table.managed,
            rows: counter.rows,
            bytes: counter.bytes,
            sha256: written.sha256,
            storedBytes: written.storedSize,
            blobs: written.blobs,
            snapshotTime: snapshot.time,
          });
          reusedBlobs += written.reusedBlobs;
          inFlight.delete(counter);
          report(tableLabel(table));
        } catch (error) {
          inFlight.delete(counter);
          queue.unshift(table);
          if (!failure) {
            const reason = outer?.aborted ? "the backup was cancelled" : describeCopyError(error);
            failure = new Error(`Could not back up table ${tableLabel(table)}: ${reason}`, {
              cause: error,
            });
            abort.abort(failure);
          }
          return;
        }
        try {
          await options.onTableDone?.(current(), done[done.length - 1]);
        } catch (error) {
          failure ??= error instanceof Error ? error : new Error(String(error));
          abort.abort(failure);
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
  })).sort(bySizeDescending);
}

function bySizeDescending(a: PendingTable, b: PendingTable): number {
  return b.estimatedBytes - a.estimatedBytes || compare(tableLabel(a), tableLabel(b));
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
