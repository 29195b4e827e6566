/**
 * Notifications: Slack (Block Kit) and a generic JSON webhook, with retries that honour
 * Retry-After, secrets scrubbed, and every outcome recorded in `notification_log`.
 *
 * @module
 */
export * from "./message.ts";
export * from "./notify.ts";
export * from "./retry.ts";
export * from "./scrub.ts";
export * from "./slack.ts";
export * from "./webhook.ts";
export * from "./record.ts";
export * from "./run_outcome.ts";
