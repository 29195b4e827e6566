/**
 * Sauvegarde's schedules as the dashboard shows them: every job of the suite
 * (`sauvegarde_schedules`), its pg_cron schedule if it has one, when it ran last and how that
 * went, and when it runs next.
 *
 * @module
 */
import { cronJobs } from "../verify/facts.ts";
import type { VerifyContext } from "../verify/types.ts";
import { nextRun } from "./cron_next.ts";

/** One job of the suite. */
export interface ScheduleStatus {
  /** The suite's name ("database-backup"); the pg_cron job is `sauvegarde-<job>`. */
  job: string;
  description: string | null;
  /** The pg_cron schedule; null when the job is off. */
  schedule: string | null;
  active: boolean;
  lastRunAt: Date | null;
  lastStatus: string | null;
  /** Null when off, or when the schedule or pg_cron's time zone is not understood. */
  nextRunAt: Date | null;
}

/** The schedules and pg_cron's time zone, or `installed: false` without pg_cron. */
export interface SchedulesStatus {
  installed: boolean;
  timeZone: string | null;
  jobs: ScheduleStatus[];
}

const UTC = new Set(["gmt", "utc", "etc/utc", "etc/gmt", "z", "zulu"]);

/** The suite's jobs with their next runs. */
export async function schedulesStatus(context: VerifyContext): Promise<SchedulesStatus> {
  const sql = context.sql;
  const cron = await cronJobs(context);
  const [{ present }] = await sql`
    select to_regclass('public.sauvegarde_schedules') is not null as present`;
  const suite = present
    ? await sql`select job, description from public.sauvegarde_schedules order by job`
    : [];
  if (!cron) {
    return {
      installed: false,
      timeZone: null,
      jobs: suite.map((row) => ({
        job: row.job,
        description: row.description,
        schedule: null,
        active: false,
        lastRunAt: null,
        lastStatus: null,
        nextRunAt: null,
      })),
    };
  }
  const [{ zone }] = await sql`select current_setting('cron.timezone', true) as zone`;
  const timeZone: string = zone ?? "GMT";
  const utc = UTC.has(timeZone.toLowerCase());
  const byName = new Map(cron.jobs.map((job) => [job.name.replace(/^sauvegarde-/, ""), job]));
  const names = [...new Set([...suite.map((row) => row.job as string), ...byName.keys()])].sort();
  const descriptions = new Map(suite.map((row) => [row.job as string, row.description as string]));
  return {
    installed: true,
    timeZone,
    jobs: names.map((job) => {
      const scheduled = byName.get(job);
      const active = scheduled?.active ?? false;
      return {
        job,
        description: descriptions.get(job) ?? null,
        schedule: scheduled?.schedule ?? null,
        active,
        lastRunAt: scheduled?.lastStart ?? null,
        lastStatus: scheduled?.lastStatus ?? null,
        nextRunAt: scheduled && active && utc
          ? nextRun(scheduled.schedule, context.now, { lastRun: scheduled.lastStart }) ?? null
          : null,
      };
    }),
  };
}
