/**
 * Budgeted, resumable execution of runs.
 *
 * @module
 */
export * from "./budget.ts";
export * from "./executor.ts";
export * from "./step_context.ts";
export * from "./run_now.ts";
export * from "./inline_run.ts";
