/**
 * The self-describing format of every stored blob.
 *
 * ```
 * offset  size  field
 * 0       4     magic "SVG1"
 * 4       1     format version (1)
 * 5       1     compression id (0 none, 1 gzip, 2 zstd)
 * 6       1     flags (bit 0: encrypted; bit 1: bound to a context; other bits must be 0)
 * 7       1     key id length n (0 when not encrypted)
 * 8       n     key id, ASCII
 * 8+n     12    GCM nonce (only when encrypted)
 * …       8     plaintext size, big-endian
 * …       8     payload size, big-endian
 * …             payload: compressed bytes, or AES-256-GCM(compressed bytes) + 16-byte tag
 * ```
 *
 * When encrypted, the whole header is the GCM additional data, so the version, codec, key id
 * and sizes cannot be altered without failing authentication; a flipped or missing byte
 * anywhere fails it too. A blob bound to a context (a sealed manifest binds its kind and id)
 * has that context appended to the additional data: opened under any other context, it fails
 * authentication, so a sealed manifest cannot be renamed or swapped under another id. Data
 * blobs are not bound: their name is the SHA-256 of their plaintext, checked on every read. Without encryption, the payload size catches truncation, zstd's frame
 * checksum and gzip's CRC catch most corruption, and the repository checks the SHA-256 of the
 * plaintext against the blob's id in every case.
 *
 * @module
 */
import { IntegrityError } from "../util/errors.ts";
import { releaseBuffer } from "../util/release_buffer.ts";
import {
  compress,
  compressionId,
  type CompressionName,
  compressionName,
  decompress,
} from "./compression.ts";
import { KeyError, Keyring, NONCE_BYTES, open, randomNonce, seal } from "./encryption.ts";

/** The four bytes every blob starts with. */
export const BLOB_MAGIC = "SVG1";
/** The format version written by {@link encodeBlob}. */
export const BLOB_FORMAT_VERSION = 1;

const MAGIC_BYTES = new TextEncoder().encode(BLOB_MAGIC);
const FLAG_ENCRYPTED = 1;
const FLAG_BOUND = 2;
const FIXED_BYTES = 8;
const SIZES_BYTES = 16;

/** What a blob's header says about it. */
export interface BlobHeader {
  version: number;
  compression: CompressionName;
  /** Id of the key that encrypted the blob, or undefined when it is not encrypted. */
  keyId?: string;
  /** Whether the blob is bound to a context (see the module's notes). */
  bound: boolean;
  nonce?: Uint8Array;
  /** Size of the plaintext in bytes. */
  plainSize: number;
  /** Size of the payload that follows the header. */
  payloadSize: number;
  /** Size of the header itself. */
  headerSize: number;
}

/** Options for {@link encodeBlob}. */
export interface EncodeBlobOptions {
  compression: CompressionName;
  /** Compression level (codec default when omitted). */
  level?: number;
  /** When set, the blob is encrypted with the keyring's active key. */
  keyring?: Keyring;
  /**
   * Binds the sealed blob to this context (authenticated, not stored): it opens only when the
   * reader names the same context. Needs `keyring`.
   */
  context?: Uint8Array;
}

/** Options for {@link decodeBlob}. */
export interface DecodeBlobOptions {
  /** Keys that may have encrypted the blob. */
  keyring?: Keyring;
  /** How to name the blob in errors, usually its id. */
  label?: string;
  /** What the bytes are called in errors, before the label (default "Blob"). */
  noun?: string;
  /** Largest plaintext accepted, against decompression bombs (default 2 GiB). */
  maxSize?: number;
  /** The context a bound blob was sealed for; a bound blob opens only under it. */
  context?: Uint8Array;
  /**
   * With `keyring` set, an unencrypted blob is refused (anyone can write one) unless this is
   * true: the explicit opt-in for reading what was stored before keys were set.
   */
  acceptPlaintext?: boolean;
}

/** The default for {@link DecodeBlobOptions.maxSize}. */
export const DEFAULT_MAX_BLOB_SIZE = 2 ** 31;

/**
 * Encodes plaintext into a stored blob: compressed (kept uncompressed when that is not
 * smaller), then encrypted with the keyring's active key when one is given.
 */
export async function encodeBlob(
  plain: Uint8Array,
  options: EncodeBlobOptions,
): Promise<Uint8Array> {
  let compression = options.compression;
  let payload = await compress(plain, compression, { level: options.level });
  if (compression !== "none" && payload.length >= plain.length) {
    compression = "none";
    payload = plain;
  }
  const key = options.keyring?.active;
  if (options.context && !key) throw new KeyError("Only an encrypted blob can be bound");
  const nonce = key ? randomNonce() : undefined;
  const payloadSize = key ? payload.length + 16 : payload.length;
  const header = writeHeader({
    compression,
    keyId: key?.id,
    bound: options.context !== undefined,
    nonce,
    plainSize: plain.length,
    payloadSize,
  });
  if (key && nonce) {
    const compressed = payload;
    payload = await seal(payload, {
      key: key.key,
      nonce,
      aad: additionalData(header, options.context),
    });
    // Ours alone (never the caller's plaintext): freed now, not at V8's next full collection.
    if (compressed !== plain) releaseBuffer(compressed);
  }
  const out = new Uint8Array(header.length + payload.length);
  out.set(header, 0);
  out.set(payload, header.length);
  // The sealed copy is ours too, and now in `out`; dead encryption output was a third of an
  // Edge step's peak array-buffer memory with keys configured (bench/README.md).
  if (key) releaseBuffer(payload);
  return out;
}

/** Bytes of the header of a blob stored neither compressed nor encrypted. */
export const PLAIN_HEADER_BYTES = FIXED_BYTES + SIZES_BYTES;

/**
 * Frames `plain` as a blob stored uncompressed and unencrypted without copying it: the header
 * is written into the {@link PLAIN_HEADER_BYTES} bytes just before `plain` in its buffer (the
 * caller gives them up), and the answer is a view over header and plaintext. The bytes are
 * exactly those {@link encodeBlob} writes with compression "none" and no key.
 */
export function framePlainInPlace(plain: Uint8Array): Uint8Array {
  if (plain.byteOffset < PLAIN_HEADER_BYTES) {
    throw new RangeError(`A blob framed in place needs ${PLAIN_HEADER_BYTES} free bytes before it`);
  }
  const header = writeHeader({
    compression: "none",
    bound: false,
    plainSize: plain.length,
    payloadSize: plain.length,
  });
  const start = plain.byteOffset - PLAIN_HEADER_BYTES;
  const stored = new Uint8Array(plain.buffer, start, PLAIN_HEADER_BYTES + plain.length);
  stored.set(header, 0);
  return stored;
}

/**
 * Decodes a stored blob back to its plaintext.
 *
 * The second argument is a keyring or {@link DecodeBlobOptions}.
 *
 * @throws {IntegrityError} for anything corrupt, truncated, tampered or of an unknown format
 * @throws {KeyError} when the blob is encrypted with a key that is not configured
 */
export async function decodeBlob(
  stored: Uint8Array,
  keyringOrOptions?: Keyring | DecodeBlobOptions,
): Promise<Uint8Array> {
  const options: DecodeBlobOptions = keyringOrOptions instanceof Keyring
    ? { keyring: keyringOrOptions }
    : keyringOrOptions ?? {};
  const what = errorName(options);
  const header = readBlobHeader(stored, options);
  const maxSize = options.maxSize ?? DEFAULT_MAX_BLOB_SIZE;
  if (header.plainSize > maxSize) {
    throw new IntegrityError(
      `${what} claims ${header.plainSize} bytes of content, more than the limit of ${maxSize}`,
    );
  }
  const available = stored.length - header.headerSize;
  if (available !== header.payloadSize) {
    throw new IntegrityError(
      `${what} is ${available < header.payloadSize ? "truncated" : "too long"}: payload is ` +
        `${available} bytes, header says ${header.payloadSize}`,
    );
  }
  let payload = stored.subarray(header.headerSize);
  if (header.keyId === undefined && options.keyring && !options.acceptPlaintext) {
    throw plaintextRefused(what);
  }
  if (header.bound && !options.context) {
    throw new IntegrityError(`${what} is sealed for a manifest, not stored as data`);
  }
  if (header.keyId !== undefined) {
    if (!options.keyring) {
      throw new KeyError(
        `${what} is encrypted with key "${header.keyId}" but no encryption keys are configured`,
      );
    }
    const entry = options.keyring.get(header.keyId);
    if (!entry) {
      throw new KeyError(
        `${what} is encrypted with key "${header.keyId}" which is not configured`,
      );
    }
    payload = await open(payload, {
      key: entry.key,
      nonce: header.nonce!,
      aad: additionalData(
        stored.subarray(0, header.headerSize),
        header.bound ? options.context : undefined,
      ),
      what,
    });
  }
  try {
    const plain = await decompress(payload, header.compression, {
      expectedSize: header.plainSize,
    });
    // The decrypted, still compressed bytes are ours alone once decompressed.
    if (header.keyId !== undefined && plain !== payload) releaseBuffer(payload);
    return plain;
  } catch (error) {
    if (error instanceof IntegrityError) {
      throw new IntegrityError(`${what}: ${lowerFirst(error.message)}`);
    }
    throw error;
  }
}

/** The refusal of an unencrypted blob read while encryption keys are configured. */
export function plaintextRefused(what: string): IntegrityError {
  return new IntegrityError(
    `${what} is not encrypted, but encryption keys are configured: anyone who can write to ` +
      `the target could have put it there`,
  );
}

/** Whether bytes start as a blob does (its magic), whatever else they hold. */
export function isBlobFormat(stored: Uint8Array): boolean {
  return stored.length >= FIXED_BYTES && MAGIC_BYTES.every((byte, i) => stored[i] === byte);
}

/** How errors name the bytes: "Blob <label>", or the caller's noun. */
function errorName(options: { label?: string; noun?: string }): string {
  const noun = options.noun ?? "Blob";
  return options.label ? `${noun} ${options.label}` : noun;
}

/**
 * Reads and checks the header of a stored blob (or of its first bytes: 64 are always enough).
 *
 * @throws {IntegrityError} when the bytes are not a blob of a supported version
 */
export function readBlobHeader(
  stored: Uint8Array,
  options: { label?: string; noun?: string } = {},
): BlobHeader {
  const what = errorName(options);
  if (!isBlobFormat(stored)) {
    throw new IntegrityError(`${what} is not in the Sauvegarde blob format`);
  }
  const version = stored[4];
  if (version !== BLOB_FORMAT_VERSION) {
    throw new IntegrityError(`${what} has unsupported format version ${version}`);
  }
  let compression: CompressionName;
  try {
    compression = compressionName(stored[5]);
  } catch {
    throw new IntegrityError(`${what} names an unknown compression (id ${stored[5]})`);
  }
  const flags = stored[6];
  if ((flags & ~(FLAG_ENCRYPTED | FLAG_BOUND)) !== 0) {
    throw new IntegrityError(`${what} has unknown flags ${flags}`);
  }
  const encrypted = (flags & FLAG_ENCRYPTED) !== 0;
  const bound = (flags & FLAG_BOUND) !== 0;
  if (bound && !encrypted) throw new IntegrityError(`${what} is bound but not encrypted`);
  const keyIdLength = stored[7];
  if (encrypted !== keyIdLength > 0) {
    throw new IntegrityError(`${what} has an inconsistent encryption header`);
  }
  const headerSize = FIXED_BYTES + keyIdLength + (encrypted ? NONCE_BYTES : 0) + SIZES_BYTES;
  if (stored.length < headerSize) throw new IntegrityError(`${what} is truncated in its header`);
  let at = FIXED_BYTES;
  let keyId: string | undefined;
  let nonce: Uint8Array | undefined;
  if (encrypted) {
    keyId = String.fromCharCode(...stored.subarray(at, at + keyIdLength));
    at += keyIdLength;
    nonce = stored.slice(at, at + NONCE_BYTES);
    at += NONCE_BYTES;
  }
  const view = new DataView(stored.buffer, stored.byteOffset + at, SIZES_BYTES);
  const plainSize = Number(view.getBigUint64(0));
  const payloadSize = Number(view.getBigUint64(8));
  if (!Number.isSafeInteger(plainSize) || !Number.isSafeInteger(payloadSize)) {
    throw new IntegrityError(`${what} has impossible sizes in its header`);
  }
  return { version, compression, keyId, bound, nonce, plainSize, payloadSize, headerSize };
}

/** GCM's additional data: the header, then the context a bound blob is sealed for. */
function additionalData(header: Uint8Array, context: Uint8Array | undefined): Uint8Array {
  if (!context) return header;
  const aad = new Uint8Array(header.length + context.length);
  aad.set(header, 0);
  aad.set(context, header.length);
  return aad;
}

function writeHeader(fields: {
  compression: CompressionName;
  keyId?: string;
  bound: boolean;
  nonce?: Uint8Array;
  plainSize: number;
  payloadSize: number;
}): Uint8Array {
  const keyId = fields.keyId === undefined ? new Uint8Array(0) : ascii(fields.keyId);
  if (keyId.length > 255) throw new KeyError("Key id is longer than 255 bytes");
  const encrypted = fields.keyId !== undefined;
  const size = FIXED_BYTES + keyId.length + (encrypted ? NONCE_BYTES : 0) + SIZES_BYTES;
  const header = new Uint8Array(size);
  header.set(MAGIC_BYTES, 0);
  header[4] = BLOB_FORMAT_VERSION;
  header[5] = compressionId(fields.compression);
  header[6] = (encrypted ? FLAG_ENCRYPTED : 0) | (fields.bound ? FLAG_BOUND : 0);
  header[7] = keyId.length;
  let at = FIXED_BYTES;
  header.set(keyId, at);
  at += keyId.length;
  if (encrypted) {
    header.set(fields.nonce!, at);
    at += NONCE_BYTES;
  }
  const view = new DataView(header.buffer, at, SIZES_BYTES);
  view.setBigUint64(0, BigInt(fields.plainSize));
  view.setBigUint64(8, BigInt(fields.payloadSize));
  return header;
}

function ascii(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 127) throw new KeyError("Key ids must be ASCII");
    bytes[i] = code;
  }
  return bytes;
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}
