/**
 * Turns a verification's check results into alert messages: decides every alert under one
 * lock (so two verifications running at once never send the same message twice), stores
 * the new state, sends what is due, and undoes the claim of any message no channel took, so
 * the next verification sends it again.
 *
 * @module
 */
import type postgres from "postgres";
import type { NotifyResult } from "../notify/notify.ts";
import type { Notification } from "../notify/message.ts";
import { alertNotification } from "./message.ts";
import { type AlertState, decide, type Observation, type SendReason } from "./state.ts";
import { loadAlerts, releaseSend, saveAlert } from "./store.ts";

/** Options of {@link evaluateAlerts}. */
export interface EvaluateOptions {
  sql: postgres.Sql;
  /** Sends one message (normally `notify` bound to the configuration). */
  send: (notification: Notification) => Promise<NotifyResult>;
  /** Minimum time between two messages about an alert still failing. */
  repeatMs: number;
  /** The verify run these observations come from. */
  runId?: string;
  now?: Date;
  /**
   * The observations cover every check: an open alert whose check is absent is resolved
   * (the check was removed from the configuration). Default true.
   */
  complete?: boolean;
}

/** One message that was due. */
export interface AlertSend {
  key: string;
  reason: SendReason;
  severity: "warn" | "fail";
  delivered: boolean;
}

const LOCK_KEY = 7_315_020_611; // any constant: serialises alert evaluation

/** Applies observations to the alert state and sends the messages due. Never throws on send. */
export async function evaluateAlerts(
  observations: Observation[],
  options: EvaluateOptions,
): Promise<AlertSend[]> {
  const now = options.now ?? new Date();
  const due: Array<{ claimed: AlertState; previous?: AlertState; reason: SendReason }> = [];
  await options.sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${LOCK_KEY})`;
    const states = await loadAlerts(tx, { lock: true });
    const seen = new Map(observations.map((o) => [o.key, o]));
    const keys = new Set([...seen.keys()]);
    if (options.complete ?? true) { for (const key of states.keys()) keys.add(key); }
    for (const key of keys) {
      const previous = states.get(key);
      const decision = decide(previous, seen.get(key), {
        now,
        repeatMs: options.repeatMs,
        runId: options.runId,
      });
      if (decision.next) await saveAlert(tx, decision.next);
      if (decision.send && decision.next) {
        due.push({ claimed: decision.next, previous, reason: decision.send });
      }
    }
  });
  const sends: AlertSend[] = [];
  for (const { claimed, previous, reason } of due) {
    let delivered = false;
    try {
      const result = await options.send(alertNotification(claimed, reason, { now }));
      delivered = result.delivered;
    } catch (error) {
      console.error(
        `Alert ${claimed.key} not sent: ${error instanceof Error ? error.message : error}`,
      );
    }
    if (!delivered) {
      await releaseSend(options.sql, claimed, previous).catch((error) =>
        console.error(`Could not release alert ${claimed.key}: ${error?.message ?? error}`)
      );
    }
    sends.push({ key: claimed.key, reason, severity: claimed.severity, delivered });
  }
  return sends;
}
