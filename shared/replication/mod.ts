/**
 * Replication (3-2-1): backups copied as stored, verified, manifest last, to named targets;
 * and the configuration and code backups that travel with them.
 *
 * @module
 */
export * from "./named_targets.ts";
export * from "./destination_index.ts";
export * from "./copy_backup.ts";
export * from "./replicate.ts";
export * from "./step.ts";
export * from "./config_backup.ts";
export * from "./code_backup.ts";
