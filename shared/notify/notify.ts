/**
 * `notify()`: sends one notification to every configured channel (Slack incoming webhook,
 * generic JSON webhook) at once, with retries, records each channel's outcome, and never
 * throws — a channel that is down must not break a backup or a verification.
 *
 * @module
 */
import type postgres from "postgres";
import { type Config, config as processConfig } from "../config/mod.ts";
import { clip, MAX_DETAILS, MAX_TITLE, type Notification } from "./message.ts";
import { type ChannelRecord, recordDeliveries } from "./record.ts";
import { postJson, type RetryOptions } from "./retry.ts";
import { scrub, secretUrlParts } from "./scrub.ts";
import { slackPayload } from "./slack.ts";
import { webhookPayload } from "./webhook.ts";

/** The configuration notify reads: the channels, and every secret to keep out of messages. */
export type NotifyConfig = Partial<
  Pick<
    Config,
    | "slackWebhookUrl"
    | "alertWebhookUrl"
    | "cronSecret"
    | "serviceKeys"
    | "jwtSecret"
    | "encryptionKeys"
    | "s3"
    | "storageSource"
  >
>;

/** Options of {@link notify}. */
export interface NotifyOptions {
  /** Channels and secrets; default: the process configuration. */
  config?: NotifyConfig;
  /** Where to record outcomes (`notification_log`); without it outcomes are only logged. */
  sql?: postgres.Sql;
  /** Retry policy per channel (default: 5 attempts within 30 s). */
  retry?: RetryOptions;
  now?: Date;
}

/** What {@link notify} did. */
export interface NotifyResult {
  /** At least one channel accepted the message. */
  delivered: boolean;
  /** At least one channel is configured. */
  configured: boolean;
  channels: ChannelRecord[];
}

/** Every secret value in a configuration, to scrub from what is sent and recorded. */
export function secretsOf(settings: NotifyConfig): string[] {
  const keys = (settings.encryptionKeys ?? "").split(",").flatMap((entry) =>
    entry.split(":").slice(1)
  );
  return [
    // A webhook URL is a secret as a whole and in its parts: its path and query.
    ...secretUrlParts(settings.slackWebhookUrl),
    ...secretUrlParts(settings.alertWebhookUrl),
    settings.cronSecret,
    settings.jwtSecret,
    settings.s3?.secretAccessKey,
    settings.s3?.accessKeyId,
    settings.storageSource?.secretAccessKey,
    settings.storageSource?.accessKeyId,
    ...(settings.serviceKeys ?? []),
    ...keys,
  ].filter((value): value is string => typeof value === "string" && value.length >= 8);
}

/**
 * Sends a notification to Slack and/or the generic webhook, whichever are configured.
 *
 * Call it on failure from any engine code:
 * `await notify({ severity: "fail", title, details, runId }, { sql })`.
 * Text is scrubbed of secrets first. Resolves, never rejects.
 */
export async function notify(
  notification: Notification,
  options: NotifyOptions = {},
): Promise<NotifyResult> {
  let settings: NotifyConfig;
  try {
    settings = options.config ?? processConfig();
  } catch (error) {
    console.error(`Notification not sent: ${error instanceof Error ? error.message : error}`);
    return { delivered: false, configured: false, channels: [] };
  }
  const secrets = secretsOf(settings);
  const clean = sanitise(notification, secrets);
  const sends: Array<Promise<ChannelRecord>> = [];
  const deliver = async (
    channel: ChannelRecord["channel"],
    url: string,
    body: unknown,
  ): Promise<ChannelRecord> => {
    try {
      const outcome = await postJson(url, body, options.retry);
      return {
        channel,
        ok: outcome.ok,
        attempts: outcome.attempts,
        status: outcome.status,
        error: outcome.error ? scrub(outcome.error, secrets) : undefined,
      };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return { channel, ok: false, attempts: 0, error: scrub(message, secrets) };
    }
  };
  if (settings.slackWebhookUrl) {
    sends.push(
      deliver("slack", settings.slackWebhookUrl, slackPayload(clean, { now: options.now })),
    );
  }
  if (settings.alertWebhookUrl) {
    sends.push(
      deliver("webhook", settings.alertWebhookUrl, webhookPayload(clean, { now: options.now })),
    );
  }
  const channels = await Promise.all(sends);
  await recordDeliveries(options.sql, clean, channels);
  if (channels.length === 0) {
    console.warn(`Notification "${clean.title}" not sent: no channel is configured`);
  }
  return {
    delivered: channels.some((c) => c.ok),
    configured: channels.length > 0,
    channels,
  };
}

function sanitise(notification: Notification, secrets: string[]): Notification {
  const s = (text: string) => scrub(text, secrets);
  return {
    ...notification,
    title: clip(s(notification.title), MAX_TITLE),
    details: clip(s(notification.details), MAX_DETAILS),
    nextStep: notification.nextStep ? s(notification.nextStep) : undefined,
    fields: notification.fields?.map((f) => ({ label: s(f.label), value: s(f.value) })),
  };
}
