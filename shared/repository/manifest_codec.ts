/**
 * How a manifest is stored: JSON, sealed in the blob format (compressed, then encrypted with
 * the active key) when the repository has keys.
 *
 * Manifests name every bucket, object key, content type and user metadata of a snapshot, and
 * the schema of a database backup (tables, columns, functions, policies): as sensitive as the
 * data on a store run by someone else. Sealed, a manifest's bytes say nothing but its size and
 * key id, and a change to any byte fails authentication. The key keeps its `.json` name (what
 * the content is, once opened), so listings and retention need no second naming scheme, and a
 * plain JSON manifest (written without keys, or before they were set) still reads as before.
 *
 * @module
 */
import {
  decodeBlob,
  encodeBlob,
  type EncodeBlobOptions,
  isBlobFormat,
} from "../codec/blob_format.ts";
import type { Keyring } from "../codec/encryption.ts";
import { IntegrityError } from "../targets/target.ts";

/** The stored bytes of a manifest: JSON, sealed when `options.keyring` is set. */
export async function encodeManifest(
  value: unknown,
  options: EncodeBlobOptions,
): Promise<Uint8Array> {
  const json = new TextEncoder().encode(JSON.stringify(value) + "\n");
  return options.keyring ? await encodeBlob(json, options) : json;
}

/**
 * A manifest's value from its stored bytes, opened with `keyring` when sealed (in the blob
 * format); the codec's errors name it as a manifest.
 *
 * @throws {IntegrityError} when it is not valid JSON, or sealed and corrupt or tampered with
 * @throws {KeyError} when it is sealed with a key that is not configured
 */
export async function decodeManifest(
  stored: Uint8Array,
  options: { keyring?: Keyring; label: string },
): Promise<unknown> {
  const json = isBlobFormat(stored)
    ? await decodeBlob(stored, { keyring: options.keyring, label: options.label, noun: "Manifest" })
    : stored;
  try {
    return JSON.parse(new TextDecoder().decode(json));
  } catch {
    throw new IntegrityError(`Manifest ${options.label} is not valid JSON`);
  }
}
