/**
 * Status: what the dashboard reads — where each kind of backup stands against its objective,
 * on every target, restore tests and the measured RTO, runs in progress, open alerts,
 * schedules and their next runs, the last verification, and the runs, paged.
 *
 * @module
 */
export * from "./status.ts";
export * from "./request.ts";
export * from "./runs_page.ts";
export * from "./run_summary.ts";
export * from "./kind_status.ts";
export * from "./schedules.ts";
export * from "./verification.ts";
export * from "./cron_next.ts";
