/**
 * SHA-256 helpers for the repository, over `node:crypto` (native; in Deno 2.9 faster than
 * WebCrypto's digest, which also ran on the calling thread when profiled).
 *
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import { sha256HexSync } from "../codec/encoder_protocol.ts";

/** The SHA-256 of a buffer, lowercase hex. */
export function sha256Hex(bytes: Uint8Array): Promise<string> {
  return Promise.resolve(sha256HexSync(bytes));
}

/** An incremental SHA-256 for data that arrives in pieces. */
export class StreamHash {
  readonly #hash: Hash = createHash("sha256");

  /** Adds a piece. */
  update(bytes: Uint8Array): void {
    this.#hash.update(bytes);
  }

  /** The lowercase hex digest; the hash cannot be updated afterwards. */
  hex(): string {
    return this.#hash.digest("hex");
  }
}

/** Whether a string is a lowercase hex SHA-256 (a blob id). */
export function isSha256Hex(text: string): boolean {
  return text.length === 64 && /^[0-9a-f]{64}$/.test(text);
}
