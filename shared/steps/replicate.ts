/**
 * The `replicate` step: copies backups from one target to the others in one step.
 *
 * The run says what to do: `details.from` (a target name or URL; default the first configured
 * target), `targets` (names or URLs; default every other configured target) and
 * `details.backup` (`"latest"`, an id, or absent for every backup a target lacks). The status
 * of every target is recorded in the run's details, also when the run fails.
 *
 * @module
 */
import type { StepContext } from "../jobs/mod.ts";
import type { Step } from "../jobs/executor.ts";
import { type OpenedRepository, openRepository } from "../repository/open.ts";
import { recordRunDetails } from "../runs/run_details.ts";
import { resolveTarget, resolveTargets } from "../targets/named_targets.ts";
import { replicate, type TargetReplication } from "../replication/replicate.ts";

/** A target's replication shortened for `backup_runs.details`. */
export interface ReplicationSummary {
  ok: boolean;
  backups: Array<{ kind: string; id: string; copiedBlobs: number; manifest: string }>;
  skipped: number;
  copiedBlobs: number;
  copiedBytes: number;
  error?: string;
}

/** Shortens per-target statuses for run details and printing. */
export function summarizeReplication(
  statuses: readonly TargetReplication[],
): Record<string, ReplicationSummary> {
  return Object.fromEntries(statuses.map((status) => [status.target, {
    ok: status.ok,
    backups: status.backups.map((backup) => ({
      kind: backup.kind,
      id: backup.id,
      copiedBlobs: backup.copiedBlobs,
      manifest: backup.manifest,
    })),
    skipped: status.skipped,
    copiedBlobs: status.copiedBlobs,
    copiedBytes: status.copiedBytes,
    ...(status.error ? { error: status.error } : {}),
  }]));
}

/** Builds the `replicate` step for an app (register it with `registerStep("replicate", …)`). */
export function createReplicateStep(app: StepContext): Step {
  return async (run, tools) => {
    const names = Object.keys(app.config.targets);
    const from = typeof run.details.from === "string"
      ? resolveTarget(app.config, run.details.from)
      : resolveTarget(app.config, names[0]);
    const backup = typeof run.details.backup === "string" ? run.details.backup : undefined;
    const destinations = run.targets.length
      ? resolveTargets(app.config, run.targets)
      : resolveTargets(app.config).filter((target) => target.name !== from.name);
    if (destinations.length === 0) {
      throw new Error(`There is no target to replicate to besides ${from.name}`);
    }
    const opened: OpenedRepository[] = [];
    try {
      const source = await openRepository(from.name, from.url, app.config);
      opened.push(source);
      for (const target of destinations) {
        opened.push(await openRepository(target.name, target.url, app.config));
      }
      const statuses = await replicate(
        source.repository,
        opened.slice(1).map((entry) => ({ name: entry.name, repository: entry.repository })),
        { backup, signal: tools.signal },
      );
      const details = {
        from: from.name,
        backup: backup ?? "missing",
        targets: summarizeReplication(statuses),
      };
      const failed = statuses.filter((status) => !status.ok);
      if (failed.length) {
        await recordRunDetails(app.sql, run.id, details);
        throw new Error(
          `Replication failed for ${
            failed.map((status) => `target ${status.target} (${status.error})`).join("; ")
          }`,
        );
      }
      return {
        done: true,
        checkpoint: {},
        items: statuses.reduce((n, status) => n + status.backups.length, 0),
        bytes: statuses.reduce((n, status) => n + status.copiedBytes, 0),
        details,
      };
    } finally {
      for (const entry of opened) await entry.target.close().catch(() => {});
    }
  };
}
