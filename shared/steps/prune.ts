/**
 * The `prune` step: prunes every target of the run (its `targets`, names or URLs; all
 * configured targets when empty) with the configured retention, in one step. A dry run is a
 * run whose details say `dryRun: true`.
 *
 * @module
 */
import type { StepContext } from "../jobs/mod.ts";
import type { Step } from "../jobs/executor.ts";
import { resolveTargets } from "../targets/named_targets.ts";
import { openRepository } from "../repository/open.ts";
import { DEFAULT_FRESHNESS_MS, prune, type PruneReport } from "../retention/prune.ts";
import { recordRunDetails } from "../runs/run_details.ts";

/** A prune report shortened for `backup_runs.details` (blob ids left out). */
export interface PruneSummary {
  dryRun: boolean;
  kinds: Array<{
    kind: string;
    keep: Array<{ id: string; class?: string; reasons: string[] }>;
    remove: string[];
    /** Removed backups that are not full ones, with their class. */
    removeClasses?: Record<string, string>;
  }>;
  blobs: { stored: number; referenced: number; young: number; remove: number; removeBytes: number };
  removedManifests: number;
  removedBlobs: number;
  removedBytes: number;
  keptLate: number;
  sweep: PruneReport["sweep"];
  sweepSkipped?: string;
}

/** Shortens a report for run details and printing. */
export function summarizePrune(report: PruneReport): PruneSummary {
  const { plan } = report;
  return {
    dryRun: report.dryRun,
    kinds: plan.kinds.map((kind) => ({
      kind: kind.kind,
      keep: kind.keep.map((backup) => ({
        id: backup.id,
        ...(backup.class ? { class: backup.class } : {}),
        reasons: backup.reasons,
      })),
      remove: kind.remove.map((backup) => backup.id),
      ...removedClasses(kind.remove),
    })),
    blobs: {
      stored: plan.blobs.stored,
      referenced: plan.blobs.referenced,
      young: plan.blobs.young,
      remove: plan.blobs.remove.length,
      removeBytes: plan.blobs.removeBytes,
    },
    removedManifests: report.removedManifests.length,
    removedBlobs: report.removedBlobs,
    removedBytes: report.removedBytes,
    keptLate: report.keptLate,
    sweep: report.sweep,
    ...(report.sweepSkipped ? { sweepSkipped: report.sweepSkipped } : {}),
  };
}

function removedClasses(
  removed: ReadonlyArray<{ id: string; class?: string }>,
): { removeClasses?: Record<string, string> } {
  const notFull = removed.filter((backup) => backup.class && backup.class !== "full");
  if (notFull.length === 0) return {};
  return { removeClasses: Object.fromEntries(notFull.map((b) => [b.id, b.class!])) };
}

/** Builds the `prune` step for an app (register it with `registerStep("prune", …)`). */
export function createPruneStep(app: StepContext): Step {
  return async (run, tools) => {
    const dryRun = run.details.dryRun === true;
    const targets = resolveTargets(app.config, run.targets);
    const results: Record<string, PruneSummary | { error: string }> = {};
    const failures: string[] = [];
    let removedManifests = 0;
    let removedBytes = 0;
    for (const target of targets) {
      const opened = await openRepository(target.name, target.url, app.config);
      try {
        const report = await prune(opened.repository, {
          policies: app.config.retention,
          classPolicy: app.config.classRetention,
          history: app.store,
          freshnessMs: {
            database: app.config.objectives.database ?? DEFAULT_FRESHNESS_MS,
            storage: app.config.objectives.storage ?? DEFAULT_FRESHNESS_MS,
          },
          graceMs: app.config.pruneGraceMs,
          dryRun,
          owner: `prune run ${run.id}`,
          signal: tools.signal,
        });
        results[target.name] = summarizePrune(report);
        removedManifests += report.removedManifests.length;
        removedBytes += report.removedBytes;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        results[target.name] = { error: message };
        failures.push(targets.length > 1 ? `target ${target.name}: ${message}` : message);
      } finally {
        await opened.target.close();
      }
    }
    if (failures.length) {
      await recordRunDetails(app.sql, run.id, { dryRun, targets: results });
      throw new Error(failures.join("; "));
    }
    return {
      done: true,
      checkpoint: {},
      items: removedManifests,
      bytes: removedBytes,
      details: { dryRun, targets: results },
    };
  };
}
