/**
 * What a recovery says when it ends, success or failure: the backup and snapshot restored,
 * where, and the measured RTO.
 *
 * @module
 */
import type { Notification, NotificationField } from "../notify/message.ts";
import type { RecoveryReport } from "./recover.ts";

/** Builds the notification for a finished recovery. */
export function recoveryNotification(report: RecoveryReport): Notification {
  const fields: NotificationField[] = [
    { label: "Database backup", value: report.backupId },
    { label: "Storage snapshot", value: report.snapshotId ?? "not restored" },
    { label: "Destination", value: report.destination },
    { label: "RTO", value: rtoText(report) },
  ];
  if (report.ok) {
    return {
      severity: "success",
      title: "Disaster recovery completed",
      details:
        `Database backup ${report.backupId} was restored into ${report.destination} (${
          report.database?.tables ?? 0
        } tables, ${report.database?.rows ?? 0} rows)` +
        (report.storage
          ? `, and Storage snapshot ${report.snapshotId} (${report.storage.check.present} objects, all present with their sizes)`
          : "") +
        ` in ${report.rto.total} s.`,
      fields,
    };
  }
  const failed = report.failed ?? { phase: "database", error: "no error recorded" };
  return {
    severity: "fail",
    title: "Disaster recovery failed",
    details: `Recovery failed while restoring ${
      failed.phase === "database"
        ? "the database"
        : failed.phase === "storage"
        ? "Storage"
        : "Storage (post-restore check)"
    }: ${failed.error}`,
    fields,
    nextStep: report.changed === false
      ? "Nothing was changed: fix the cause and run the recovery again."
      : "Read the error, fix its cause, then recover into a fresh database again" +
        (report.database?.safetyBackupId
          ? ` (the destination was backed up first as ${report.database.safetyBackupId}).`
          : "."),
  };
}

function rtoText(report: RecoveryReport): string {
  const part = (value: number | null) => value === null ? "—" : `${value} s`;
  return `database ${part(report.rto.database)}, Storage ${part(report.rto.storage)}, total ${
    part(report.rto.total)
  }`;
}
