/**
 * Budgeted, resumable execution of runs.
 *
 * @module
 */
export * from "./budget.ts";
export * from "./executor.ts";
