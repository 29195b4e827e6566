/**
 * What backups, snapshots, restores and restore tests say when they end: always on failure,
 * on success only when configured (`SAUVEGARDE_NOTIFY_ON_SUCCESS`).
 *
 * @module
 */
import type { Run } from "../runs/run_store.ts";
import type { Notification, NotificationField } from "./message.ts";
import { notify, type NotifyOptions, type NotifyResult } from "./notify.ts";

const WHAT: Record<string, string> = {
  database: "Database backup",
  storage: "Storage snapshot",
  restore_test: "Restore test",
  verify: "Verification",
  prune: "Retention",
  replicate: "Replication",
  config_backup: "Configuration backup",
  code_backup: "Code backup",
};

const NEXT_ON_FAILURE: Record<string, string> = {
  database:
    "Read the run's error in backup_runs, fix its cause (database reachable, target writable, credentials), then start a backup from the dashboard or wait for the next schedule.",
  storage:
    "Read the run's error in backup_runs, check the Storage S3 keys and the target, then start a snapshot or wait for the next schedule.",
  restore_test:
    "Read the run's error: a backup that does not restore is not a backup. Run the restore test again by hand and keep the failing backup for investigation.",
};

/** Builds the message for a finished run. */
export function runOutcomeNotification(run: Run): Notification {
  const what = WHAT[run.kind] ?? run.kind;
  const failed = run.status === "failed";
  const took = run.startedAt && run.finishedAt
    ? formatDuration(run.finishedAt.getTime() - run.startedAt.getTime())
    : undefined;
  const fields: NotificationField[] = [
    { label: "Kind", value: run.kind },
    { label: "Trigger", value: run.trigger },
  ];
  if (run.targets.length) fields.push({ label: "Targets", value: run.targets.join(", ") });
  if (run.backupId) fields.push({ label: "Backup", value: run.backupId });
  if (run.bytes) fields.push({ label: "Size", value: formatBytes(run.bytes) });
  if (took) fields.push({ label: "Took", value: took });
  return {
    severity: failed ? "fail" : run.status === "succeeded" ? "success" : "warn",
    title: failed
      ? `${what} failed`
      : run.status === "succeeded"
      ? `${what} succeeded`
      : `${what} ${run.status}`,
    details: failed
      ? `${what} ${run.id} failed after ${run.attempts} attempt(s): ${
        run.error ?? "no error recorded"
      }`
      : `${what} ${run.id} ended ${run.status}${run.items ? ` (${run.items} items)` : ""}.`,
    runId: run.id,
    fields,
    nextStep: failed
      ? NEXT_ON_FAILURE[run.kind] ?? "Read the run's error in backup_runs and fix its cause."
      : undefined,
  };
}

/**
 * Notifies about a run that just ended: failures always, successes only when
 * `notifyOnSuccess` is set. Returns undefined when nothing was sent. Never throws.
 */
export async function notifyRunOutcome(
  run: Run,
  options: NotifyOptions & { notifyOnSuccess?: boolean } = {},
): Promise<NotifyResult | undefined> {
  if (run.status === "succeeded" && !options.notifyOnSuccess) return undefined;
  if (run.status !== "failed" && run.status !== "succeeded") return undefined;
  return await notify(runOutcomeNotification(run), options);
}

/** "1.5 GB", "12 MB", "900 B". */
export function formatBytes(bytes: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** "45 s", "12 min", "3 h 5 min", "2 days". */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 90) return `${s} s`;
  const min = Math.round(s / 60);
  if (min < 90) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return min % 60 ? `${h} h ${min % 60} min` : `${h} h`;
  return `${Math.round(h / 24)} days`;
}
