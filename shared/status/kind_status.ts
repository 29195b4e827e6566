/**
 * Where each kind of backup stands: the latest good and latest failed run, overall and on each
 * target, the age of the latest good one against the freshness objective (the RPO), the run in
 * progress, and the last restore time a restore test measured (the RTO). Every lookup is one
 * index scan: "latest of a kind in a status" is what `backup_runs`' indexes are for. As for
 * verification, only runs of full backups of the project are a database's or a restore test's
 * latest good run (`runs/run_class.ts`): a partial backup does not meet the objective.
 *
 * @module
 */
import type postgres from "postgres";
import { fullBackupRun, type RunKind } from "../runs/mod.ts";
import type { BackupKind } from "../verify/types.ts";
import { type RunSummary, summaryColumns, toRunSummary } from "./run_summary.ts";

/** The freshness objective of a kind and where it comes from. */
export interface ObjectiveInfo {
  ms: number;
  source: string;
}

/** The latest good and latest failed run, and the age of the good one against the objective. */
export interface Standing {
  latestGood: RunSummary | null;
  latestFailed: RunSummary | null;
  /** Age of the latest good run, in ms (null when none ever succeeded). */
  ageMs: number | null;
  /** Whether that age is within the objective (null when none ever succeeded). */
  withinObjective: boolean | null;
}

/** One kind on one target. */
export interface TargetStanding extends Standing {
  target: string;
  /** Counts as offsite for 3-2-1. */
  offsite: boolean;
}

/** One kind of backup. */
export interface KindStatus extends Standing {
  kind: BackupKind;
  objective: ObjectiveInfo;
  /** The queued or running run of this kind, if any. */
  live: RunSummary | null;
  targets: TargetStanding[];
}

/** Restore tests: the latest good and failed ones, and the restore time measured. */
export interface RestoreTestStatus extends Standing {
  live: RunSummary | null;
  /** The limit on the age of the last good restore test. */
  maxAgeMs: number;
  /** The restore time the latest good restore test measured (the RTO), in seconds. */
  lastRtoSeconds: number | null;
}

/** `and <a full backup>` where the kind has classes of backup, else nothing. */
function fullOnly(sql: postgres.Sql, kind: RunKind): postgres.PendingQuery<postgres.Row[]> {
  return kind === "database" || kind === "restore_test" ? sql`and ${fullBackupRun(sql)}` : sql``;
}

async function latest(
  sql: postgres.Sql,
  kind: RunKind,
  status: "succeeded" | "failed",
): Promise<RunSummary | null> {
  // Succeeded runs by finish time (the partial index on succeeded runs); failed ones by
  // creation (the kind, status, created_at index).
  const [row] = status === "succeeded"
    ? await sql`select ${summaryColumns(sql)} from public.backup_runs
                where kind = ${kind} and status = 'succeeded' ${fullOnly(sql, kind)}
                order by finished_at desc limit 1`
    : await sql`select ${summaryColumns(sql)} from public.backup_runs
                where kind = ${kind} and status = 'failed'
                order by created_at desc limit 1`;
  return row ? toRunSummary(row) : null;
}

async function latestPerTarget(
  sql: postgres.Sql,
  kind: RunKind,
  status: "succeeded" | "failed",
  targets: string[],
): Promise<Map<string, RunSummary>> {
  if (targets.length === 0) return new Map();
  const order = status === "succeeded" ? sql`finished_at desc` : sql`created_at desc`;
  const full = status === "succeeded" ? fullOnly(sql, kind) : sql``;
  const rows = await sql`
    select t.name as target_name, r.* from unnest(${targets}::text[]) as t(name)
    cross join lateral (
      select ${summaryColumns(sql)} from public.backup_runs
      where kind = ${kind} and status = ${status} and t.name = any(targets) ${full}
      order by ${order} limit 1) r`;
  return new Map(rows.map((row) => [row.target_name as string, toRunSummary(row)]));
}

function standing(
  good: RunSummary | null,
  failed: RunSummary | null,
  now: Date,
  limitMs: number,
): Standing {
  const ageMs = good?.finishedAt ? now.getTime() - good.finishedAt.getTime() : null;
  return {
    latestGood: good,
    latestFailed: failed,
    ageMs,
    withinObjective: ageMs === null ? null : ageMs <= limitMs,
  };
}

/** Where one kind of backup stands, overall and per target. */
export async function kindStatus(
  sql: postgres.Sql,
  input: {
    kind: BackupKind;
    objective: ObjectiveInfo;
    targets: string[];
    offsite: Record<string, boolean>;
    live: RunSummary[];
    now: Date;
  },
): Promise<KindStatus> {
  const { kind, objective, targets, now } = input;
  const [good, failed, goodByTarget, failedByTarget] = await Promise.all([
    latest(sql, kind, "succeeded"),
    latest(sql, kind, "failed"),
    latestPerTarget(sql, kind, "succeeded", targets),
    latestPerTarget(sql, kind, "failed", targets),
  ]);
  return {
    kind,
    objective,
    ...standing(good, failed, now, objective.ms),
    live: input.live.find((run) => run.kind === kind) ?? null,
    targets: targets.map((target) => ({
      target,
      offsite: input.offsite[target] ?? false,
      ...standing(
        goodByTarget.get(target) ?? null,
        failedByTarget.get(target) ?? null,
        now,
        objective.ms,
      ),
    })),
  };
}

/** Where restore tests stand. */
export async function restoreTestStatus(
  sql: postgres.Sql,
  input: { maxAgeMs: number; live: RunSummary[]; now: Date },
): Promise<RestoreTestStatus> {
  const [good, failed] = await Promise.all([
    latest(sql, "restore_test", "succeeded"),
    latest(sql, "restore_test", "failed"),
  ]);
  return {
    ...standing(good, failed, input.now, input.maxAgeMs),
    live: input.live.find((run) => run.kind === "restore_test") ?? null,
    maxAgeMs: input.maxAgeMs,
    lastRtoSeconds: good?.rtoSeconds ?? null,
  };
}

/** Every queued or running run, newest first (the partial index on live runs). */
export async function liveRuns(sql: postgres.Sql): Promise<RunSummary[]> {
  const rows = await sql`
    select ${summaryColumns(sql)} from public.backup_runs
    where status in ('queued', 'running') order by created_at desc limit 50`;
  return rows.map(toRunSummary);
}
