/**
 * The last verification as the dashboard shows it: its run, verdict and checks, each failing
 * or warning check with what to do next (from its open alert).
 *
 * @module
 */
import type postgres from "postgres";
import type { AlertState } from "../alerts/mod.ts";
import type { CheckStatus } from "../verify/types.ts";

/** One check of the last verification. */
export interface CheckSummary {
  id: string;
  status: CheckStatus;
  summary: string;
  /** What to do, for a check whose alert is open. */
  nextStep: string | null;
}

/** The last finished verification. */
export interface VerificationStatus {
  runId: string;
  status: CheckStatus;
  summary: string | null;
  finishedAt: Date;
  checks: CheckSummary[];
}

/** The newest finished `verify` run (one index scan per status), or null. */
export async function lastVerification(
  sql: postgres.Sql,
  alerts: AlertState[],
): Promise<VerificationStatus | null> {
  const [row] = await sql`
    select * from (
      (select id, status, created_at, finished_at, details from public.backup_runs
       where kind = 'verify' and status = 'succeeded' order by created_at desc limit 1)
      union all
      (select id, status, created_at, finished_at, details from public.backup_runs
       where kind = 'verify' and status = 'failed' order by created_at desc limit 1)
    ) latest order by created_at desc limit 1`;
  if (!row) return null;
  const details = (row.details ?? {}) as {
    status?: CheckStatus;
    summary?: string;
    checks?: Array<{ id: string; status: CheckStatus; summary: string }>;
  };
  const next = new Map(alerts.map((alert) => [alert.key, alert.nextStep]));
  return {
    runId: row.id,
    status: details.status ?? (row.status === "failed" ? "fail" : "ok"),
    summary: details.summary ?? null,
    finishedAt: row.finished_at,
    checks: (details.checks ?? []).map((check) => ({
      id: check.id,
      status: check.status,
      summary: check.summary,
      nextStep: check.status === "ok" ? null : next.get(check.id) ?? null,
    })),
  };
}
