/**
 * Which objects are worth compressing. Most Storage objects (photos, videos, archives, PDFs)
 * are compressed already: compressing them again costs CPU on the main thread and saves
 * nothing. Those are stored with the codec "none" (still encrypted when a key is set); the
 * others with the configured codec. A blob's id is the hash of its plaintext either way, so
 * deduplication does not depend on the choice.
 *
 * @module
 */
import { compress } from "../codec/compression.ts";

const PRECOMPRESSED = [
  /^image\/(jpeg|png|gif|webp|avif|heic|heif|jxl)$/,
  /^video\//,
  /^audio\/(mpeg|mp4|aac|ogg|opus|webm|flac)$/,
  /^application\/(zip|gzip|x-gzip|zstd|x-7z-compressed|x-rar-compressed|x-bzip2|x-xz|pdf)$/,
  /^font\/woff2?$/,
];

/** Bytes of an object's start compressed to judge the rest. */
export const SAMPLE_BYTES = 64 * 1024;

/** Below this, objects are compressed without judging (the test would cost as much). */
export const JUDGE_FROM_BYTES = 128 * 1024;

/**
 * True when compressing the object would not pay: its content type is a compressed format, or
 * its first {@link SAMPLE_BYTES} shrink by less than 3% with zstd at level 1.
 */
export async function isIncompressible(
  contentType: string | undefined,
  size: number,
  start: Uint8Array,
): Promise<boolean> {
  if (size < JUDGE_FROM_BYTES) return false;
  const type = (contentType ?? "").split(";")[0].trim().toLowerCase();
  if (PRECOMPRESSED.some((pattern) => pattern.test(type))) return true;
  const sample = start.subarray(0, SAMPLE_BYTES);
  try {
    const packed = await compress(sample, "zstd", { level: 1 });
    return packed.length > sample.length * 0.97;
  } catch {
    return false; // No zstd here: let the configured codec decide.
  }
}
