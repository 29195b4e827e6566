/**
 * A notification as a Slack incoming-webhook message in Block Kit: a header with the title,
 * the details, labelled fields (severity, status, run, …), what to do next, and a plain-text
 * fallback for phone notifications.
 *
 * @module
 */
import { clip, MAX_DETAILS, MAX_TITLE, type Notification, type Severity } from "./message.ts";

/** A Slack Block Kit block (the subset we send). */
export type SlackBlock = Record<string, unknown>;

/** The body of an incoming-webhook POST. */
export interface SlackPayload {
  text: string;
  blocks: SlackBlock[];
}

const LOOK: Record<Severity | "resolved", { emoji: string; label: string }> = {
  fail: { emoji: ":red_circle:", label: "Failing" },
  warn: { emoji: ":warning:", label: "Warning" },
  info: { emoji: ":information_source:", label: "Info" },
  success: { emoji: ":white_check_mark:", label: "Success" },
  resolved: { emoji: ":white_check_mark:", label: "Resolved" },
};

/** Escapes the three characters Slack's mrkdwn treats as control characters. */
export function escapeMrkdwn(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** Builds the Block Kit message for a notification. */
export function slackPayload(
  notification: Notification,
  options: { now?: Date } = {},
): SlackPayload {
  const resolved = notification.status === "resolved";
  const look = LOOK[resolved ? "resolved" : notification.severity];
  const title = clip(notification.title, MAX_TITLE - look.emoji.length - 1);
  const fields: Array<[string, string]> = [
    ["Severity", notification.severity === "fail" ? "Fail" : capitalise(notification.severity)],
    ["Status", resolved ? "Resolved" : look.label],
  ];
  if (notification.runId) fields.push(["Run", `\`${notification.runId}\``]);
  for (const field of notification.fields ?? []) {
    fields.push([field.label, escapeMrkdwn(field.value)]);
  }
  const blocks: SlackBlock[] = [
    { type: "header", text: { type: "plain_text", text: `${look.emoji} ${title}`, emoji: true } },
    {
      type: "section",
      text: { type: "mrkdwn", text: clip(escapeMrkdwn(notification.details), MAX_DETAILS) },
    },
    {
      type: "section",
      fields: fields.slice(0, 10).map(([label, value]) => ({
        type: "mrkdwn",
        text: clip(`*${escapeMrkdwn(label)}*\n${value}`, 2000),
      })),
    },
  ];
  if (notification.nextStep) {
    blocks.push({
      type: "section",
      text: {
        type: "mrkdwn",
        text: clip(`*What to do next*\n${escapeMrkdwn(notification.nextStep)}`, MAX_DETAILS),
      },
    });
  }
  const at = (options.now ?? new Date()).toISOString().replace(/\.\d+Z$/, "Z");
  blocks.push({
    type: "context",
    elements: [{
      type: "mrkdwn",
      text: `Sauvegarde${
        notification.alertKey ? ` · check \`${notification.alertKey}\`` : ""
      } · ${at}`,
    }],
  });
  return { text: clip(`${look.emoji} ${notification.title}`, 300), blocks };
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
