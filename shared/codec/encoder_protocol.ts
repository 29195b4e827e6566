/**
 * What the encoder pool (`encoder.ts`) and its workers (`encoder_worker.ts`) say to each other,
 * and the helpers both sides use.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { decodeBlob, type EncodeBlobOptions } from "./blob_format.ts";
import { KeyError, Keyring } from "./encryption.ts";
import { IntegrityError } from "../util/errors.ts";

/** Messages to an encoder worker. */
export type EncoderRequest =
  | {
    type: "hash";
    job: number;
    plain: Uint8Array;
    stream?: number;
    /** Send the plaintext's buffer back (`returned`) once it is encoded or dropped. */
    recycle?: boolean;
  }
  | {
    type: "encode";
    job: number;
    compression: EncodeBlobOptions["compression"];
    level?: number;
    key?: { id: string; key: CryptoKey };
  }
  | { type: "drop"; job: number }
  | { type: "digest"; job: number; stream: number }
  | { type: "forget"; job: number; stream: number }
  | { type: "decode"; job: number; stored: Uint8Array; id: string; keys: KeyClone[] };

/** Messages from an encoder worker. */
export type EncoderReply =
  | { type: "hashed"; job: number; id: string }
  | { type: "encoded"; job: number; stored: Uint8Array }
  | { type: "decoded"; job: number; plain: Uint8Array }
  | { type: "digested"; job: number; sha256: string }
  | { type: "failed"; job: number; message: string; kind: FailureKind }
  /** A plaintext's buffer, given back for reuse (see `BeginOptions.recycle`). */
  | { type: "returned"; job: number; buffer: ArrayBuffer };

/** A key entry as it crosses to a worker (CryptoKeys are cloned, never exported). */
export interface KeyClone {
  id: string;
  key: CryptoKey;
}

/** Which error a worker's failure stands for, so the caller can throw the same class. */
export type FailureKind = "integrity" | "key" | "other";

/**
 * The bytes in an ArrayBuffer of their own, so moving that buffer to another thread moves
 * nothing else: `bytes` itself when it already spans its whole buffer, else a copy.
 */
export function ownBuffer(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength &&
      bytes.buffer instanceof ArrayBuffer
    ? bytes as Uint8Array<ArrayBuffer>
    : bytes.slice();
}

/** The SHA-256 of a buffer, lowercase hex (synchronous, native). */
export function sha256HexSync(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Rebuilds a keyring in a worker from cloned key entries (none: no keyring). */
export function keyringOf(keys: KeyClone | KeyClone[] | undefined): Keyring | undefined {
  const list = keys === undefined ? [] : Array.isArray(keys) ? keys : [keys];
  return list.length ? new Keyring(list) : undefined;
}

/** The keyring's entries, to clone into a worker. */
export function keyClones(keyring: Keyring | undefined): KeyClone[] {
  return keyring ? keyring.ids.map((id) => keyring.get(id)!) : [];
}

/**
 * Decodes a stored blob and checks its plaintext hashes to `id`.
 *
 * @throws {IntegrityError} when it is corrupt or does not match its id
 * @throws {KeyError} when its key is not configured
 */
export async function decodeVerified(
  stored: Uint8Array,
  id: string,
  keyring: Keyring | undefined,
): Promise<Uint8Array> {
  const plain = await decodeBlob(stored, { keyring, label: id });
  const actual = sha256HexSync(plain);
  if (actual !== id) {
    throw new IntegrityError(`Blob ${id} does not match its id (content hashes to ${actual})`);
  }
  return plain;
}

/** The kind of an error, for crossing a thread boundary. */
export function failureKind(error: unknown): FailureKind {
  return error instanceof IntegrityError
    ? "integrity"
    : error instanceof KeyError
    ? "key"
    : "other";
}

/** The error a failure reply stands for, of the same class as the original. */
export function errorOf(message: string, kind: FailureKind): Error {
  return kind === "integrity"
    ? new IntegrityError(message)
    : kind === "key"
    ? new KeyError(message)
    : new Error(message);
}
