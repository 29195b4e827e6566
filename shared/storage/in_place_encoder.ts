/**
 * The blob encoder of Storage snapshots: the inline encoder (`shared/codec/encoder.ts`), except
 * that a blob stored uncompressed and unencrypted is framed in place. Its stored form is a
 * header followed by the plaintext unchanged, so when the caller gives the plaintext up and
 * left room before it in the same buffer (`util/body_buffer_pool.ts`), the header is written
 * there and the stored blob is a view of that buffer: no copy of an 8 MiB part, which would be
 * freed only at V8's next garbage collection. The bytes are those `encodeBlob` writes (blob format 1).
 *
 * @module
 */
import {
  type EncodeBlobOptions,
  framePlainInPlace,
  PLAIN_HEADER_BYTES,
} from "../codec/blob_format.ts";
import {
  type BeginOptions,
  type BlobEncoder,
  type BlobJob,
  inlineEncoder,
} from "../codec/encoder.ts";
import { sha256HexSync } from "../codec/encoder_protocol.ts";

/** Hashes and encodes on the calling thread, framing uncompressed blobs in place. */
export const inPlaceEncoder: BlobEncoder = {
  begin(plain: Uint8Array, options: EncodeBlobOptions, begin?: BeginOptions): BlobJob {
    if (
      options.compression !== "none" || options.keyring?.active || !begin?.transfer ||
      plain.byteOffset < PLAIN_HEADER_BYTES
    ) {
      return inlineEncoder.begin(plain, options, begin);
    }
    let held: Uint8Array | undefined = plain;
    return {
      size: plain.length,
      id: Promise.resolve(sha256HexSync(plain)),
      encode() {
        if (!held) return Promise.reject(new Error("The blob job has ended"));
        const stored = framePlainInPlace(held);
        held = undefined;
        return Promise.resolve({ stored, inPlaintext: true });
      },
      drop() {
        held = undefined;
      },
    };
  },
  openStream: () => inlineEncoder.openStream(),
  decode: (stored, id, keyring) => inlineEncoder.decode(stored, id, keyring),
};
