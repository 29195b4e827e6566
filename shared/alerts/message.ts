/**
 * What an alert says: opened, still failing, worse, or resolved — with the check, since
 * when, the verification run and what to do next.
 *
 * @module
 */
import type { Notification } from "../notify/message.ts";
import { formatDuration } from "../notify/run_outcome.ts";
import type { AlertState, SendReason } from "./state.ts";

/** Builds the notification for an alert that is due to be sent. */
export function alertNotification(
  alert: AlertState,
  reason: SendReason,
  options: { now: Date },
): Notification {
  const since = formatDuration(options.now.getTime() - alert.openedAt.getTime());
  const fields = [
    { label: "Check", value: alert.key },
    { label: "Opened", value: alert.openedAt.toISOString().replace(/\.\d+Z$/, "Z") },
  ];
  if (reason === "resolved") {
    return {
      severity: alert.severity,
      status: "resolved",
      title: `${alert.title}: resolved`,
      details: `${alert.summary} (it had been ${
        alert.severity === "fail" ? "failing" : "warning"
      } for ${since})`,
      runId: alert.runId ?? undefined,
      alertKey: alert.key,
      fields,
    };
  }
  const state = alert.severity === "fail" ? "failing" : "warning";
  const title = reason === "open"
    ? `${alert.title}: ${state}`
    : reason === "escalate"
    ? `${alert.title}: now failing`
    : `${alert.title}: still ${state} after ${since}`;
  return {
    severity: alert.severity,
    status: "firing",
    title,
    details: alert.summary,
    runId: alert.runId ?? undefined,
    alertKey: alert.key,
    fields: [...fields, { label: "Messages", value: String(alert.sends) }],
    nextStep: alert.nextStep ?? undefined,
  };
}
