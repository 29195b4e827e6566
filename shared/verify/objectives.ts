/**
 * Freshness objectives: the oldest the latest good backup of a kind may be. Configured
 * (`SAUVEGARDE_DATABASE_OBJECTIVE`, `SAUVEGARDE_STORAGE_OBJECTIVE`), or the runbook's
 * defaults: 15 minutes for the database and 1 hour for Storage when backups are scheduled
 * that often, 24 hours otherwise.
 *
 * @module
 */
import { scheduleIntervalMs } from "./cron_interval.ts";
import { cronJobs } from "./facts.ts";
import type { BackupKind, VerifyContext } from "./types.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** The runbook's objectives: when frequent backups are scheduled, and otherwise. */
export const DEFAULT_OBJECTIVES: Record<BackupKind, { frequent: number; otherwise: number }> = {
  database: { frequent: 15 * MINUTE, otherwise: 24 * HOUR },
  storage: { frequent: HOUR, otherwise: 24 * HOUR },
};

/** The job-name prefix of each kind's schedules (the daily one and the frequent one). */
const JOB_PREFIX: Record<BackupKind, string> = {
  database: "sauvegarde-database-backup",
  storage: "sauvegarde-storage-snapshot",
};

/** A kind's objective and where it comes from. */
export interface Objective {
  ms: number;
  source: "configured" | "frequent schedule" | "default";
}

/** The freshness objective of a kind. */
export async function objectiveFor(context: VerifyContext, kind: BackupKind): Promise<Objective> {
  const configured = context.config.objectives[kind];
  if (configured) return { ms: configured, source: "configured" };
  const defaults = DEFAULT_OBJECTIVES[kind];
  const jobs = (await cronJobs(context))?.jobs ?? [];
  const fastest = Math.min(
    ...jobs.filter((job) => job.active && job.name.startsWith(JOB_PREFIX[kind]))
      .map((job) => scheduleIntervalMs(job.schedule) ?? Infinity),
  );
  return fastest <= defaults.frequent
    ? { ms: defaults.frequent, source: "frequent schedule" }
    : { ms: defaults.otherwise, source: "default" };
}

/** "15 min", "1 h", "24 h", "31 days": an objective or an age, for sentences. */
export function formatAge(ms: number): string {
  const minutes = Math.round(ms / MINUTE);
  if (ms < 90_000) return `${Math.max(0, Math.round(ms / 1000))} s`;
  if (minutes < 120) return `${minutes} min`;
  const hours = Math.round(ms / HOUR);
  if (hours < 72) return `${hours} h`;
  return `${Math.round(ms / (24 * HOUR))} days`;
}
