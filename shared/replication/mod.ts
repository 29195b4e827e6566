/**
 * Replication (3-2-1): backups copied as stored, verified, manifest last, to other targets.
 *
 * @module
 */
export * from "./destination_index.ts";
export * from "./copy_backup.ts";
export * from "./replicate.ts";
