/**
 * SHA-256 helpers for the repository.
 *
 * Whole buffers (blob ids, stored bytes) go through WebCrypto, whose digests run off the main
 * JavaScript thread in Deno and in parallel on several cores (see `bench/codec_bench.ts`);
 * streams go through `node:crypto`'s incremental hash, as WebCrypto's digest is not incremental.
 *
 * @module
 */
import { createHash, type Hash } from "node:crypto";

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** The SHA-256 of a buffer, lowercase hex. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const view = bytes.buffer instanceof ArrayBuffer
    ? bytes as Uint8Array<ArrayBuffer>
    : new Uint8Array(bytes) as Uint8Array<ArrayBuffer>;
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", view)));
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

function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += HEX[byte];
  return out;
}
