/**
 * A restore test: the proof that a backup brings the database back. The backup is restored
 * into a scratch database created for the purpose, every restored table is read back and its
 * row count and SHA-256 compared with the manifest's (slice by slice for a table the backup read
 * in key-ordered slices, see `table_checksum.ts`), the time the restore took (the RTO) is
 * measured, and the scratch database is dropped, whatever happened.
 *
 * @module
 */
import { type BackupClass, backupClassOf } from "../database/backup_class.ts";
import { loadDatabaseManifest } from "../database/manifest.ts";
import type { SchemaStatement } from "../database/catalog/model.ts";
import { restoreDatabase } from "../database/restore/mod.ts";
import { engineSql } from "../pg/connect.ts";
import { tableLabel } from "../pg/sql_text.ts";
import { type Repository, requireAuthenticated } from "../repository/mod.ts";
import { createScratchDatabase, databaseExists, PLATFORM_TEMPLATE } from "./scratch_database.ts";
import { scratchView } from "./scratch_view.ts";
import { checkAllLargeObjects } from "./large_objects_check.ts";
import type { TableMismatch } from "./table_checksum.ts";
import { checkWholeTable } from "./table_check.ts";
import { explainRestoreFailure } from "./restore_failure.ts";
import {
  type AppTestFile,
  type AppTestsReport,
  describeAppTestFailures,
  runAppTests,
} from "./app_tests.ts";
import { compareObjects, describeObjectMismatches, type ObjectMismatch } from "./object_check.ts";

/** Options for {@link runRestoreTest}. */
export interface RestoreTestOptions {
  /** A server URL; the scratch database is created (and dropped) on that server. */
  serverUrl: string;
  /** A backup id, "latest" (default: the newest full backup) or "latest:<class>". */
  backupId?: string;
  /** Suffix of the scratch database's name (default: random). */
  scratchId?: string;
  /** Connections used to restore (default 2). */
  parallel?: number;
  /**
   * Test a backup whose manifest is not authenticated: an operator's explicit consent for one
   * command (`test-restore --allow-unauthenticated`). Scheduled restore tests never set it.
   */
  allowUnauthenticated?: boolean;
  /** The project's own pgTAP tests, run on the restored copy (`app_tests.ts`). */
  appTests?: readonly AppTestFile[];
  signal?: AbortSignal;
  onProgress?: (message: string) => void;
}

/** What a restore test found. */
export interface RestoreTestReport {
  backupId: string;
  /** The backup's class (`database/backup_class.ts`): only a full one proves the backups. */
  backupClass: BackupClass;
  /** The scratch database's name (dropped by now). */
  scratchDatabase: string;
  /** The RTO: seconds from creating the scratch database to the last row restored. */
  seconds: number;
  /** Seconds spent reading every table back and comparing it. */
  checkSeconds: number;
  /** Tables restored and checked. */
  tables: number;
  rows: number;
  bytes: number;
  /** Tables that do not hold what the backup recorded; empty when the test passed. */
  mismatches: TableMismatch[];
  /** Statements the backup recorded, per kind: every one was read back from the restore. */
  objects: Record<string, number>;
  /** Kinds whose restored objects differ from the recorded ones; empty when the test passed. */
  objectMismatches: ObjectMismatch[];
  /** Platform tables the scratch database has no place for (restored as data only elsewhere). */
  skippedTables: string[];
  warnings: string[];
  /** Statements of the backup a scratch database cannot take (see `scratch_view.ts`). */
  leftOut: string[];
  /** The database the scratch database was copied from, if any. */
  template: string | null;
  /** What the project's own tests said on the restored copy (absent: it has none). */
  appTests?: AppTestsReport;
  /** Budgeted steps the test took (`stepwise.ts`); absent when it ran in one go. */
  steps?: number;
  ok: boolean;
}

/**
 * Restores `backupId` of `repository` into a new scratch database and checks it. Resolves
 * with the findings (`ok: false` listing each mismatching table); throws when the restore
 * itself fails (the error names what failed, such as the table whose rows did not load).
 */
export async function runRestoreTest(
  repository: Repository,
  options: RestoreTestOptions,
): Promise<RestoreTestReport> {
  const manifest = await loadDatabaseManifest(repository, options.backupId ?? "latest");
  // Before a scratch database exists: a forged manifest's SQL would run on the server.
  requireAuthenticated(manifest, {
    what: `Database backup ${manifest.backupId}`,
    allowUnauthenticated: options.allowUnauthenticated,
  });
  const tell = options.onProgress ?? (() => {});
  const view = await scratchView(repository, manifest);
  const template = manifest.source.isSupabase &&
      await databaseExists(options.serverUrl, PLATFORM_TEMPLATE)
    ? PLATFORM_TEMPLATE
    : null;
  const started = performance.now();
  const scratch = await createScratchDatabase(options.serverUrl, {
    id: options.scratchId,
    template: template ?? undefined,
  });
  try {
    tell(`Restoring backup ${manifest.backupId} into ${scratch.label}`);
    let restored;
    try {
      restored = await restoreDatabase({
        repository: view.repository,
        backupId: manifest.backupId,
        db: scratch.url,
        safetyBackup: false,
        allowUnauthenticated: options.allowUnauthenticated,
        parallel: options.parallel,
        signal: options.signal,
      });
    } catch (error) {
      throw explainRestoreFailure(error, manifest, template);
    }
    const seconds = Math.round(performance.now() - started) / 1000;
    tell(`Restored ${restored.tables} tables in ${seconds} s; reading them back`);
    const checkStarted = performance.now();
    const skipped = new Set(restored.skippedTables);
    const tables = view.tables.filter((table) => !skipped.has(tableLabel(table)));
    const mismatches: TableMismatch[] = [];
    let objects: Awaited<ReturnType<typeof compareObjects>> = { counts: {}, mismatches: [] };
    let appTests: AppTestsReport | undefined;
    let rows = 0;
    let bytes = 0;
    const sql = engineSql(scratch.url, { max: 1 });
    try {
      for (const table of tables) {
        options.signal?.throwIfAborted();
        const checked = await checkWholeTable(sql, repository, table, options.signal);
        rows += checked.rows;
        bytes += checked.bytes;
        if (checked.mismatch) mismatches.push(checked.mismatch);
      }
      if (manifest.largeObjects) {
        const mismatch = await checkAllLargeObjects(sql, manifest.largeObjects);
        if (mismatch) mismatches.push(mismatch);
      }
      // Then every other kind: the scratch database read back as the backup read the source.
      const recorded = [...view.preData, ...view.postData] as SchemaStatement[];
      objects = await compareObjects(sql, recorded, manifest.options.scope);
      if (options.appTests?.length) {
        tell(`Running the project's ${options.appTests.length} pgTAP test files`);
        appTests = await runAppTests(sql, options.appTests, { signal: options.signal });
      }
    } finally {
      await sql.end({ timeout: 5 });
    }
    return {
      backupId: manifest.backupId,
      backupClass: backupClassOf(manifest),
      scratchDatabase: scratch.name,
      seconds,
      checkSeconds: Math.round(performance.now() - checkStarted) / 1000,
      tables: tables.length,
      rows,
      bytes,
      mismatches,
      objects: objects.counts,
      objectMismatches: objects.mismatches,
      skippedTables: restored.skippedTables,
      warnings: restored.warnings,
      leftOut: view.leftOut,
      template,
      ...(appTests ? { appTests } : {}),
      ok: mismatches.length === 0 && objects.mismatches.length === 0 &&
        !appTests?.failures.length,
    };
  } finally {
    await scratch.drop().catch((error) => {
      const message = error instanceof Error ? error.message : String(error);
      console.error(`Could not drop the scratch database ${scratch.name}: ${message}`);
    });
  }
}

/** One sentence for a failed test: how many tables and kinds differ, the first few named. */
export function describeMismatches(
  report: Pick<RestoreTestReport, "backupId" | "mismatches" | "objectMismatches" | "appTests">,
) {
  const parts: string[] = [];
  if (report.mismatches.length > 0) {
    const shown = report.mismatches.slice(0, 3).map((mismatch) => mismatch.problem);
    const more = report.mismatches.length > 3 ? ` (and ${report.mismatches.length - 3} more)` : "";
    parts.push(
      `${report.mismatches.length} table(s) that do not match the backup: ${
        shown.join("; ")
      }${more}`,
    );
  }
  if (report.objectMismatches.length > 0) {
    parts.push(
      `${report.objectMismatches.length} kind(s) of objects restored differently from the ` +
        `backup: ${describeObjectMismatches(report.objectMismatches)}`,
    );
  }
  if (report.appTests?.failures.length) parts.push(describeAppTestFailures(report.appTests));
  return `Restore test of backup ${report.backupId} found ${parts.join(", and ")}`;
}
