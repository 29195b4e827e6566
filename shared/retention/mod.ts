/**
 * Retention and pruning: grandfather-father-son policies per backup kind, refused while backups
 * fail, and mark-and-sweep of unreferenced blobs with a grace period and a lock.
 *
 * @module
 */
export * from "../config/retention_policy.ts";
export * from "./gfs.ts";
export * from "./health.ts";
export * from "./holdings.ts";
export * from "./plan.ts";
export * from "./prune.ts";
export * from "../jobs/run_now.ts";
