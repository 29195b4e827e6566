/**
 * A notification as a generic JSON webhook body, for whatever listens (PagerDuty via a
 * relay, an incident tool, a script): stable field names, versioned.
 *
 * @module
 */
import type { Notification } from "./message.ts";

/** The JSON the generic webhook receives. */
export interface WebhookPayload {
  version: 1;
  source: "sauvegarde";
  status: "firing" | "resolved";
  severity: Notification["severity"];
  title: string;
  details: string;
  runId: string | null;
  alertKey: string | null;
  nextStep: string | null;
  fields: Record<string, string>;
  sentAt: string;
}

/** Builds the webhook body for a notification. */
export function webhookPayload(
  notification: Notification,
  options: { now?: Date } = {},
): WebhookPayload {
  return {
    version: 1,
    source: "sauvegarde",
    status: notification.status ?? "firing",
    severity: notification.severity,
    title: notification.title,
    details: notification.details,
    runId: notification.runId ?? null,
    alertKey: notification.alertKey ?? null,
    nextStep: notification.nextStep ?? null,
    fields: Object.fromEntries((notification.fields ?? []).map((f) => [f.label, f.value])),
    sentAt: (options.now ?? new Date()).toISOString(),
  };
}
