/**
 * Recent failures per kind: the latest run of a kind failed (fail), or some runs failed in
 * the window but a later one succeeded (warn).
 *
 * @module
 */
import { describeError } from "../inventory.ts";
import { formatAge } from "../objectives.ts";
import type { Check, CheckResult, VerifyContext } from "../types.ts";

const KINDS = {
  database: "database backup",
  storage: "Storage snapshot",
  restore_test: "restore test",
} as const;

async function kindFailures(
  context: VerifyContext,
  kind: keyof typeof KINDS,
): Promise<CheckResult> {
  const noun = KINDS[kind];
  const base = { id: `runs.failures.${kind}`, name: `Recent ${noun} failures` };
  const since = new Date(context.now.getTime() - context.options.failureWindowMs);
  const failed = await context.sql`
    select id, created_at, error from public.backup_runs
    where kind = ${kind} and status = 'failed' and created_at > ${since}
    order by created_at desc limit 100`;
  if (failed.length === 0) {
    return {
      ...base,
      status: "ok",
      summary: `No ${noun} failed in the last ${formatAge(context.options.failureWindowMs)}`,
    };
  }
  const [succeeded] = await context.sql`
    select id, created_at from public.backup_runs
    where kind = ${kind} and status = 'succeeded'
    order by created_at desc limit 1`;
  const latest = failed[0];
  const count = failed.length === 100 ? "100 or more" : String(failed.length);
  const window = formatAge(context.options.failureWindowMs);
  const details = { failed: failed.length, latestFailedRunId: latest.id };
  const error = latest.error ? describeError(latest.error) : "no error recorded";
  if (!succeeded || succeeded.created_at < latest.created_at) {
    return {
      ...base,
      status: "fail",
      summary: `The latest ${noun} failed ${
        formatAge(context.now.getTime() - latest.created_at.getTime())
      } ago (run ${latest.id}): ${error}`,
      nextStep: `Read run ${latest.id} in backup_runs, fix the cause, and start a new ${noun}`,
      details,
    };
  }
  return {
    ...base,
    status: "warn",
    summary: `${count} ${noun}${
      failed.length === 1 ? "" : "s"
    } failed in the last ${window}, but a later one succeeded; the latest error: ${error}`,
    nextStep: "Look at the failed runs: intermittent failures often precede lasting ones",
    details,
  };
}

/** `runs.failures.<kind>` for database backups, Storage snapshots and restore tests. */
export const recentFailuresCheck: Check = {
  id: "runs.failures",
  run: (context) =>
    Promise.all(
      (Object.keys(KINDS) as Array<keyof typeof KINDS>).map((kind) => kindFailures(context, kind)),
    ),
};
