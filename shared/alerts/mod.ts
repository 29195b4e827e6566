/**
 * Alerts: one per verification check (the dedupe key), opened, repeated, escalated and
 * resolved as Alertmanager does, with their state in `alert_state`.
 *
 * @module
 */
export * from "./state.ts";
export * from "./message.ts";
export * from "./store.ts";
export * from "./evaluate.ts";
