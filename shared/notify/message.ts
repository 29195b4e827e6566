/**
 * What a notification says, whatever the channel: a severity, a title, a sentence or two of
 * details, the run concerned, a few labelled facts and what to do next.
 *
 * @module
 */
import { z } from "zod";

/** How bad the news is. `success` is good news (a backup done, an alert resolved). */
export type Severity = "info" | "success" | "warn" | "fail";

/** One labelled fact shown beside the details (Slack shows at most ten). */
export interface NotificationField {
  label: string;
  value: string;
}

/** A message for people, sent to every configured channel. */
export interface Notification {
  severity: Severity;
  /** A short headline, like "Database backups are 3 hours old". */
  title: string;
  /** What happened, in a sentence or two. */
  details: string;
  /** The `backup_runs` row this is about. */
  runId?: string;
  /** `resolved` when this says an alert is over; default `firing`. */
  status?: "firing" | "resolved";
  fields?: NotificationField[];
  /** What a person should do next. */
  nextStep?: string;
  /** The alert this notification belongs to (the check id), for the log. */
  alertKey?: string;
}

/** Longest title Slack accepts in a header block. */
export const MAX_TITLE = 150;
/** Longest details text (Slack's section limit). */
export const MAX_DETAILS = 3000;

/** The body `POST /functions/v1/notify` accepts. */
export const notifyRequestSchema = z.strictObject({
  severity: z.enum(["info", "success", "warn", "fail"]),
  title: z.string().trim().min(1, "must not be empty").max(MAX_TITLE),
  details: z.string().trim().min(1, "must not be empty").max(MAX_DETAILS),
  runId: z.uuid("must be a run id (a UUID)").optional(),
  nextStep: z.string().trim().min(1).max(500).optional(),
  fields: z.array(z.strictObject({
    label: z.string().trim().min(1).max(50),
    value: z.string().trim().min(1).max(500),
  })).max(8).optional(),
});

/** A validated notify request. */
export type NotifyRequest = z.infer<typeof notifyRequestSchema>;

/** Cuts text to `max` characters, marking the cut. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
