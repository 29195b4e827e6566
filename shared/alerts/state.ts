/**
 * The alert state machine, as Alertmanager deduplicates: one alert per check id; a check
 * that goes wrong opens it and people are told once; while it stays wrong they are told
 * again only after the repeat interval (or at once when it worsens from warn to fail); when
 * it recovers they are told it is resolved. Pure: no I/O, the clock is a parameter.
 *
 * @module
 */

/** A check's verdict, as verification reports it. */
export interface Observation {
  /** The check id: the dedupe key. */
  key: string;
  /** A short human name, like "Database freshness". */
  name: string;
  status: "ok" | "warn" | "fail";
  /** One sentence a person understands. */
  summary: string;
  nextStep?: string;
}

/** One row of `alert_state`. */
export interface AlertState {
  key: string;
  status: "firing" | "resolved";
  severity: "warn" | "fail";
  title: string;
  summary: string;
  nextStep: string | null;
  openedAt: Date;
  lastSeenAt: Date;
  resolvedAt: Date | null;
  notifiedStatus: "firing" | "resolved" | null;
  notifiedSeverity: "warn" | "fail" | null;
  lastSentAt: Date | null;
  sends: number;
  runId: string | null;
}

/** Why a message goes out. */
export type SendReason = "open" | "repeat" | "escalate" | "resolved";

/** What to do with one alert. */
export interface Decision {
  /** The row to store; undefined when nothing changes. */
  next?: AlertState;
  /** Send a message, and store `next` as if it was delivered (undone if it was not). */
  send?: SendReason;
}

/** Options of {@link decide}. */
export interface DecideOptions {
  now: Date;
  /** Minimum time between two messages about the same alert still failing. */
  repeatMs: number;
  runId?: string;
}

/**
 * Decides one alert's next state. `observation` undefined means the check no longer runs
 * (it is resolved as such).
 */
export function decide(
  previous: AlertState | undefined,
  observation: Observation | undefined,
  options: DecideOptions,
): Decision {
  const { now } = options;
  const wrong = observation && observation.status !== "ok";
  const firing = previous?.status === "firing";
  if (wrong) {
    const severity = observation.status as "warn" | "fail";
    if (!firing) {
      const next: AlertState = {
        key: observation.key,
        status: "firing",
        severity,
        title: observation.name,
        summary: observation.summary,
        nextStep: observation.nextStep ?? null,
        openedAt: now,
        lastSeenAt: now,
        resolvedAt: null,
        notifiedStatus: "firing",
        notifiedSeverity: severity,
        lastSentAt: now,
        sends: 1,
        runId: options.runId ?? null,
      };
      return { next, send: "open" };
    }
    const base: AlertState = {
      ...previous!,
      severity,
      title: observation.name,
      summary: observation.summary,
      nextStep: observation.nextStep ?? null,
      lastSeenAt: now,
      runId: options.runId ?? previous!.runId,
    };
    let send: SendReason | undefined;
    if (previous!.notifiedStatus !== "firing") send = "open";
    else if (severity === "fail" && previous!.notifiedSeverity === "warn") send = "escalate";
    else if (
      !previous!.lastSentAt || now.getTime() - previous!.lastSentAt.getTime() >= options.repeatMs
    ) send = "repeat";
    if (!send) return { next: base };
    return {
      next: {
        ...base,
        notifiedStatus: "firing",
        notifiedSeverity: severity,
        lastSentAt: now,
        sends: base.sends + 1,
      },
      send,
    };
  }
  if (!previous) return {};
  if (firing) {
    const next: AlertState = {
      ...previous,
      status: "resolved",
      summary: observation?.summary ?? "This check no longer runs",
      lastSeenAt: now,
      resolvedAt: now,
      runId: options.runId ?? previous.runId,
    };
    if (previous.notifiedStatus !== "firing") return { next }; // nobody was told it opened
    return { next: { ...next, notifiedStatus: "resolved", lastSentAt: now }, send: "resolved" };
  }
  if (previous.notifiedStatus === "firing") {
    // Resolved earlier, but the message saying so was not delivered: try again.
    return {
      next: { ...previous, notifiedStatus: "resolved", lastSentAt: now },
      send: "resolved",
    };
  }
  return {};
}
