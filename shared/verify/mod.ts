/**
 * Verification: objective-aware freshness, integrity proof, 3-2-1 replication and the health
 * of runs and schedules, each check one module, with alerts on what goes wrong.
 *
 * @module
 */
export * from "./types.ts";
export * from "./verify.ts";
export * from "./targets.ts";
export * from "./objectives.ts";
export * from "./cron_interval.ts";
export * from "./manifest_facts.ts";
export * from "./sample.ts";
export { CHECKS } from "./checks/mod.ts";
