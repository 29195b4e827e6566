/**
 * Restores a database backup into a destination database.
 *
 * Order of work, and what a failure leaves behind:
 * 1. The manifest is loaded and validated, and EVERY blob the restore needs is verified deeply
 *    (decoded and re-hashed) before anything is written: a damaged backup changes nothing.
 * 2. The destination is inspected, and the restore refuses, before writing anything, when it
 *    would mix rows: tables it would create already exist, tables it would load into are
 *    missing, or hold rows (unless `truncate`).
 * 3. A non-empty destination is first backed up into the same repository (a "safety" backup),
 *    unless `safetyBackup: false`.
 * 4. Pre-data DDL runs in one transaction (all or nothing).
 * 5. Tables load in parallel, each in its own transaction (`TRUNCATE` when asked, then `COPY`),
 *    with triggers and foreign-key checks off (`session_replication_role = replica`) where
 *    the role may set it; the server's row count must equal the manifest's.
 * 6. Post-data DDL: index and constraint builds in parallel, then the rest (foreign keys,
 *    triggers, policies, grants, sequence values).
 *
 * A full restore of a backup read in one snapshot, loading with triggers off, adds the foreign
 * keys before step 5 instead, on the empty tables (after the referenced keys): the rows held
 * the keys in the source's snapshot, so they are not checked again row by row, which on a large
 * table is the longest step of a restore (see `planEarlyForeignKeys`). A backup assembled from
 * several snapshots (budgeted Edge steps) may hold rows that break a key, and is checked as
 * usual: the restore then fails on the key, naming it, rather than leave it broken.
 *
 * Modes: everything (into an empty database, or a Supabase project whose platform schemas
 * exist: their tables get data only, and a platform table the destination lacks is skipped
 * with a warning); `schemaOnly`; `dataOnly` (into existing tables, sequences set); `tables`
 * (data of the chosen tables into existing tables; their owned sequences are moved past the
 * loaded values).
 *
 * @module
 */
import type postgres from "postgres";
import { type Repository, requireAuthenticated } from "../repository/mod.ts";
import { backupDatabase } from "./backup.ts";
import { connectionError, type DatabaseInput, openConnection } from "./connect.ts";
import { countNewlines } from "./copy_out.ts";
import { copyIn } from "./copy_in.ts";
import {
  applyBuildGroup,
  applyInTransaction,
  applyPostDataRest,
  applyRestoreSettings,
  type BuildGroup,
  planEarlyForeignKeys,
  planTableBuilds,
  splitPostData,
} from "./ddl.ts";
import { type Destination, inspectDestination } from "./destination.ts";
import {
  type DatabaseManifest,
  loadDatabaseManifest,
  type ManifestStatement,
  type ManifestTable,
} from "./manifest.ts";
import { loadSection, sectionBlobs } from "./sections.ts";
import { prepareSession } from "./session.ts";
import { qualifiedName, quoteIdent, tableLabel } from "./sql_text.ts";

/** Options for {@link restoreDatabase}. */
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

/** What {@link restoreDatabase} returns. */
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
   * again (see the module's notes); "none", the restore added none.
   */
  foreignKeys: "checked" | "trusted" | "none";
}

/** A restore was refused or failed; `applied` says whether the destination was changed. */
export class RestoreError extends Error {
  /** The safety backup taken of the destination before it was changed, if any. */
  readonly safetyBackupId: string | null;
  constructor(
    message: string,
    readonly applied: boolean,
    options?: ErrorOptions & { safetyBackupId?: string | null },
  ) {
    super(message, options);
    this.name = "RestoreError";
    this.safetyBackupId = options?.safetyBackupId ?? null;
  }
}

type Mode = "full" | "schema-only" | "data-only" | "tables";

/** Restores a backup; see the module documentation for the order and the guarantees. */
export async function restoreDatabase(options: RestoreDatabaseOptions): Promise<RestoreResult> {
  const started = performance.now();
  const warnings: string[] = [];
  const warn = (message: string) => {
    warnings.push(message);
    options.onWarning?.(message);
  };
  const parallel = Math.max(1, Math.floor(options.parallel ?? 2));
  if (options.schemaOnly && options.dataOnly) {
    throw new RestoreError("Choose at most one of schema-only and data-only", false);
  }
  if (options.schemaOnly && options.tables?.length) {
    throw new RestoreError("Choosing tables restores their data; it cannot be schema-only", false);
  }
  const mode: Mode = options.schemaOnly
    ? "schema-only"
    : options.dataOnly
    ? "data-only"
    : options.tables?.length
    ? "tables"
    : "full";

  const manifest = await loadDatabaseManifest(options.repository, options.backupId);
  // Nothing from the store runs, loads or is even checked unless a key holder wrote it.
  requireAuthenticated(manifest, {
    what: `Database backup ${manifest.backupId}`,
    allowUnauthenticated: options.allowUnauthenticated,
  });
  const tables = chooseTables(manifest, mode, options.tables);
  const statements = await chooseStatements(options.repository, manifest, mode);

  // 1. Verify every blob the restore needs before touching the destination.
  const progress = (phase: RestoreProgress["phase"], extra: Partial<RestoreProgress> = {}) =>
    options.onProgress?.({
      phase,
      tablesDone: 0,
      tablesTotal: tables.length,
      rows: 0,
      bytes: 0,
      ...extra,
    });
  progress("verify");
  await verifyBlobs(options.repository, manifest, tables, options.signal);

  const connection = openConnection(options.db, { max: parallel });
  let applied = false;
  let safetyBackupId: string | null = null;
  try {
    let destination: Destination;
    try {
      destination = await inspectDestination(connection.sql, tables, manifest.roles);
    } catch (error) {
      throw connectionError(error, connection.label);
    }
    const { load, skipped } = decide(mode, tables, destination, options.truncate ?? false);
    for (const label of skipped) {
      warn(`Skipped table ${label}: it is a platform table the destination does not have`);
    }
    if (destination.missingRoles.length && statements.pre.length + statements.post.length > 0) {
      warn(
        `The destination lacks roles ${destination.missingRoles.join(", ")}: ` +
          "ownership stays with the restoring role, and grants or policies naming them are skipped",
      );
    }

    if (destination.nonEmpty && options.safetyBackup !== false) {
      progress("safety-backup");
      const safety = await backupDatabase({
        db: connection.sql,
        repository: options.repository,
        purpose: "safety",
        label: `Before restoring ${manifest.backupId}`,
        parallel,
        signal: options.signal,
      });
      safetyBackupId = safety.backupId;
    }

    options.signal?.throwIfAborted();
    const reserved: postgres.ReservedSql[] = [];
    try {
      for (let i = 0; i < parallel; i++) {
        const one = await connection.sql.reserve();
        reserved.push(one);
        await prepareRestoreSession(one);
      }
      if (statements.pre.length) {
        progress("pre-data");
        await applyInTransaction(reserved[0], statements.pre, warn);
        applied = true;
      }
      let { builds, rest } = splitPostData(statements.post);
      const hasForeignKeys = rest.some((statement) => statement.kind === "FK CONSTRAINT");
      let foreignKeys: RestoreResult["foreignKeys"] = hasForeignKeys ? "checked" : "none";
      // Plain tables: their builds overlap, and foreign keys between them may come early.
      const plain = builds.length || hasForeignKeys
        ? await plainTables(reserved[0])
        : new Set<string>();
      // A full restore of a one-snapshot backup adds its foreign keys to the empty tables.
      if (mode === "full" && manifest.snapshots === 1 && await triggersOff(reserved)) {
        const early = planEarlyForeignKeys({ builds, rest }, plain);
        if (early) {
          applied = true;
          await applyInTransaction(reserved[0], early.first, warn);
          ({ builds, rest } = early);
          foreignKeys = "trusted";
        }
      }
      const tableBytes = new Map(load.map((table) => [tableLabel(table), table.bytes]));
      if (load.length || builds.length) applied = true;
      progress(load.length ? "data" : "post-data", { tablesTotal: load.length });
      const totals = await loadAndBuild(reserved, options.repository, load, builds, destination, {
        truncate: options.truncate ?? false,
        plain,
        signal: options.signal,
        warn,
        onTable: (table, done) =>
          progress("data", { table, tablesDone: done, tablesTotal: load.length }),
      });
      const { rows, bytes } = totals;
      if (rest.length) {
        progress("post-data", { tablesDone: load.length, tablesTotal: load.length, rows, bytes });
        applied = true;
        try {
          await applyPostDataRest(reserved, rest, warn, tableBytes);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          throw new Error(
            `${message} (the rows were loaded, but constraints, triggers or grants after it are missing)`,
            { cause: error },
          );
        }
      }
      if (mode === "tables") {
        for (const table of load) await advanceOwnedSequences(reserved[0], table);
      }
      return {
        backupId: manifest.backupId,
        tables: load.length,
        rows,
        bytes,
        seconds: Math.round(performance.now() - started) / 1000,
        skippedTables: skipped,
        warnings,
        safetyBackupId,
        foreignKeys,
      };
    } finally {
      for (const one of reserved) one.release();
    }
  } catch (error) {
    if (error instanceof RestoreError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    const safety = safetyBackupId
      ? ` (the destination was backed up first, as ${safetyBackupId})`
      : "";
    throw new RestoreError(
      applied
        ? `Restore failed: ${message}${safety}`
        : `Restore failed before changing the destination: ${message}`,
      applied,
      { cause: error, safetyBackupId },
    );
  } finally {
    await connection.close();
  }
}

function chooseTables(manifest: DatabaseManifest, mode: Mode, names?: string[]): ManifestTable[] {
  if (mode === "schema-only") return [];
  if (manifest.options.scope.schemaOnly && mode !== "full") {
    throw new RestoreError(`Backup ${manifest.backupId} holds no data (it is schema-only)`, false);
  }
  if (mode !== "tables") return manifest.tables;
  const byLabel = new Map(manifest.tables.map((table) => [tableLabel(table), table]));
  const unknown = names!.filter((name) => !byLabel.has(name));
  if (unknown.length) {
    throw new RestoreError(
      `Backup ${manifest.backupId} has no table ${unknown.join(", ")} ` +
        "(name tables as schema.table; partitioned tables by their partitions)",
      false,
    );
  }
  return [...new Set(names)].map((name) => byLabel.get(name)!);
}

async function chooseStatements(
  repository: Repository,
  manifest: DatabaseManifest,
  mode: Mode,
): Promise<{ pre: ManifestStatement[]; post: ManifestStatement[] }> {
  if (mode === "tables") return { pre: [], post: [] };
  if (mode === "schema-only" && manifest.options.scope.dataOnly) {
    throw new RestoreError(`Backup ${manifest.backupId} holds no schema (it is data-only)`, false);
  }
  const post = await loadSection(repository, manifest.sections.postData);
  const dataKinds = new Set(["SEQUENCE SET", "MATERIALIZED VIEW DATA"]);
  if (mode === "data-only") {
    return { pre: [], post: post.filter((statement) => dataKinds.has(statement.kind)) };
  }
  const pre = await loadSection(repository, manifest.sections.preData);
  if (mode === "schema-only") {
    return { pre, post: post.filter((statement) => !dataKinds.has(statement.kind)) };
  }
  return { pre, post };
}

async function verifyBlobs(
  repository: Repository,
  manifest: DatabaseManifest,
  tables: readonly ManifestTable[],
  signal?: AbortSignal,
): Promise<void> {
  const blobs = new Map<string, { id: string; size: number; storedSize: number }>();
  for (const table of tables) for (const blob of table.blobs) blobs.set(blob.id, blob);
  for (const blob of sectionBlobs(manifest.sections.preData)) blobs.set(blob.id, blob);
  for (const blob of sectionBlobs(manifest.sections.postData)) blobs.set(blob.id, blob);
  const refs = [...blobs.values()];
  const problems: string[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(4, refs.length) }, async () => {
    while (next < refs.length) {
      signal?.throwIfAborted();
      const check = await repository.verifyBlob(refs[next++], { deep: true });
      if (!check.ok) problems.push(check.message);
    }
  }));
  if (problems.length) {
    throw new RestoreError(
      `Backup ${manifest.backupId} is damaged, nothing was restored: ${
        problems.slice(0, 3).join("; ")
      }` +
        (problems.length > 3 ? ` (and ${problems.length - 3} more)` : ""),
      false,
    );
  }
}

function decide(
  mode: Mode,
  tables: readonly ManifestTable[],
  destination: Destination,
  truncate: boolean,
): { load: ManifestTable[]; skipped: string[] } {
  const load: ManifestTable[] = [];
  const skipped: string[] = [];
  const existing: string[] = [];
  const missing: string[] = [];
  const withRows: string[] = [];
  for (const table of tables) {
    const label = tableLabel(table);
    const state = destination.tables.get(label)!;
    if (table.managed) {
      if (!state.exists) skipped.push(label);
      else {
        if (state.hasRows && !truncate) withRows.push(label);
        load.push(table);
      }
      continue;
    }
    if (mode === "full") {
      if (state.exists) existing.push(label);
    } else if (!state.exists) {
      missing.push(label);
    } else if (state.hasRows && !truncate) {
      withRows.push(label);
    }
    load.push(table);
  }
  const list = (labels: string[]) =>
    labels.slice(0, 5).join(", ") + (labels.length > 5 ? ` and ${labels.length - 5} more` : "");
  if (existing.length) {
    throw new RestoreError(
      `The destination already has ${list(existing)}: restore into an empty database, ` +
        "or load rows into the existing tables with data-only",
      false,
    );
  }
  if (missing.length) {
    throw new RestoreError(
      `The destination has no table ${list(missing)}: restore the schema first ` +
        "(a full or schema-only restore)",
      false,
    );
  }
  if (withRows.length) {
    throw new RestoreError(
      `The destination's ${list(withRows)} already hold rows: empty them first, ` +
        "or ask for them to be truncated (--truncate)",
      false,
    );
  }
  return { load, skipped };
}

async function prepareRestoreSession(connection: postgres.ReservedSql): Promise<void> {
  await prepareSession(connection);
  await applyRestoreSettings(connection);
  await connection`
    select set_config('maintenance_work_mem', '128MB', false)
    where pg_catalog.current_setting('maintenance_work_mem')::text not like '%GB'`;
  try {
    await connection`select set_config('session_replication_role', 'replica', false)`;
  } catch {
    // Not allowed for this role: triggers fire and foreign keys are checked while loading.
  }
}

/**
 * Loads tables and runs index and constraint builds over the connections, largest work first:
 * a table's builds become ready as soon as its rows are in (builds of tables with no rows to
 * load are ready at once), so index builds overlap with other tables' loads, as
 * `pg_restore -j` does.
 */
async function loadAndBuild(
  connections: readonly postgres.ReservedSql[],
  repository: Repository,
  tables: readonly ManifestTable[],
  builds: readonly BuildGroup[],
  destination: Destination,
  options: {
    truncate: boolean;
    /** The destination's plain tables (see {@link plainTables}). */
    plain: ReadonlySet<string>;
    signal?: AbortSignal;
    warn: (message: string) => void;
    onTable: (table: string, done: number) => void;
  },
): Promise<{ rows: number; bytes: number }> {
  interface Task {
    cost: number;
    run(connection: postgres.ReservedSql): Promise<void>;
  }
  const loading = new Set(tables.map((table) => tableLabel(table)));
  const bytesOf = new Map(tables.map((table) => [tableLabel(table), table.bytes]));
  const waitingBuilds = new Map<string, BuildGroup[]>();
  const ready: Task[] = [];
  const { plain } = options;
  const buildTask = (group: BuildGroup, then?: () => void): Task => ({
    cost: bytesOf.get(group.table) ?? 0,
    run: async (connection) => {
      try {
        await applyBuildGroup(connection, group, options.warn);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new Error(
          `${message} (the rows were loaded, but indexes or constraints after it are missing)`,
          { cause: error },
        );
      }
      then?.();
    },
  });
  // A plain table's indexes build at once on several connections, its constraints after them.
  const release = (group: BuildGroup) => {
    const plan = plain.has(group.table)
      ? planTableBuilds(group)
      : { concurrent: [], then: group.statements };
    const after = () => {
      if (plan.then.length) ready.push(buildTask({ table: group.table, statements: plan.then }));
    };
    let left = plan.concurrent.length;
    if (left === 0) return after();
    for (const statement of plan.concurrent) {
      ready.push(buildTask({ table: group.table, statements: [statement] }, () => {
        if (--left === 0) after();
      }));
    }
  };
  for (const group of builds) {
    if (loading.has(group.table)) {
      const list = waitingBuilds.get(group.table) ?? [];
      list.push(group);
      waitingBuilds.set(group.table, list);
    } else {
      release(group);
    }
  }
  let rows = 0;
  let bytes = 0;
  let done = 0;
  let loadsLeft = tables.length;
  let failure: unknown;
  const abort = new AbortController();
  const onAbort = () => abort.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  for (const table of tables) {
    const label = tableLabel(table);
    ready.push({
      cost: table.bytes,
      run: async (connection) => {
        try {
          await connection`begin`;
          if (options.truncate && destination.tables.get(label)?.hasRows) {
            await emptyTable(connection, table);
          }
          const read = { rows: 0, bytes: 0 };
          const stream = repository.readStream(table.blobs, { prefetch: 2, signal: abort.signal });
          const copied = await copyIn(connection, table, counted(stream, read));
          if (copied !== table.rows || read.rows !== table.rows || read.bytes !== table.bytes) {
            throw new Error(
              `the server copied ${copied} rows (${read.rows} rows, ${read.bytes} bytes read), ` +
                `the backup holds ${table.rows} rows (${table.bytes} bytes)`,
            );
          }
          await connection`commit`;
          rows += copied;
          bytes += read.bytes;
          options.onTable(label, ++done);
        } catch (error) {
          await connection`rollback`.catch(() => {});
          const message = error instanceof Error ? error.message : String(error);
          throw new Error(`Could not load table ${label}: ${message}`, { cause: error });
        } finally {
          loadsLeft--;
        }
        for (const group of waitingBuilds.get(label) ?? []) release(group);
        waitingBuilds.delete(label);
      },
    });
  }
  let wake: (() => void) | undefined;
  let changed = new Promise<void>((resolve) => wake = resolve);
  const notify = () => {
    wake?.();
    changed = new Promise<void>((resolve) => wake = resolve);
  };
  // Tasks running now: one may release more (a table's builds, or what follows its indexes).
  let running = 0;
  await Promise.all(connections.map(async (connection) => {
    while (failure === undefined) {
      if (ready.length === 0) {
        if (loadsLeft === 0 && running === 0) return;
        await changed;
        continue;
      }
      ready.sort((a, b) => b.cost - a.cost);
      const task = ready.shift()!;
      running++;
      try {
        await task.run(connection);
      } catch (error) {
        if (failure === undefined) {
          failure = error;
          abort.abort(error);
        }
      } finally {
        running--;
      }
      notify();
    }
  }));
  options.signal?.removeEventListener("abort", onAbort);
  if (failure !== undefined) throw failure;
  return { rows, bytes };
}

/** Whether every connection loads with triggers off (the role may not be allowed to). */
async function triggersOff(connections: readonly postgres.ReservedSql[]): Promise<boolean> {
  for (const connection of connections) {
    const [{ role }] = await connection<{ role: string }[]>`
      select pg_catalog.current_setting('session_replication_role') as role`;
    if (role !== "replica") return false;
  }
  return true;
}

/** Plain (not partitioned, not partition) tables of the destination, as `schema.name`. */
async function plainTables(connection: postgres.ReservedSql): Promise<Set<string>> {
  const rows = await connection<{ label: string }[]>`
    select n.nspname || '.' || c.relname as label
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind = 'r' and not c.relispartition`;
  return new Set(rows.map((row) => row.label));
}

/** Passes a stream on, counting its rows and bytes. */
async function* counted(
  stream: AsyncIterable<Uint8Array>,
  totals: { rows: number; bytes: number },
): AsyncGenerator<Uint8Array> {
  for await (const piece of stream) {
    totals.bytes += piece.length;
    totals.rows += countNewlines(piece);
    yield piece;
  }
}

/**
 * Empties a table inside the caller's transaction (undone with the load if it fails):
 * TRUNCATE, or DELETE when other tables' foreign keys reference it (TRUNCATE refuses that;
 * with `session_replication_role = replica` the DELETE checks no foreign key).
 */
async function emptyTable(connection: postgres.ReservedSql, table: ManifestTable): Promise<void> {
  // The name is quoted by qualifiedName; the statements have no parameters.
  const name = qualifiedName(table.schema, table.name);
  await connection`savepoint sauvegarde_empty`;
  try {
    await connection.unsafe(`truncate table only ${name}`);
    await connection`release savepoint sauvegarde_empty`;
  } catch (error) {
    if ((error as { code?: string }).code !== "0A000") throw error;
    await connection`rollback to savepoint sauvegarde_empty`;
    await connection.unsafe(`delete from only ${name}`);
  }
}

/** Moves sequences owned by a table's columns past the largest value loaded. */
async function advanceOwnedSequences(
  connection: postgres.ReservedSql,
  table: ManifestTable,
): Promise<void> {
  const owned = await connection<{ sequence: string; column: string }[]>`
    select s.oid::regclass::text as sequence, a.attname as column
    from pg_depend d
    join pg_class s on s.oid = d.objid and s.relkind = 'S'
    join pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
    where d.classid = 'pg_class'::regclass and d.refclassid = 'pg_class'::regclass
      and d.deptype in ('a', 'i')
      and d.refobjid = (select c.oid from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = ${table.schema} and c.relname = ${table.name})`;
  for (const { sequence, column } of owned) {
    // Names are quoted by qualifiedName/quoteIdent; the sequence name comes from regclass.
    const [{ max }] = await connection.unsafe<{ max: string | null }[]>(
      `select max(${quoteIdent(column)})::text as max from ${
        qualifiedName(table.schema, table.name)
      }`,
    );
    if (max === null) continue;
    await connection`
      select pg_catalog.setval(${sequence}::regclass, ${max}::bigint, true)
      where ${max}::bigint > (select last_value from pg_catalog.pg_sequences
        where format('%I.%I', schemaname, sequencename)::regclass = ${sequence}::regclass)
        or (select last_value from pg_catalog.pg_sequences
        where format('%I.%I', schemaname, sequencename)::regclass = ${sequence}::regclass) is null`;
  }
}
