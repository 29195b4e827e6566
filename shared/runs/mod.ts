/**
 * Runs: the `backup_runs` record every kind of work goes through.
 *
 * @module
 */
export * from "./run_store.ts";
export * from "./heartbeat.ts";
export * from "./run_class.ts";
