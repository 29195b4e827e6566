/**
 * A restore test in budgeted, resumable steps: what an Edge Function can carry out (2 s of CPU
 * and 150 s of wall time per request) on a backup of any size. The work is cut into units —
 * create the scratch database and apply the pre-data; load one table, or one slice of a sliced
 * table, each in its own transaction; the large objects; the post-data; check one table or one
 * slice; compare every kind of object; run the project's own pgTAP tests; drop the scratch database —
 * and the caller's `shouldStop` is asked after each unit. Where the test stands is a
 * {@link RestoreTestProgress}, saved after every unit, which the next step resumes from.
 *
 * What a step killed midway leaves is found again, never trusted:
 * - During `create`, the scratch database is dropped and made again.
 * - During `load`, the unit's transaction was rolled back, or it committed before its progress
 *   was saved: the next step counts the current table's rows (its extension's condition
 *   applied, for a configuration table) and goes on after the last slice those rows add up to.
 * - During `post`, the post-data runs in one transaction (the worker's restore builds in
 *   parallel; here it is all or nothing, so a kill rolls it back).
 * - Checks only read.
 * The scratch database has one name for the whole run (the caller's), dropped when the test
 * ends either way; one left by a run that never ended is dropped by the next run
 * (`scratch_database.ts`).
 *
 * The RTO recorded is the time the restore's own units took, summed over steps (the time
 * between steps is the scheduler's, not the restore's).
 *
 * @module
 */
import { type BackupClass, backupClassOf } from "../database/backup_class.ts";
import { largeObjectOids } from "../database/catalog/large_objects.ts";
import type { SchemaStatement } from "../database/catalog/model.ts";
import {
  type DatabaseManifest,
  loadDatabaseManifest,
  type ManifestStatement,
  type ManifestTable,
} from "../database/manifest.ts";
import { checkDestination } from "../database/restore/check_destination.ts";
import { chooseStatements } from "../database/restore/choose.ts";
import { applyInTransaction } from "../database/restore/ddl.ts";
import { loadLargeObjectsTask } from "../database/restore/large_objects.ts";
import { loadSequence } from "../database/restore/load_and_build.ts";
import { loadTableTask } from "../database/restore/load_table.ts";
import { planPostData } from "../database/restore/post_data_plan.ts";
import { openRestoreSessions, type RestoreSession } from "../database/restore/sessions.ts";
import { type Connection, openConnection } from "../pg/connect.ts";
import { qualifiedName, tableLabel } from "../pg/sql_text.ts";
import { type Repository, requireAuthenticated } from "../repository/mod.ts";
import { type AppTestFile, type AppTestsReport, runAppTests } from "./app_tests.ts";
import { checkAllLargeObjects, withScratchCondition } from "./large_objects_check.ts";
import { compareObjects, type ObjectMismatch } from "./object_check.ts";
import type { RestoreTestReport } from "./restore_test.ts";
import { explainRestoreFailure } from "./restore_failure.ts";
import {
  createScratchDatabase,
  databaseExists,
  dropScratchDatabase,
  PLATFORM_TEMPLATE,
  SCRATCH_PREFIX,
  scratchUrl,
} from "./scratch_database.ts";
import { type ScratchView, scratchView } from "./scratch_view.ts";
import { checkTableSlice, checkWholeTable } from "./table_check.ts";
import type { TableMismatch } from "./table_checksum.ts";

/** The units of a restore test, in order. */
export type RestoreTestPhase =
  | "create"
  | "load"
  | "post"
  | "check"
  | "objects"
  | "app-tests"
  | "done";

/** Where a restore test stands: JSON, saved as the run's checkpoint. */
export interface RestoreTestProgress {
  progressVersion: 1;
  backupId: string;
  backupClass: BackupClass;
  /** The scratch database's name, the same in every step. */
  scratchDatabase: string;
  template: string | null;
  phase: RestoreTestPhase;
  /** The next table to load or check, in `loadSequence`'s order; its length: the large objects. */
  table: number;
  /** The next slice of that table. */
  slice: number;
  /** Milliseconds the restore's units took (the RTO), and the checks'. */
  restoreMs: number;
  checkMs: number;
  /** Rows and bytes read back by the checks. */
  rows: number;
  bytes: number;
  mismatches: TableMismatch[];
  objects: Record<string, number>;
  objectMismatches: ObjectMismatch[];
  skippedTables: string[];
  warnings: string[];
  /** What the project's own tests said (absent: it has none). */
  appTests?: AppTestsReport;
  /** Steps this test took so far. */
  steps: number;
}

/** Options for {@link advanceRestoreTest}. */
export interface StepwiseOptions {
  /** The server the scratch database is created on. */
  serverUrl: string;
  /** Where to start: a backup id or "latest" (only read when there is no progress yet). */
  backupId: string;
  /** The scratch database's name (starts with {@link SCRATCH_PREFIX}). */
  scratchDatabase: string;
  /** Asked after each unit: true ends the step (the progress says where to go on). */
  shouldStop: () => boolean;
  /** Saves the progress (after each unit). */
  save: (progress: RestoreTestProgress) => Promise<void>;
  /** The project's own pgTAP tests, run on the restored copy (`app_tests.ts`). */
  appTests?: readonly AppTestFile[];
  /** Told the COPY bytes each unit loaded or read back (a step's byte budget counts them). */
  onBytes?: (bytes: number) => void;
  allowUnauthenticated?: boolean;
  signal?: AbortSignal;
  onProgress?: (message: string) => void;
}

/** How far a step got: the progress, and the report once the test is done. */
export interface StepwiseResult {
  progress: RestoreTestProgress;
  report?: RestoreTestReport;
}

/** Mismatches kept in the progress (each names its table; the count says the rest). */
const KEPT_MISMATCHES = 100;

/**
 * Runs units of the restore test from `progress` (a new test when undefined) until it is done
 * or `shouldStop` says so. Throws when the restore itself fails, after dropping the scratch
 * database; mismatches do not throw (the report lists them).
 */
export async function advanceRestoreTest(
  repository: Repository,
  progress: RestoreTestProgress | undefined,
  options: StepwiseOptions,
): Promise<StepwiseResult> {
  if (!options.scratchDatabase.startsWith(SCRATCH_PREFIX)) {
    throw new Error(`${options.scratchDatabase} is not a scratch database name`);
  }
  const manifest = await loadDatabaseManifest(repository, progress?.backupId ?? options.backupId);
  // Before a scratch database exists: a forged manifest's SQL would run on the server.
  requireAuthenticated(manifest, {
    what: `Database backup ${manifest.backupId}`,
    allowUnauthenticated: options.allowUnauthenticated,
  });
  const state = progress ?? newProgress(manifest, options.scratchDatabase);
  state.steps += 1;
  const view = await scratchView(repository, manifest);
  const served = await loadDatabaseManifest(view.repository, manifest.backupId);
  const url = scratchUrl(options.serverUrl, state.scratchDatabase);
  const run = new StepRun(view, served, state, url, options);
  try {
    const done = () => state.phase === "done";
    while (!done()) {
      options.signal?.throwIfAborted();
      await run.unit();
      await options.save(state);
      if (!done() && options.shouldStop()) return { progress: state };
    }
  } catch (error) {
    await run.close();
    await dropScratchDatabase(options.serverUrl, state.scratchDatabase).catch(() => {});
    throw error;
  }
  await run.close();
  return { progress: state, report: reportOf(state, view) };
}

function newProgress(manifest: DatabaseManifest, scratch: string): RestoreTestProgress {
  return {
    progressVersion: 1,
    backupId: manifest.backupId,
    backupClass: backupClassOf(manifest),
    scratchDatabase: scratch,
    template: null,
    phase: "create",
    table: 0,
    slice: 0,
    restoreMs: 0,
    checkMs: 0,
    rows: 0,
    bytes: 0,
    mismatches: [],
    objects: {},
    objectMismatches: [],
    skippedTables: [],
    warnings: [],
    steps: 0,
  };
}

/** Reads a saved progress back; undefined when there is none (or of another version). */
export function readProgress(value: unknown): RestoreTestProgress | undefined {
  if (!value || typeof value !== "object") return undefined;
  const progress = value as Partial<RestoreTestProgress>;
  return progress.progressVersion === 1 && typeof progress.backupId === "string"
    ? progress as RestoreTestProgress
    : undefined;
}

/** One step's units over its own connection to the scratch database. */
class StepRun {
  #connection?: Connection;
  #session?: RestoreSession;
  /** Whether the current table's loaded rows were counted in this step. */
  #counted = false;

  constructor(
    readonly view: ScratchView,
    readonly manifest: DatabaseManifest,
    readonly state: RestoreTestProgress,
    readonly url: string,
    readonly options: StepwiseOptions,
  ) {}

  /** The tables the scratch database loads and checks. */
  get tables(): ManifestTable[] {
    const skipped = new Set(this.state.skippedTables);
    return loadSequence(this.view.tables.filter((table) => !skipped.has(tableLabel(table))));
  }

  async unit(): Promise<void> {
    const started = performance.now();
    const phase = this.state.phase;
    if (phase === "create") await this.create();
    else if (phase === "load") await this.load();
    else if (phase === "post") await this.post();
    else if (phase === "check") await this.check();
    else if (phase === "objects") await this.objects();
    else if (phase === "app-tests") await this.appTests();
    const ms = performance.now() - started;
    if (phase === "create" || phase === "load" || phase === "post") this.state.restoreMs += ms;
    else this.state.checkMs += ms;
  }

  async close(): Promise<void> {
    this.#session?.release();
    this.#session = undefined;
    await this.#connection?.close();
    this.#connection = undefined;
  }

  /** The pool: one connection for the restore's session, one for reads. */
  sql(): Connection["sql"] {
    this.#connection ??= openConnection(this.url, { max: 2 });
    return this.#connection.sql;
  }

  async session(): Promise<RestoreSession> {
    if (!this.#session) [this.#session] = await openRestoreSessions(this.sql(), 1);
    return this.#session;
  }

  /** The scratch database, made afresh, with its pre-data. */
  async create(): Promise<void> {
    const { serverUrl, scratchDatabase } = this.options;
    const state = this.state;
    await this.close();
    await dropScratchDatabase(serverUrl, scratchDatabase);
    state.template = this.manifest.source.isSupabase &&
        await databaseExists(serverUrl, PLATFORM_TEMPLATE)
      ? PLATFORM_TEMPLATE
      : null;
    const scratch = await createScratchDatabase(serverUrl, {
      id: scratchDatabase.slice(SCRATCH_PREFIX.length),
      template: state.template ?? undefined,
    });
    this.options.onProgress?.(`Restoring backup ${state.backupId} into ${scratch.label}`);
    state.warnings = [];
    const warn = (message: string) => state.warnings.push(message);
    const { pre } = await chooseStatements(this.view.repository, this.manifest, "full");
    const session = await this.session();
    try {
      this.sql();
      const { skipped } = await checkDestination(this.#connection!, {
        mode: "full",
        tables: this.view.tables,
        roles: this.manifest.roles.filter((role) =>
          !pre.some((statement) => statement.kind === "ROLE" && statement.name === role)
        ),
        truncate: false,
        runsStatements: true,
        largeObjects: largeObjectOids(pre),
        warn,
      });
      state.skippedTables = skipped;
      if (pre.length) await applyInTransaction(session, pre, warn);
    } catch (error) {
      throw explainRestoreFailure(error, this.manifest, state.template);
    }
    Object.assign(state, { phase: "load", table: 0, slice: 0 });
    this.#counted = false;
  }

  /** One table, one slice of one, or the large objects. */
  async load(): Promise<void> {
    const state = this.state;
    const tables = this.tables;
    const session = await this.session();
    if (state.table >= tables.length) {
      const contents = this.manifest.largeObjects;
      if (contents) {
        // lo_put writes the same bytes at the same offsets again: a repeat changes nothing.
        await loadLargeObjectsTask(contents, {
          repository: this.view.repository,
          signal: this.options.signal ?? new AbortController().signal,
          onLoaded: () => {},
        }).run(session);
      }
      Object.assign(state, { phase: "post", table: 0, slice: 0 });
      return;
    }
    const table = tables[state.table];
    if (!this.#counted) {
      // What committed before a kill is in the table, whether or not its progress was saved.
      state.slice = await this.slicesLoaded(table);
      this.#counted = true;
    }
    const parts = table.slices?.length ?? 1;
    if (state.slice < parts) {
      const part = partOf(table, state.slice);
      this.options.onProgress?.(
        `Loading ${tableLabel(table)}${parts > 1 ? ` (slice ${state.slice + 1} of ${parts})` : ""}`,
      );
      await loadTableTask(part, {
        repository: this.view.repository,
        truncate: false,
        signal: this.options.signal ?? new AbortController().signal,
        onLoaded: () => {},
        then: () => {},
      }).run(session);
      this.options.onBytes?.(part.bytes);
      state.slice += 1;
    }
    if (state.slice >= parts) {
      state.table += 1;
      state.slice = 0;
      this.#counted = false;
    }
  }

  /** How many of the table's parts its rows add up to (0 for an empty table). */
  async slicesLoaded(table: ManifestTable): Promise<number> {
    const sql = this.sql();
    const source = await withScratchCondition(sql, table);
    // Names quoted by qualifiedName; the condition is the scratch catalog's own SQL.
    const [{ count }] = await sql.unsafe<{ count: string }[]>(
      `select pg_catalog.count(*)::text as count from only ${
        qualifiedName(table.schema, table.name)
      } ${source.condition ?? ""}`,
    );
    const rows = Number(count);
    const ends = [0];
    for (const slice of table.slices ?? [{ rows: table.rows }]) {
      ends.push(ends[ends.length - 1] + slice.rows);
    }
    // The last part its rows end at (parts of no rows are loaded again: nothing to repeat).
    const done = ends.findLastIndex((end) => end === rows);
    if (done === -1) {
      throw new Error(
        `${tableLabel(table)} holds ${rows} rows in the scratch database, which no number of ` +
          "its backup's slices adds up to",
      );
    }
    return done;
  }

  /** Every post-data statement, all or nothing. */
  async post(): Promise<void> {
    const session = await this.session();
    const { post } = await chooseStatements(this.view.repository, this.manifest, "full");
    const plan = await planPostData(session.sql, post);
    const statements: ManifestStatement[] = [
      ...plan.builds.flatMap((group) => group.statements),
      ...plan.rest,
    ];
    const warn = (message: string) => this.state.warnings.push(message);
    this.options.onProgress?.(`Applying ${statements.length} post-data statements`);
    if (statements.length) await applyInTransaction(session, statements, warn);
    Object.assign(this.state, { phase: "check", table: 0, slice: 0 });
  }

  /** One table, or one slice of one, read back; then the large objects. */
  async check(): Promise<void> {
    const state = this.state;
    const tables = this.tables;
    const sql = this.sql();
    if (state.table >= tables.length) {
      const contents = this.manifest.largeObjects;
      if (contents) this.mismatch(await checkAllLargeObjects(sql, contents));
      Object.assign(state, { phase: "objects", table: 0, slice: 0 });
      return;
    }
    const table = tables[state.table];
    const sliced = (table.slices?.length ?? 0) > 0 && (table.key?.length ?? 0) > 0;
    const checked = sliced
      ? await checkTableSlice(sql, table, state.slice)
      : await checkWholeTable(sql, this.view.repository, table, this.options.signal);
    state.rows += checked.rows;
    state.bytes += checked.bytes;
    this.options.onBytes?.(checked.bytes);
    if (checked.mismatch) this.mismatch(checked.mismatch);
    state.slice += 1;
    if (!sliced || state.slice >= table.slices!.length) {
      state.table += 1;
      state.slice = 0;
    }
  }

  /** Every other kind, read back as the backup read the source. */
  async objects(): Promise<void> {
    const sql = this.sql();
    const recorded = [...this.view.preData, ...this.view.postData] as SchemaStatement[];
    const compared = await compareObjects(sql, recorded, this.manifest.options.scope);
    this.state.objects = compared.counts;
    this.state.objectMismatches = compared.mismatches;
    this.state.phase = "app-tests";
  }

  /** The project's own tests, if it has any; then the scratch database goes. */
  async appTests(): Promise<void> {
    const files = this.options.appTests ?? [];
    if (files.length) {
      this.options.onProgress?.(`Running the project's ${files.length} pgTAP test files`);
      const report = await runAppTests(this.sql(), files, { signal: this.options.signal });
      this.state.appTests = { ...report, failures: report.failures.slice(0, KEPT_MISMATCHES) };
    }
    await this.close();
    await dropScratchDatabase(this.options.serverUrl, this.state.scratchDatabase);
    this.state.phase = "done";
  }

  mismatch(mismatch: TableMismatch | undefined): void {
    if (!mismatch) return;
    if (this.state.mismatches.length < KEPT_MISMATCHES) this.state.mismatches.push(mismatch);
  }
}

/** Part `index` of a table as a table of its own: a slice's blobs, rows and bytes. */
function partOf(table: ManifestTable, index: number): ManifestTable {
  if (!table.slices?.length) return table;
  const first = table.slices.slice(0, index).reduce((sum, slice) => sum + slice.blobs, 0);
  const slice = table.slices[index];
  return {
    ...table,
    blobs: table.blobs.slice(first, first + slice.blobs),
    rows: slice.rows,
    bytes: slice.bytes,
  };
}

function reportOf(state: RestoreTestProgress, view: ScratchView): RestoreTestReport {
  const skipped = new Set(state.skippedTables);
  return {
    backupId: state.backupId,
    backupClass: state.backupClass,
    scratchDatabase: state.scratchDatabase,
    seconds: Math.round(state.restoreMs) / 1000,
    checkSeconds: Math.round(state.checkMs) / 1000,
    tables: view.tables.filter((table) => !skipped.has(tableLabel(table))).length,
    rows: state.rows,
    bytes: state.bytes,
    mismatches: state.mismatches,
    objects: state.objects,
    objectMismatches: state.objectMismatches,
    skippedTables: state.skippedTables,
    warnings: state.warnings,
    leftOut: view.leftOut,
    template: state.template,
    steps: state.steps,
    ...(state.appTests ? { appTests: state.appTests } : {}),
    ok: state.mismatches.length === 0 && state.objectMismatches.length === 0 &&
      !state.appTests?.failures.length,
  };
}
