/**
 * Compression codecs for one chunk at a time: "zstd" (level 1 by default), "gzip" and "none".
 *
 * zstd comes from `node:zlib` and is feature-detected: Supabase's Edge Runtime may run a Deno
 * without it, in which case {@link defaultCompression} answers "gzip" and compressing with
 * "zstd" fails with a clear error. gzip uses `node:zlib` (about 20 times faster than
 * `CompressionStream` here) and falls back to `CompressionStream` when `node:zlib` has no gzip.
 * zstd frames carry their content checksum, so corruption is caught when decompressing even
 * without encryption.
 *
 * The functions are async so a future runtime can move the work off the main thread, but they
 * call `node:zlib`'s synchronous forms today: in Deno 2.9 the callback forms also run on the
 * main thread (four 8 MiB gzip or zstd jobs started together take as long as one after the
 * other, and timers do not fire meanwhile), and the callback `zstdDecompress` lets some
 * corruption errors escape as uncaught exceptions. Parallelism comes from WebCrypto (hashing,
 * AES-GCM), which does run on other threads, and from overlapping uploads.
 *
 * @module
 */
import * as zlib from "node:zlib";
import { IntegrityError } from "../util/errors.ts";

/** Names of the supported compression codecs. */
export type CompressionName = "zstd" | "gzip" | "none";

/** The one-byte ids written in blob headers; never renumber. */
export const COMPRESSION_IDS: Readonly<Record<CompressionName, number>> = Object.freeze({
  none: 0,
  gzip: 1,
  zstd: 2,
});

/** Options for {@link compress}. */
export interface CompressOptions {
  /** Codec level; zstd defaults to 1, gzip to 1 (fast, as backups of large tables need). */
  level?: number;
}

/** Options for {@link decompress}. */
export interface DecompressOptions {
  /** The exact expected output size; larger or different output is rejected (no bombs). */
  expectedSize?: number;
}

type SyncCodec = (data: Uint8Array, options: Record<string, unknown>) => Uint8Array;

const zlibSync = zlib as unknown as Record<string, SyncCodec | undefined>;
const zlibConstants = (zlib as unknown as { constants?: Record<string, number> }).constants ?? {};

/** Whether this runtime can compress and decompress with the named codec. */
export function isCompressionAvailable(name: CompressionName): boolean {
  switch (name) {
    case "none":
      return true;
    case "gzip":
      return typeof zlibSync.gzipSync === "function" ||
        typeof globalThis.CompressionStream === "function";
    case "zstd":
      return typeof zlibSync.zstdCompressSync === "function" &&
        typeof zlibSync.zstdDecompressSync === "function" &&
        zlibConstants.ZSTD_c_compressionLevel !== undefined;
    default:
      return false;
  }
}

/** The best codec this runtime has: "zstd" when available, otherwise "gzip". */
export function defaultCompression(): CompressionName {
  return isCompressionAvailable("zstd") ? "zstd" : "gzip";
}

/** The header id of a codec name. */
export function compressionId(name: CompressionName): number {
  const id = COMPRESSION_IDS[name];
  if (id === undefined) throw new TypeError(`Unknown compression "${name}"`);
  return id;
}

/** The codec name of a header id; an unknown id is reported as corrupt data. */
export function compressionName(id: number): CompressionName {
  for (const [name, value] of Object.entries(COMPRESSION_IDS)) {
    if (value === id) return name as CompressionName;
  }
  throw new IntegrityError(`Unknown compression id ${id}`);
}

/** Compresses one chunk asynchronously. The input is not modified. */
export async function compress(
  data: Uint8Array,
  name: CompressionName,
  options: CompressOptions = {},
): Promise<Uint8Array> {
  switch (name) {
    case "none":
      return data;
    case "zstd": {
      requireAvailable("zstd");
      const out = await callZlib("zstdCompress", data, {
        params: {
          [zlibConstants.ZSTD_c_compressionLevel]: options.level ?? 1,
          [zlibConstants.ZSTD_c_checksumFlag]: 1,
          [zlibConstants.ZSTD_c_contentSizeFlag]: 1,
        },
      });
      return withoutTrailingEmptyFrame(out);
    }
    case "gzip": {
      requireAvailable("gzip");
      if (typeof zlibSync.gzipSync === "function") {
        return await callZlib("gzip", data, { level: options.level ?? 1 });
      }
      return await throughStream(data, new CompressionStream("gzip"));
    }
    default:
      throw new TypeError(`Unknown compression "${name}"`);
  }
}

/**
 * Decompresses one chunk asynchronously.
 *
 * @throws {IntegrityError} when the data is corrupt, truncated or not of the expected size
 */
export async function decompress(
  data: Uint8Array,
  name: CompressionName,
  options: DecompressOptions = {},
): Promise<Uint8Array> {
  const expected = options.expectedSize;
  let out: Uint8Array;
  try {
    switch (name) {
      case "none":
        out = data;
        break;
      case "zstd":
        requireAvailable("zstd");
        out = await callZlib("zstdDecompress", data, limit(expected));
        break;
      case "gzip":
        requireAvailable("gzip");
        out = typeof zlibSync.gunzipSync === "function"
          ? await callZlib("gunzip", data, limit(expected))
          : await throughStream(data, new DecompressionStream("gzip"));
        break;
      default:
        throw new TypeError(`Unknown compression "${name}"`);
    }
  } catch (error) {
    if (error instanceof TypeError || error instanceof CompressionUnavailableError) throw error;
    throw new IntegrityError(`Compressed data is corrupt (${name}): ${describe(error)}`);
  }
  if (expected !== undefined && out.length !== expected) {
    throw new IntegrityError(
      `Decompressed data is ${out.length} bytes, expected ${expected} (${name})`,
    );
  }
  return out;
}

/** Raised when a codec is named that this runtime does not have. */
export class CompressionUnavailableError extends Error {
  constructor(readonly compression: CompressionName) {
    super(`Compression "${compression}" is not available in this runtime`);
    this.name = "CompressionUnavailableError";
  }
}

function requireAvailable(name: CompressionName): void {
  if (!isCompressionAvailable(name)) throw new CompressionUnavailableError(name);
}

function limit(expected: number | undefined): Record<string, unknown> {
  // One byte of slack so that "too long" is reported as a size mismatch, not a zlib error.
  return expected === undefined ? {} : { maxOutputLength: Math.max(1, expected + 1) };
}

/** An empty zstd frame (with its checksum), as this runtime appends after larger inputs. */
const EMPTY_ZSTD_FRAME = new Uint8Array([
  0x28,
  0xb5,
  0x2f,
  0xfd,
  0x24,
  0x00,
  0x01,
  0x00,
  0x00,
  0x99,
  0xe9,
  0xd8,
  0x51,
]);

/**
 * Drops a trailing empty frame: decoders skip it, so a flipped byte inside it would go
 * unnoticed by integrity checks. Without it every stored byte is covered by the checksum.
 */
function withoutTrailingEmptyFrame(out: Uint8Array): Uint8Array {
  const tail = out.length - EMPTY_ZSTD_FRAME.length;
  if (tail <= 0) return out;
  for (let i = 0; i < EMPTY_ZSTD_FRAME.length; i++) {
    if (out[tail + i] !== EMPTY_ZSTD_FRAME[i]) return out;
  }
  return out.subarray(0, tail);
}

function callZlib(
  fn: string,
  data: Uint8Array,
  options: Record<string, unknown>,
): Promise<Uint8Array> {
  // The synchronous calls on purpose: in Deno 2.9 the callback forms run on the main thread
  // anyway (no parallelism, measured) and `zstdDecompress` throws some corruption errors as
  // uncaught exceptions that kill the process instead of reaching the callback.
  try {
    const result = zlibSync[`${fn}Sync`]!(data, options);
    return Promise.resolve(new Uint8Array(result.buffer, result.byteOffset, result.byteLength));
  } catch (error) {
    return Promise.reject(error);
  }
}

async function throughStream(
  data: Uint8Array,
  transform: CompressionStream | DecompressionStream,
): Promise<Uint8Array> {
  const source = new ReadableStream<BufferSource>({
    start(controller) {
      controller.enqueue(data as Uint8Array<ArrayBuffer>);
      controller.close();
    },
  });
  const buffer = await new Response(source.pipeThrough(transform)).arrayBuffer();
  return new Uint8Array(buffer);
}

function describe(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\.$/, "");
}
