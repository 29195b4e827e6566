/**
 * The status API's answers as the dashboard receives them (JSON: dates are ISO strings). Kept
 * free of imports so the folder can be copied into an app; `tests/dashboard_types_test.ts`
 * checks these match what `shared/status/` returns.
 *
 * @module
 */

/** A kind of run in `backup_runs`. */
export type RunKind =
  | "database"
  | "storage"
  | "verify"
  | "restore_test"
  | "prune"
  | "replicate"
  | "config_backup"
  | "code_backup";

/** A run's status. */
export type RunStatus = "queued" | "running" | "succeeded" | "failed" | "cancelled";

/** A verification check's verdict. */
export type CheckStatus = "ok" | "warn" | "fail";

/** One run, as listed. */
export interface RunSummary {
  id: string;
  kind: RunKind;
  status: RunStatus;
  trigger: "cron" | "manual" | "api";
  requestedBy: string | null;
  targets: string[];
  backupId: string | null;
  createdAt: string;
  startedAt: string | null;
  heartbeatAt: string | null;
  finishedAt: string | null;
  bytes: number;
  items: number;
  attempts: number;
  error: string | null;
  seconds: number | null;
  rtoSeconds: number | null;
}

/** The latest good and failed run and the age of the good one against the objective. */
export interface Standing {
  latestGood: RunSummary | null;
  latestFailed: RunSummary | null;
  ageMs: number | null;
  withinObjective: boolean | null;
}

/** One kind of backup on one target. */
export interface TargetStanding extends Standing {
  target: string;
  offsite: boolean;
}

/** One kind of backup. */
export interface KindStatus extends Standing {
  kind: "database" | "storage";
  objective: { ms: number; source: string };
  live: RunSummary | null;
  targets: TargetStanding[];
}

/** Restore tests. */
export interface RestoreTestStatus extends Standing {
  live: RunSummary | null;
  maxAgeMs: number;
  lastRtoSeconds: number | null;
}

/** An open alert. */
export interface OpenAlert {
  key: string;
  severity: "warn" | "fail";
  title: string;
  summary: string;
  nextStep: string | null;
  openedAt: string;
  lastSeenAt: string;
}

/** One job of the schedule suite. */
export interface ScheduleStatus {
  job: string;
  description: string | null;
  schedule: string | null;
  active: boolean;
  lastRunAt: string | null;
  lastStatus: string | null;
  nextRunAt: string | null;
}

/** The last verification. */
export interface VerificationStatus {
  runId: string;
  status: CheckStatus;
  summary: string | null;
  finishedAt: string;
  checks: Array<{ id: string; status: CheckStatus; summary: string; nextStep: string | null }>;
}

/** A page of runs. */
export interface RunsPage {
  items: RunSummary[];
  nextCursor: string | null;
}

/** `GET trigger-backup`. */
export interface BackupStatus {
  generatedAt: string;
  targets: Array<{ name: string; offsite: boolean }>;
  kinds: KindStatus[];
  restoreTest: RestoreTestStatus;
  live: RunSummary[];
  alerts: OpenAlert[];
  schedules: {
    installed: boolean;
    timeZone: string | null;
    jobs: ScheduleStatus[];
  };
  verification: VerificationStatus | null;
  runs: RunsPage;
}

/** `GET trigger-backup?runId=`: one run (its details included). */
export interface RunDetail {
  id: string;
  kind: RunKind;
  status: RunStatus;
  bytes: number;
  items: number;
  error: string | null;
  startedAt: string | null;
  heartbeatAt: string | null;
  finishedAt: string | null;
  details: Record<string, unknown>;
}

/** `POST verify-backups`. */
export interface VerifyReport {
  status: CheckStatus;
  summary: string;
  runId: string;
  checks: Array<
    { id: string; name: string; status: CheckStatus; summary: string; nextStep?: string }
  >;
}

/** What the action buttons start. */
export type Action = "database" | "storage" | "all" | "restore_test" | "verify";
