/**
 * The Storage snapshot step, as the run executor (`shared/jobs`) calls it: one budgeted step
 * of a `storage` run, resuming from `backup_runs.checkpoint`.
 *
 * @module
 */
import type { StepContext } from "../jobs/mod.ts";
import { selectTargets } from "../config/mod.ts";
import type { Step, StepResult } from "../jobs/executor.ts";
import { openSnapshotContext } from "../storage/open.ts";
import { runStorageSnapshotStep, type SnapshotSummary } from "../storage/snapshot/mod.ts";

/** Objects transferred at once by a step (the CLI's default is higher). */
export const EDGE_CONCURRENCY = 12;

/** Object bytes a step holds in flight, roughly. */
export const EDGE_MEMORY_BYTES = 48 * 1024 * 1024;

/** Builds the step that runs `storage` runs for an app. */
export function createStorageStep(app: Pick<StepContext, "config" | "sql">): Step {
  return async (run, tools): Promise<StepResult> => {
    const opened = await openSnapshotContext(app.config, {
      targets: selectTargets(app.config, run.targets),
      sql: app.sql,
      // Edge Functions have 256 MB: fewer transfers at once than the CLI's defaults.
      concurrency: EDGE_CONCURRENCY,
      memoryBytes: EDGE_MEMORY_BYTES,
    });
    try {
      const result = await runStorageSnapshotStep(opened.context, run.checkpoint, {
        budget: tools.budget,
        signal: tools.signal,
        saveCheckpoint: tools.saveCheckpoint,
      });
      const checkpoint = result.checkpoint as Record<string, unknown>;
      if (!result.done) return { done: false, checkpoint };
      const written = result.checkpoint.written as unknown as Array<
        SnapshotSummary & { location: string }
      >;
      const summary = written.at(-1);
      return {
        done: true,
        checkpoint,
        backupId: written[0]?.snapshotId,
        manifestLocation: written
          .map((w) => `${w.target}:manifests/${w.location}.json`)
          .join(", "),
        bytes: summary?.bytes,
        items: summary?.objects,
        details: {
          buckets: result.checkpoint.resolvedBuckets,
          snapshots: written,
          ...(summary
            ? {
              copied: summary.copied,
              skipped: summary.skipped,
              vanished: summary.vanished,
              storedBytes: summary.storedBytes,
              databaseBackupId: summary.databaseBackupId,
              missingFromBucket: summary.missingFromBucket,
              missingFromDatabase: summary.missingFromDatabase,
            }
            : {}),
        },
      };
    } finally {
      await opened.close();
    }
  };
}
