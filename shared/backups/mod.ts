/**
 * Backups of what lives beside the database and Storage: the project's configuration (env
 * files, encrypted only) and its code (a git bundle), stored in the same repositories.
 *
 * @module
 */
export * from "./config_backup.ts";
export * from "./code_backup.ts";
