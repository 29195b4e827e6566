/**
 * The worker side of the encoder pool (see `encoder.ts`): hashes the plaintexts it is handed,
 * holds them until told to encode or drop them, and answers the encoded bytes (moved back,
 * not copied) with their SHA-256. A plaintext whose buffer is to be recycled is moved back
 * too, once encoded or dropped.
 *
 * @module
 */
/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />
import { createHash, type Hash } from "node:crypto";
import { encodeBlob } from "./blob_format.ts";
import {
  decodeVerified,
  type EncoderReply,
  type EncoderRequest,
  failureKind,
  keyringOf,
  ownBuffer,
  sha256HexSync,
} from "./encoder_protocol.ts";

const held = new Map<number, Uint8Array>();
/** Jobs whose plaintext buffer goes back to the caller once done with. */
const recycled = new Set<number>();
/** Running hashes of whole streams, fed in the order their blobs arrive. */
const streams = new Map<number, Hash>();

function reply(message: EncoderReply, transfer: Transferable[] = []): void {
  self.postMessage(message, transfer);
}

/** Sends a finished plaintext's buffer back when its job asked for it. */
function giveBack(job: number, plain: Uint8Array): void {
  if (!recycled.delete(job)) return;
  const buffer = plain.buffer as ArrayBuffer;
  reply({ type: "returned", job, buffer }, [buffer]);
}

self.onmessage = async (event: MessageEvent<EncoderRequest>) => {
  const request = event.data;
  try {
    switch (request.type) {
      case "hash":
        if (request.stream !== undefined) {
          let hash = streams.get(request.stream);
          if (!hash) streams.set(request.stream, hash = createHash("sha256"));
          hash.update(request.plain);
        }
        held.set(request.job, request.plain);
        if (request.recycle) recycled.add(request.job);
        reply({ type: "hashed", job: request.job, id: sha256HexSync(request.plain) });
        return;
      case "encode": {
        const plain = held.get(request.job);
        held.delete(request.job);
        if (!plain) throw new Error("The encoder thread holds no such blob");
        const stored = await encodeBlob(plain, {
          compression: request.compression,
          level: request.level,
          keyring: keyringOf(request.key),
        });
        const out = ownBuffer(stored);
        reply({ type: "encoded", job: request.job, stored: out }, [
          out.buffer as ArrayBuffer,
        ]);
        giveBack(request.job, plain);
        return;
      }
      case "drop": {
        const plain = held.get(request.job);
        held.delete(request.job);
        if (plain) giveBack(request.job, plain);
        return;
      }
      case "digest": {
        const sha256 = (streams.get(request.stream) ?? createHash("sha256")).digest("hex");
        streams.delete(request.stream);
        reply({ type: "digested", job: request.job, sha256 });
        return;
      }
      case "forget":
        streams.delete(request.stream);
        return;
      case "decode": {
        const plain = await decodeVerified(request.stored, request.id, keyringOf(request.keys));
        const out = ownBuffer(plain);
        reply({ type: "decoded", job: request.job, plain: out }, [out.buffer as ArrayBuffer]);
        return;
      }
    }
  } catch (error) {
    if (request.type === "drop" || request.type === "forget") return;
    held.delete(request.job);
    recycled.delete(request.job);
    reply({
      type: "failed",
      job: request.job,
      message: error instanceof Error ? error.message : String(error),
      kind: failureKind(error),
    });
  }
};
