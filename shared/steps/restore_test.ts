/**
 * The `restore_test` step: one step that restores the run's backup (details `backupId`, default
 * the latest) of its first target (default: the first configured) into a scratch database,
 * checks it, and records `{ backupId, seconds, tables, rows, mismatches }` in the run's
 * details. A mismatch or a failed restore fails the run, so the executor notifies.
 *
 * @module
 */
import type { StepContext } from "../jobs/mod.ts";
import type { Step } from "../jobs/executor.ts";
import { resolveTargets } from "../targets/named_targets.ts";
import { openRepository } from "../repository/open.ts";
import { recordRunDetails } from "../runs/run_details.ts";
import {
  describeMismatches,
  type RestoreTestReport,
  runRestoreTest,
} from "../restore_test/restore_test.ts";
import { dropScratchDatabase, SCRATCH_PREFIX } from "../restore_test/scratch_database.ts";

/** Options for {@link createRestoreTestStep}. */
export interface RestoreTestStepOptions {
  /** Server for the scratch database (default: SAUVEGARDE_RESTORE_TEST_DB_URL, else SUPABASE_DB_URL). */
  serverUrl?: string;
  /**
   * Test a backup whose manifest is not authenticated: only an operator's command says so
   * (`test-restore --allow-unauthenticated`); scheduled restore tests never do.
   */
  allowUnauthenticated?: boolean;
  onProgress?: (message: string) => void;
}

/** The details a restore test records in `backup_runs`. */
export function restoreTestDetails(report: RestoreTestReport, target: string) {
  return {
    target,
    backupId: report.backupId,
    // The restore-test check counts only tests of full backups (`runs/run_class.ts`).
    class: report.backupClass,
    seconds: report.seconds,
    checkSeconds: report.checkSeconds,
    tables: report.tables,
    rows: report.rows,
    mismatches: report.mismatches.map(({ table, problem, expected, actual }) => ({
      table,
      problem,
      expected,
      actual,
    })),
    objects: report.objects,
    objectMismatches: report.objectMismatches,
    skippedTables: report.skippedTables,
    leftOut: report.leftOut,
    template: report.template,
    scratchDatabase: report.scratchDatabase,
  };
}

/** Builds the `restore_test` step for an app (register it with `registerStep`). */
export function createRestoreTestStep(
  app: StepContext,
  options: RestoreTestStepOptions = {},
): Step {
  return async (run, tools) => {
    const [target] = resolveTargets(app.config, run.targets);
    if (!target) throw new Error("No backup target is configured (SAUVEGARDE_TARGETS)");
    const serverUrl = options.serverUrl ?? app.config.restoreTestDbUrl ?? app.config.databaseUrl;
    if (!serverUrl) {
      throw new Error(
        "No server for the scratch database: set SAUVEGARDE_RESTORE_TEST_DB_URL or SUPABASE_DB_URL",
      );
    }
    const requested = typeof run.details.backupId === "string" ? run.details.backupId : "latest";
    const short = run.id.replaceAll("-", "").slice(0, 8);
    // A killed attempt may have left its scratch database behind: drop it first.
    for (let attempt = 1; attempt < run.attempts; attempt++) {
      await dropScratchDatabase(serverUrl, `${SCRATCH_PREFIX}${short}_${attempt}`).catch(() => {});
    }
    const opened = await openRepository(target.name, target.url, app.config);
    let report: RestoreTestReport;
    try {
      report = await runRestoreTest(opened.repository, {
        serverUrl,
        backupId: requested,
        scratchId: `${short}_${run.attempts}`,
        signal: tools.signal,
        allowUnauthenticated: options.allowUnauthenticated,
        onProgress: options.onProgress,
      });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      await recordRunDetails(app.sql, run.id, { target: target.name, error: message });
      throw error;
    } finally {
      await opened.target.close();
    }
    const details = restoreTestDetails(report, target.name);
    if (!report.ok) {
      await recordRunDetails(app.sql, run.id, details);
      throw new Error(describeMismatches(report));
    }
    return {
      done: true,
      checkpoint: {},
      backupId: report.backupId,
      items: report.rows,
      bytes: report.bytes,
      details,
    };
  };
}
