/**
 * Facts from the database that several checks share: the latest good run of a kind, the
 * live runs, and Sauvegarde's pg_cron jobs. Each is one indexed query, run once.
 *
 * @module
 */
import { type BackupClass, runBackupClass } from "../database/backup_class.ts";
import { fullBackupRun, type RunKind } from "../runs/mod.ts";
import type { VerifyContext } from "./types.ts";

/** The latest succeeded run of a kind, by finish time. */
export interface GoodRun {
  id: string;
  backupId: string | null;
  startedAt: Date | null;
  finishedAt: Date;
  bytes: number;
}

/**
 * The latest succeeded run of a kind (uses the partial index on succeeded runs). For database
 * backups and restore tests, only runs of full backups of the project count: a partial backup
 * does not refresh the database objective, nor a restore test of one prove the backups.
 */
export function latestGoodRun(context: VerifyContext, kind: RunKind): Promise<GoodRun | undefined> {
  return context.once(`good:${kind}`, async () => {
    const [row] = await context.sql`
      select id, backup_id, started_at, finished_at, bytes from public.backup_runs
      where kind = ${kind} and status = 'succeeded' ${fullRunsOf(context, kind)}
      order by finished_at desc limit 1`;
    if (!row) return undefined;
    return {
      id: row.id,
      backupId: row.backup_id,
      startedAt: row.started_at,
      finishedAt: row.finished_at,
      bytes: Number(row.bytes),
    };
  });
}

/** `and <the run is of a full backup>` for the kinds that have classes, else nothing. */
export function fullRunsOf(context: VerifyContext, kind: RunKind) {
  return kind === "database" || kind === "restore_test"
    ? context.sql`and ${fullBackupRun(context.sql)}`
    : context.sql``;
}

/** A queued or running run. */
export interface LiveRun {
  id: string;
  kind: RunKind;
  status: "queued" | "running";
  createdAt: Date;
  heartbeatAt: Date | null;
  /** For a database run, the class of the backup it makes (`database/backup_class.ts`). */
  backupClass?: BackupClass;
  /** Why an Edge step left the run to the worker (`steps/restore_test.ts`). */
  leftToWorker?: string;
}

/** Every live run (uses the partial index on live runs). */
export function liveRuns(context: VerifyContext): Promise<LiveRun[]> {
  return context.once("live", async () => {
    const rows = await context.sql`
      select id, kind, status, created_at, heartbeat_at, details from public.backup_runs
      where status in ('queued', 'running') order by heartbeat_at nulls first`;
    return rows.map((row) => ({
      id: row.id,
      kind: row.kind,
      status: row.status,
      createdAt: row.created_at,
      heartbeatAt: row.heartbeat_at,
      ...(row.kind === "database" ? { backupClass: runBackupClass(row.details ?? {}) } : {}),
      ...(typeof row.details?.leftToWorker === "string"
        ? { leftToWorker: row.details.leftToWorker }
        : {}),
    }));
  });
}

/**
 * A live run of `kind` whose heartbeat is fresh: a backup is in progress right now (for the
 * database, a full one: a partial backup running will not bring the objective back).
 */
export async function runInProgress(
  context: VerifyContext,
  kind: RunKind,
): Promise<LiveRun | undefined> {
  const limit = context.now.getTime() - context.options.staleAfterMs;
  return (await liveRuns(context)).find((run) =>
    run.kind === kind && run.status === "running" && (run.heartbeatAt?.getTime() ?? 0) >= limit &&
    (run.backupClass ?? "full") === "full"
  );
}

/** One of Sauvegarde's pg_cron jobs with its latest run in the recent history. */
export interface CronJob {
  jobid: number;
  name: string;
  schedule: string;
  active: boolean;
  lastStart: Date | null;
  lastStatus: string | null;
  lastMessage: string | null;
}

/** Sauvegarde's pg_cron jobs and how much history their latest runs were looked for in. */
export interface CronFacts {
  jobs: CronJob[];
  /** Rows of `cron.job_run_details` looked at (the newest ones). */
  historyRows: number;
  /** The history looked at is the whole history (fewer rows than the window). */
  wholeHistory: boolean;
  /** Start of the oldest run looked at. */
  historySince: Date | null;
}

/** How many of the newest `cron.job_run_details` rows are searched for each job's latest run. */
export const CRON_HISTORY_WINDOW = 10_000;

/**
 * Sauvegarde's pg_cron jobs (named `sauvegarde-…`) with their latest run, or undefined when
 * pg_cron is not installed. `cron.job_run_details` is never pruned by pg_cron itself and has
 * no index but its primary key (in start order), so only its newest
 * {@link CRON_HISTORY_WINDOW} rows are read, walking that key backwards: the cost stays
 * bounded however long the history.
 */
export function cronJobs(context: VerifyContext): Promise<CronFacts | undefined> {
  return context.once("cron", async () => {
    const [{ installed }] = await context.sql`
      select to_regclass('cron.job') is not null as installed`;
    if (!installed) return undefined;
    const jobs = await context.sql`
      select jobid, jobname, schedule, active from cron.job
      where jobname like 'sauvegarde-%' order by jobname`;
    const [window] = await context.sql`
      select count(*)::int as rows, min(start_time) as since from (
        select start_time from cron.job_run_details order by runid desc limit ${CRON_HISTORY_WINDOW}
      ) recent`;
    const latestRows = await context.sql`
      with recent as (
        select jobid, runid, start_time, status, return_message from cron.job_run_details
        order by runid desc limit ${CRON_HISTORY_WINDOW}
      )
      select distinct on (jobid) jobid, start_time, status, return_message
      from recent where status <> 'starting' order by jobid, runid desc`;
    const latest = new Map(latestRows.map((row) => [Number(row.jobid), row]));
    return {
      jobs: jobs.map((row) => {
        const run = latest.get(Number(row.jobid));
        return {
          jobid: Number(row.jobid),
          name: row.jobname,
          schedule: row.schedule,
          active: row.active,
          lastStart: run?.start_time ?? null,
          lastStatus: run?.status ?? null,
          lastMessage: run?.return_message ?? null,
        };
      }),
      historyRows: window.rows,
      wholeHistory: window.rows < CRON_HISTORY_WINDOW,
      historySince: window.since,
    };
  });
}

/** The jobs verification expects: configured, else the suite's default-on jobs, else none. */
export function expectedCronJobs(context: VerifyContext): Promise<string[] | undefined> {
  return context.once("expected-cron", async () => {
    if (context.config.cronJobs) return context.config.cronJobs;
    const [{ present }] = await context.sql`
      select to_regclass('public.sauvegarde_schedules') is not null as present`;
    if (!present) return undefined;
    const rows = await context.sql`
      select 'sauvegarde-' || job as name from public.sauvegarde_schedules
      where default_schedule is not null order by job`;
    return rows.map((row) => row.name as string);
  });
}
