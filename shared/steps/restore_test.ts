/**
 * The `restore_test` step: restores the run's backup (details `backupId`, default the latest)
 * of its first target (default: the first configured) into a scratch database, checks it, runs
 * the project's own pgTAP tests on it, and records `{ backupId, seconds, tables, rows,
 * mismatches, appTests, … }` in the run's details. A mismatch, a failing test or a failed
 * restore fails the run, so the executor notifies. Without a budget (the worker, the CLI) it is
 * one step, restoring as a real restore does (`restore_test.ts`); under one (an Edge Function),
 * unit by unit, checkpointed (`stepwise.ts`).
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
import { dropRunScratchDatabases, SCRATCH_PREFIX } from "../restore_test/scratch_database.ts";
import { advanceRestoreTest, readProgress } from "../restore_test/stepwise.ts";
import { DEFAULT_APP_TESTS_DIR, loadAppTests } from "../restore_test/app_tests.ts";
import { chooseScratchServer, scratchCandidates } from "../restore_test/scratch_server.ts";
import { isUnbounded } from "../jobs/budget.ts";
import { FOR_WORKER } from "../runs/mod.ts";

/** Options for {@link createRestoreTestStep}. */
export interface RestoreTestStepOptions {
  /**
   * Server for the scratch database (default: the project's own, SUPABASE_DB_URL, when its
   * role may create databases, else SAUVEGARDE_RESTORE_TEST_DB_URL's; on the Edge, where
   * neither may, the run is left to the worker).
   */
  serverUrl?: string;
  /**
   * Test a backup whose manifest is not authenticated: only an operator's command says so
   * (`test-restore --allow-unauthenticated`); scheduled restore tests never do.
   */
  allowUnauthenticated?: boolean;
  onProgress?: (message: string) => void;
}

/** The details a restore test records in `backup_runs`. */
export function restoreTestDetails(
  report: RestoreTestReport,
  target: string,
  scratchServer?: string,
) {
  return {
    target,
    // Which setting's server held the scratch database (never its URL).
    ...(scratchServer ? { scratchServer } : {}),
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
    ...(report.steps ? { steps: report.steps } : {}),
    ...(report.appTests ? { appTests: report.appTests } : {}),
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
    const requested = typeof run.details.backupId === "string" ? run.details.backupId : "latest";
    // One name for the whole run, so a later step (or run) finds what a killed one left.
    const scratchId = `run_${run.id.replaceAll("-", "").slice(0, 8)}`;
    const progress = readProgress(run.checkpoint.restoreTest);
    // Under a budget (an Edge Function), or resuming one: unit by unit, checkpointed.
    const stepwise = progress !== undefined || !isUnbounded(tools.budget.limits);
    const candidates = options.serverUrl
      ? scratchCandidates([["--scratch-db", options.serverUrl]])
      : scratchCandidates([
        ["SUPABASE_DB_URL", app.config.databaseUrl],
        ["SAUVEGARDE_RESTORE_TEST_DB_URL", app.config.restoreTestDbUrl],
      ]);
    // A resumed run keeps the server its first step chose (recorded by setting, not URL).
    const chosen = progress
      ? candidates.find((one) => one.setting === run.checkpoint.scratchServer)
      : undefined;
    const choice = chosen
      ? { server: chosen, refusals: [] }
      : await chooseScratchServer(candidates);
    if (!choice.server) {
      const why = candidates.length === 0
        ? "no server is configured (SUPABASE_DB_URL, SAUVEGARDE_RESTORE_TEST_DB_URL)"
        : choice.refusals.join("; ");
      if (stepwise) {
        // The worker restores anywhere its own settings point (a server beside it).
        const reason = `No server here may create the scratch database: ${why}`;
        await recordRunDetails(app.sql, run.id, { leftToWorker: reason });
        console.error(`Restore test ${run.id} is left to the worker. ${reason}`);
        return { done: false, checkpoint: { [FOR_WORKER]: reason } };
      }
      throw new Error(`No server may create the scratch database: ${why}`);
    }
    const serverUrl = choice.server.url;
    const scratchServer = choice.server.setting;
    // The project's own pgTAP tests (bundled with the function on the Edge: config.toml's
    // static_files), run on the restored copy.
    const appTests = await loadAppTests(app.config.appTestsDir ?? DEFAULT_APP_TESTS_DIR);
    const opened = await openRepository(target.name, target.url, app.config);
    let report: RestoreTestReport;
    try {
      // One restore test runs at a time (backup_runs allows one live run): at a run's start,
      // a scratch database of a run is one a killed or failed run left behind.
      if (!progress) {
        for (const one of candidates) {
          // A server that cannot be reached holds nothing we could drop now; the next run tries.
          await dropRunScratchDatabases(one.url).catch(() => []);
        }
      }
      if (stepwise) {
        const result = await advanceRestoreTest(opened.repository, progress, {
          serverUrl,
          backupId: requested,
          scratchDatabase: `${SCRATCH_PREFIX}${scratchId}`,
          shouldStop: () => tools.budget.exhausted(),
          save: (state) => tools.saveCheckpoint({ restoreTest: state, scratchServer }),
          onBytes: (bytes) => tools.budget.addBytes(bytes),
          appTests,
          allowUnauthenticated: options.allowUnauthenticated,
          signal: tools.signal,
          onProgress: options.onProgress,
        });
        if (!result.report) {
          return { done: false, checkpoint: { restoreTest: result.progress, scratchServer } };
        }
        report = result.report;
      } else {
        report = await runRestoreTest(opened.repository, {
          serverUrl,
          backupId: requested,
          scratchId,
          appTests,
          signal: tools.signal,
          allowUnauthenticated: options.allowUnauthenticated,
          onProgress: options.onProgress,
        });
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      await recordRunDetails(app.sql, run.id, { target: target.name, error: message });
      throw error;
    } finally {
      await opened.target.close();
    }
    const details = restoreTestDetails(report, target.name, scratchServer);
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
