/**
 * What the status API shows of a run: the row without its checkpoint or details, plus the
 * figures a table needs (how long it took, the restore time a restore test measured).
 *
 * @module
 */
import type postgres from "postgres";
import type { RunKind, RunStatus, RunTrigger } from "../runs/mod.ts";

/** One run as listed by the status API. */
export interface RunSummary {
  id: string;
  kind: RunKind;
  status: RunStatus;
  trigger: RunTrigger;
  requestedBy: string | null;
  targets: string[];
  backupId: string | null;
  createdAt: Date;
  startedAt: Date | null;
  heartbeatAt: Date | null;
  finishedAt: Date | null;
  bytes: number;
  items: number;
  attempts: number;
  error: string | null;
  /** From start to finish (or to the last heartbeat while live), in seconds. */
  seconds: number | null;
  /** A restore test's measured restore time (the RTO), in seconds. */
  rtoSeconds: number | null;
}

/** The columns {@link toRunSummary} reads: never `checkpoint`, never the whole `details`. */
export function summaryColumns(sql: postgres.Sql): postgres.PendingQuery<postgres.Row[]> {
  return sql`id, kind, status, trigger, requested_by, targets, backup_id, created_at,
    started_at, heartbeat_at, finished_at, bytes, items, attempts, error,
    case when kind = 'restore_test' then details -> 'seconds' end as rto_seconds`;
}

/** Maps a row selected with {@link summaryColumns}. */
// deno-lint-ignore no-explicit-any
export function toRunSummary(row: any): RunSummary {
  const end: Date | null = row.finished_at ?? row.heartbeat_at;
  return {
    id: row.id,
    kind: row.kind,
    status: row.status,
    trigger: row.trigger,
    requestedBy: row.requested_by,
    targets: row.targets ?? [],
    backupId: row.backup_id,
    createdAt: row.created_at,
    startedAt: row.started_at,
    heartbeatAt: row.heartbeat_at,
    finishedAt: row.finished_at,
    bytes: Number(row.bytes),
    items: Number(row.items),
    attempts: row.attempts,
    error: row.error,
    seconds: row.started_at && end
      ? Math.max(0, (end.getTime() - row.started_at.getTime()) / 1000)
      : null,
    rtoSeconds: typeof row.rto_seconds === "number" ? row.rto_seconds : null,
  };
}
