/**
 * How a manifest is stored: JSON, sealed in the blob format (compressed, then encrypted with
 * the active key, and bound to its kind and id) when the repository has keys.
 *
 * Manifests name every bucket, object key, content type and user metadata of a snapshot, and
 * the schema of a database backup (tables, columns, functions, policies): as sensitive as the
 * data on a store run by someone else. Sealed, a manifest's bytes say nothing but its size and
 * key id, and a change to any byte fails authentication. The seal binds `<kind>/<id>` into
 * the AEAD's additional data, so a sealed manifest copied under another id or kind fails too:
 * an opened manifest is the one a key holder wrote under that name. The key keeps its `.json`
 * name (what the content is, once opened), so listings and retention need no second naming
 * scheme.
 *
 * Trust: with keys configured, a plain JSON manifest (anyone who can write to the target can
 * write one) and a sealed manifest without the binding (sealed before manifests were bound)
 * are refused, unless the reader opts in to reading what predates its keys; even then they are
 * opened as unauthenticated. Without keys, every manifest is unauthenticated.
 *
 * @module
 */
import {
  decodeBlob,
  encodeBlob,
  type EncodeBlobOptions,
  isBlobFormat,
  readBlobHeader,
} from "../codec/blob_format.ts";
import type { Keyring } from "../codec/encryption.ts";
import { IntegrityError } from "../util/errors.ts";

/** A manifest's value, and whether a key holder provably wrote it under its name. */
export interface OpenedManifest {
  value: unknown;
  /** Sealed with a configured key and bound to the kind and id it was read under. */
  authenticated: boolean;
}

/** Options for {@link decodeManifest}. */
export interface DecodeManifestOptions {
  keyring?: Keyring;
  kind: string;
  id: string;
  /**
   * With keys configured, also open plain manifests and sealed ones without the binding, as
   * unauthenticated (the documented opt-in for repositories older than their keys).
   */
  acceptUnauthenticated?: boolean;
}

/** The context a manifest's seal is bound to. */
export function manifestContext(kind: string, id: string): Uint8Array {
  return new TextEncoder().encode(`sauvegarde manifest ${kind}/${id}`);
}

/** The stored bytes of a manifest: JSON, sealed and bound when `options.keyring` is set. */
export async function encodeManifest(
  value: unknown,
  options: EncodeBlobOptions & { kind: string; id: string },
): Promise<Uint8Array> {
  const json = new TextEncoder().encode(JSON.stringify(value) + "\n");
  if (!options.keyring) return json;
  const { kind, id, ...encode } = options;
  return await encodeBlob(json, { ...encode, context: manifestContext(kind, id) });
}

/**
 * A manifest's value from its stored bytes, opened with `keyring` when sealed (in the blob
 * format), and whether it is authenticated; the codec's errors name it as a manifest.
 *
 * @throws {IntegrityError} when it is not valid JSON; sealed and corrupt, tampered with or
 *   bound to another name; or, with keys configured, not provably written by a key holder
 *   (unless `acceptUnauthenticated`)
 * @throws {KeyError} when it is sealed with a key that is not configured
 */
export async function decodeManifest(
  stored: Uint8Array,
  options: DecodeManifestOptions,
): Promise<OpenedManifest> {
  const label = `${options.kind}/${options.id}`;
  const refuse = (what: string) =>
    new IntegrityError(
      `Manifest ${label} is ${what}, but encryption keys are configured: anyone who can write ` +
        `to the target could have written it (set SAUVEGARDE_ACCEPT_UNAUTHENTICATED=true to read ` +
        `manifests stored before keys were set)`,
    );
  let json: Uint8Array;
  let authenticated = false;
  if (isBlobFormat(stored)) {
    const header = readBlobHeader(stored, { label, noun: "Manifest" });
    if (options.keyring && !header.bound && !options.acceptUnauthenticated) {
      throw refuse(header.keyId ? "sealed without being bound to its name" : "not sealed");
    }
    json = await decodeBlob(stored, {
      keyring: options.keyring,
      label,
      noun: "Manifest",
      context: header.bound ? manifestContext(options.kind, options.id) : undefined,
      acceptPlaintext: options.acceptUnauthenticated,
    });
    authenticated = header.bound;
  } else {
    if (options.keyring && !options.acceptUnauthenticated) throw refuse("plain JSON, not sealed");
    json = stored;
  }
  try {
    return { value: JSON.parse(new TextDecoder().decode(json)), authenticated };
  } catch {
    throw new IntegrityError(`Manifest ${label} is not valid JSON`);
  }
}
