/**
 * pg_cron schedules: the expected `sauvegarde-…` jobs exist in `cron.job` and are active,
 * and every Sauvegarde job ran recently according to `cron.job_run_details` — its last run
 * did not fail and is not overdue (older than twice its interval, plus 5 minutes). Only the
 * newest rows of the history are searched (see `facts.ts`): a job absent from them is
 * overdue when the window reaches further back than twice its interval.
 *
 * @module
 */
import { scheduleIntervalMs } from "../cron_interval.ts";
import { cronJobs, expectedCronJobs } from "../facts.ts";
import { formatAge } from "../objectives.ts";
import { scrub } from "../../notify/scrub.ts";
import { DEFAULT_CRON_JOBS } from "../../config/mod.ts";
import type { Check, CheckStatus } from "../types.ts";

const SLACK_MS = 5 * 60_000;

/** `schedules`. */
export const schedulesCheck: Check = {
  id: "schedules",
  async run(context) {
    const base = { id: "schedules", name: "Backup schedules (pg_cron)" };
    const cron = await cronJobs(context);
    if (!cron) {
      return [{
        ...base,
        status: "fail",
        summary: "pg_cron is not installed, so no backup runs on a schedule",
        nextStep:
          "Enable the pg_cron extension and apply Sauvegarde's migrations (supabase db push)",
      }];
    }
    const jobs = cron.jobs;
    const expected = (await expectedCronJobs(context)) ?? [...DEFAULT_CRON_JOBS];
    const byName = new Map(jobs.map((job) => [job.name, job]));
    const problems: Array<{ status: CheckStatus; text: string }> = [];
    for (const name of expected) {
      const job = byName.get(name);
      if (!job) problems.push({ status: "fail", text: `${name} is missing from cron.job` });
      else if (!job.active) problems.push({ status: "fail", text: `${name} is inactive` });
    }
    const now = context.now.getTime();
    for (const job of jobs) {
      if (!job.active) continue;
      if (!job.lastStart) {
        // Not in the history looked at: never ran (whole history), or not for a long while.
        const interval = scheduleIntervalMs(job.schedule);
        const since = cron.historySince?.getTime();
        if (
          !cron.wholeHistory && since !== undefined && interval !== undefined &&
          now - since > 2 * interval + SLACK_MS
        ) {
          problems.push({
            status: "warn",
            text: `${job.name} has not run since before ${
              new Date(since).toISOString().replace(/\.\d+Z$/, "Z")
            }, though scheduled every ${formatAge(interval)}`,
          });
        }
        continue;
      }
      if (job.lastStatus === "failed") {
        problems.push({
          status: "warn",
          text: `${job.name} failed on its last run ${
            formatAge(now - job.lastStart.getTime())
          } ago${
            job.lastMessage ? ` (${scrub(job.lastMessage.split("\n")[0]).slice(0, 200)})` : ""
          }`,
        });
        continue;
      }
      const interval = scheduleIntervalMs(job.schedule);
      const age = now - job.lastStart.getTime();
      if (interval !== undefined && age > 2 * interval + SLACK_MS) {
        problems.push({
          status: "warn",
          text: `${job.name} last ran ${formatAge(age)} ago, though scheduled every ${
            formatAge(interval)
          }`,
        });
      }
    }
    const details = {
      expected,
      historyRows: cron.historyRows,
      jobs: jobs.map((job) => ({
        name: job.name,
        schedule: job.schedule,
        active: job.active,
        lastStart: job.lastStart,
        lastStatus: job.lastStatus,
      })),
    };
    if (problems.length === 0) {
      const ran = jobs.filter((job) => job.lastStart).length;
      return [{
        ...base,
        status: "ok",
        summary:
          `All ${expected.length} expected pg_cron jobs are scheduled; ${ran} of ${jobs.length} have run, none late or failing`,
        details,
      }];
    }
    const status: CheckStatus = problems.some((p) => p.status === "fail") ? "fail" : "warn";
    return [{
      ...base,
      status,
      summary: `Schedules need attention: ${problems.map((p) => p.text).join("; ")}`,
      nextStep: status === "fail"
        ? "Re-create the missing jobs: select public.sauvegarde_set_schedule('<job>', '<cron>') for each, or re-apply the schedules migration"
        : "Read cron.job_run_details for the job (select * from cron.job_run_details where jobid = … order by runid desc limit 5) and fix its error; check that the pg_cron launcher is running",
      details,
    }];
  },
};
