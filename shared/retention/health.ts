/**
 * Whether backups of a kind are healthy enough to prune: retention must never thin out the
 * old backups while new ones are failing, since the old ones may then be all there is.
 *
 * Read from `backup_runs`: a kind is unhealthy when its latest finished run failed, or when
 * no run of it succeeded within its freshness window (for the database, no run of a full
 * backup: partial ones do not count).
 *
 * @module
 */
import type { Run, RunKind, RunStatus } from "../runs/mod.ts";

/** The part of the run store health needs (the run store itself, or a test double). */
export interface RunHistory {
  latest(
    kind: RunKind,
    status?: RunStatus,
    options?: { fullBackups?: boolean },
  ): Promise<Run | undefined>;
}

/** The verdict on one kind. */
export type KindHealth = { kind: RunKind; ok: true } | { kind: RunKind; ok: false; reason: string };

/** Options for {@link backupHealth}. */
export interface HealthOptions {
  /** The newest a succeeded run may be, in ms before `now`. */
  freshnessMs: number;
  now?: Date;
}

/** Whether the backups of `kind` are succeeding, according to `backup_runs`. */
export async function backupHealth(
  history: RunHistory,
  kind: RunKind,
  options: HealthOptions,
): Promise<KindHealth> {
  const now = options.now ?? new Date();
  const [succeeded, failed] = await Promise.all([
    // A partial backup succeeding does not make up for full ones failing or missing.
    history.latest(kind, "succeeded", { fullBackups: kind === "database" }),
    history.latest(kind, "failed"),
  ]);
  if (failed && (!succeeded || failed.createdAt.getTime() > succeeded.createdAt.getTime())) {
    return {
      kind,
      ok: false,
      reason: `the latest ${kind} run failed (run ${failed.id} at ${
        (failed.finishedAt ?? failed.createdAt).toISOString()
      }${failed.error ? `: ${failed.error}` : ""})`,
    };
  }
  const finished = succeeded?.finishedAt ?? succeeded?.createdAt;
  if (!finished) {
    return { kind, ok: false, reason: `no ${kind} run has ever succeeded` };
  }
  if (now.getTime() - finished.getTime() > options.freshnessMs) {
    return {
      kind,
      ok: false,
      reason: `no ${kind} run succeeded in the last ${formatWindow(options.freshnessMs)} ` +
        `(the latest good one finished at ${finished.toISOString()})`,
    };
  }
  return { kind, ok: true };
}

function formatWindow(ms: number): string {
  const hours = ms / 3_600_000;
  if (hours >= 48 && Number.isInteger(hours / 24)) return `${hours / 24} days`;
  if (hours >= 1) return `${Math.round(hours * 10) / 10} h`;
  return `${Math.round(ms / 60_000)} min`;
}
