/**
 * The content-addressed repository shared by database backups and Storage snapshots, with
 * its chunkers and locks.
 *
 * @module
 */
export * from "./repository.ts";
export * from "./chunker.ts";
export * from "./locks.ts";
export * from "./digest.ts";
export * from "./authenticity.ts";
