/**
 * Codecs for stored data: compression, AES-256-GCM encryption with a keyring, and the
 * self-describing blob format that combines them.
 *
 * @module
 */
export * from "./compression.ts";
export * from "./encryption.ts";
export * from "./blob_format.ts";
