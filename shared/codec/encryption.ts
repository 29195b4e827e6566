/**
 * AES-256-GCM encryption through WebCrypto, and the keyring that holds the keys.
 *
 * A {@link Keyring} holds several keys, each with an id. The first is active: new blobs are
 * encrypted with it. Every key can decrypt, so keys rotate by putting a new key first and
 * keeping the old ones until nothing references blobs they encrypted.
 *
 * Blobs are sealed whole (one GCM operation, random 96-bit nonce, header as additional
 * authenticated data). Blobs are bounded by the chunker's maximum size (8 MiB by default), far
 * below GCM's per-message limit of 64 GiB, so no streaming mode is needed.
 *
 * @module
 */
import { IntegrityError } from "../util/errors.ts";

/** Bytes in an AES-256 key. */
export const KEY_BYTES = 32;
/** Bytes in a GCM nonce. */
export const NONCE_BYTES = 12;
/** Bytes in a GCM authentication tag. */
export const TAG_BYTES = 16;

const KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/** A configuration problem with encryption keys; the message never contains key material. */
export class KeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KeyError";
  }
}

/** One key of a {@link Keyring}. */
export interface KeyEntry {
  /** Short printable id written in every blob the key encrypts. */
  readonly id: string;
  /** The non-extractable AES-GCM key. */
  readonly key: CryptoKey;
}

/** Several AES-256-GCM keys by id; the first is the active one, used for writing. */
export class Keyring {
  readonly #entries: readonly KeyEntry[];
  readonly #byId: ReadonlyMap<string, KeyEntry>;

  /** Builds a keyring from imported keys; use {@link Keyring.parse} for configuration strings. */
  constructor(entries: readonly KeyEntry[]) {
    if (entries.length === 0) throw new KeyError("A keyring needs at least one key");
    const byId = new Map<string, KeyEntry>();
    for (const entry of entries) {
      if (!KEY_ID_PATTERN.test(entry.id)) {
        throw new KeyError(`Key id "${printable(entry.id)}" must be 1-64 of A-Z a-z 0-9 . _ -`);
      }
      if (byId.has(entry.id)) throw new KeyError(`Key id "${entry.id}" appears twice`);
      byId.set(entry.id, entry);
    }
    this.#entries = [...entries];
    this.#byId = byId;
  }

  /**
   * Parses `"id1:base64key,id2:base64key"` (standard or URL-safe base64 of 32 bytes each).
   * The first entry becomes the active key. Whitespace around entries is ignored.
   *
   * @throws {KeyError} naming the bad entry by position and id, never echoing key material
   */
  static async parse(text: string): Promise<Keyring> {
    const parts = text.split(",").map((part) => part.trim());
    const entries: KeyEntry[] = [];
    for (const [index, part] of parts.entries()) {
      const position = index + 1;
      const colon = part.indexOf(":");
      if (colon <= 0) {
        throw new KeyError(
          `Key entry ${position} is not of the form "id:base64key"`,
        );
      }
      const id = part.slice(0, colon).trim();
      if (!KEY_ID_PATTERN.test(id)) {
        throw new KeyError(
          `Key entry ${position} has an invalid id (use 1-64 of A-Z a-z 0-9 . _ -)`,
        );
      }
      const raw = decodeBase64(part.slice(colon + 1).trim());
      if (!raw || raw.length !== KEY_BYTES) {
        throw new KeyError(
          `Key entry ${position} ("${id}") is not a base64-encoded ${KEY_BYTES}-byte key`,
        );
      }
      entries.push({ id, key: await importKey(raw) });
      raw.fill(0);
    }
    return new Keyring(entries);
  }

  /** Generates a keyring with one fresh random key, returning it with its configuration string. */
  static async generate(id = "k1"): Promise<{ keyring: Keyring; text: string }> {
    const raw = crypto.getRandomValues(new Uint8Array(KEY_BYTES));
    const text = `${id}:${encodeBase64(raw)}`;
    const keyring = await Keyring.parse(text);
    raw.fill(0);
    return { keyring, text };
  }

  /** The key used for writing. */
  get active(): KeyEntry {
    return this.#entries[0];
  }

  /** Every key id, the active one first. */
  get ids(): string[] {
    return this.#entries.map((entry) => entry.id);
  }

  /** Whether a key with this id is configured. */
  has(id: string): boolean {
    return this.#byId.has(id);
  }

  /** The key with this id, or undefined. */
  get(id: string): KeyEntry | undefined {
    return this.#byId.get(id);
  }

  /** Never prints keys. */
  toJSON(): { ids: string[] } {
    return { ids: this.ids };
  }

  /** Never prints keys. */
  toString(): string {
    return `Keyring(${this.ids.join(", ")})`;
  }

  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }
}

/** A fresh random GCM nonce. */
export function randomNonce(): Uint8Array<ArrayBuffer> {
  return crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
}

/** Encrypts and authenticates `plain` (and authenticates `aad`); returns ciphertext + tag. */
export async function seal(
  plain: Uint8Array,
  options: { key: CryptoKey; nonce: Uint8Array; aad: Uint8Array },
): Promise<Uint8Array> {
  const sealed = await crypto.subtle.encrypt(
    {
      name: "AES-GCM",
      iv: asBuffer(options.nonce),
      additionalData: asBuffer(options.aad),
      tagLength: TAG_BYTES * 8,
    },
    options.key,
    asBuffer(plain),
  );
  return new Uint8Array(sealed);
}

/**
 * Decrypts ciphertext + tag sealed by {@link seal}.
 *
 * @throws {IntegrityError} when the tag does not verify (tampered, truncated, other key or AAD)
 */
export async function open(
  sealed: Uint8Array,
  options: { key: CryptoKey; nonce: Uint8Array; aad: Uint8Array; what?: string },
): Promise<Uint8Array> {
  if (sealed.length < TAG_BYTES) {
    throw new IntegrityError(`${options.what ?? "Encrypted data"} is too short to be authentic`);
  }
  try {
    const plain = await crypto.subtle.decrypt(
      {
        name: "AES-GCM",
        iv: asBuffer(options.nonce),
        additionalData: asBuffer(options.aad),
        tagLength: TAG_BYTES * 8,
      },
      options.key,
      asBuffer(sealed),
    );
    return new Uint8Array(plain);
  } catch {
    throw new IntegrityError(
      `${
        options.what ?? "Encrypted data"
      } failed authentication (tampered, truncated or wrong key)`,
    );
  }
}

function importKey(raw: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", raw, { name: "AES-GCM" }, false, [
    "encrypt",
    "decrypt",
  ]);
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> | undefined {
  const standard = text.replaceAll("-", "+").replaceAll("_", "/");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(standard)) return undefined;
  const padded = standard + "=".repeat((4 - (standard.length % 4)) % 4);
  try {
    const binary = atob(padded);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return undefined;
  }
}

function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function printable(text: string): string {
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}

/** WebCrypto wants an ArrayBuffer-backed view; copies only when given a shared or odd buffer. */
function asBuffer(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer
    ? bytes as Uint8Array<ArrayBuffer>
    : new Uint8Array(bytes) as Uint8Array<ArrayBuffer>;
}
