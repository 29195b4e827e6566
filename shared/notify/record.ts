/**
 * Records every delivery attempt in `notification_log`, so a channel that fails is visible
 * from the dashboard. Recording is best effort: it never throws.
 *
 * @module
 */
import type postgres from "postgres";
import type { Notification } from "./message.ts";

/** One channel's outcome, as recorded. */
export interface ChannelRecord {
  channel: "slack" | "webhook";
  ok: boolean;
  attempts: number;
  status?: number;
  /** Already scrubbed of secrets. */
  error?: string;
}

/** Inserts one row per channel outcome; logs (without secrets) and carries on if it cannot. */
export async function recordDeliveries(
  sql: postgres.Sql | undefined,
  notification: Notification,
  outcomes: ChannelRecord[],
): Promise<void> {
  for (const outcome of outcomes) {
    if (!outcome.ok) {
      console.error(
        `Notification "${notification.title}" failed on ${outcome.channel} after ${outcome.attempts} attempt(s): ${outcome.error}`,
      );
    }
  }
  if (!sql || outcomes.length === 0) return;
  const runId = notification.runId && /^[0-9a-f-]{36}$/i.test(notification.runId)
    ? notification.runId
    : null;
  try {
    const rows = outcomes.map((o) => ({
      channel: o.channel,
      outcome: o.ok ? "sent" : "failed",
      attempts: o.attempts,
      http_status: o.status ?? null,
      error: o.error ?? null,
      severity: notification.status === "resolved" ? "resolved" : notification.severity,
      title: notification.title,
      alert_key: notification.alertKey ?? null,
      run_id: runId,
    }));
    await sql`insert into public.notification_log ${
      sql(rows, [
        "channel",
        "outcome",
        "attempts",
        "http_status",
        "error",
        "severity",
        "title",
        "alert_key",
        "run_id",
      ])
    }`;
  } catch (error) {
    console.error(
      `Could not record notification outcome: ${error instanceof Error ? error.message : error}`,
    );
  }
}
