/**
 * Counting and hashing a body while it streams, and rejecting it on a size or SHA-256 mismatch
 * or on abort before the consumer sees its end.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { IntegrityError } from "../util/errors.ts";

/** What {@link verifyBody} checks the body against. */
export interface VerifyOptions {
  /** Expected size in bytes. */
  size?: number;
  /** Expected SHA-256, lowercase hex. */
  sha256?: string;
  /** Errors the stream with the signal's reason when aborted. */
  signal?: AbortSignal;
}

/** A body wrapped for verification. */
export interface VerifiedBody {
  /**
   * The same bytes. It closes only after the whole body was read and matched the expectations;
   * otherwise it errors (with an {@link IntegrityError}, the source's error, or the abort reason)
   * instead of closing, so a consumer never commits a bad body.
   */
  readonly readable: ReadableStream<Uint8Array>;
  /** The first failure seen, if any. */
  readonly failure: unknown;
  /** Size and SHA-256 of the bytes read so far (final once `readable` has closed). */
  digest(): { size: number; sha256: string };
}

/** SHA-256 (lowercase hex) and size of an in-memory body. */
export function digestBytes(bytes: Uint8Array): { size: number; sha256: string } {
  return { size: bytes.byteLength, sha256: createHash("sha256").update(bytes).digest("hex") };
}

/**
 * Checks a computed digest against the expectations.
 *
 * @throws {IntegrityError} on a size or SHA-256 mismatch
 */
export function checkDigest(
  key: string,
  actual: { size: number; sha256: string },
  expected: VerifyOptions,
): void {
  if (expected.size !== undefined && actual.size !== expected.size) {
    throw new IntegrityError(
      `Size mismatch for "${key}": expected ${expected.size} bytes, got ${actual.size}`,
    );
  }
  if (expected.sha256 !== undefined && actual.sha256 !== expected.sha256.toLowerCase()) {
    throw new IntegrityError(
      `SHA-256 mismatch for "${key}": expected ${expected.sha256}, got ${actual.sha256}`,
    );
  }
}

/**
 * Wraps a body so that its bytes are counted and hashed as they pass, without buffering it.
 * A body longer than the expected size fails as soon as the excess arrives.
 */
export function verifyBody(
  key: string,
  body: ReadableStream<Uint8Array> | Uint8Array,
  options: VerifyOptions = {},
): VerifiedBody {
  const hash = createHash("sha256");
  const { signal } = options;
  let size = 0;
  let sha256: string | undefined;
  let failure: unknown;
  let settled = false;
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let pending: Uint8Array | undefined = body instanceof Uint8Array ? body : undefined;
  const reader = body instanceof Uint8Array ? undefined : body.getReader();

  const fail = (error: unknown) => {
    if (settled) return;
    settled = true;
    failure = error;
    signal?.removeEventListener("abort", onAbort);
    controller.error(error);
    reader?.cancel(error).catch(() => {});
  };
  const onAbort = () => fail(signal!.reason);

  const readable = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
      if (signal?.aborted) fail(signal.reason);
      else signal?.addEventListener("abort", onAbort, { once: true });
    },
    async pull(c) {
      let chunk: Uint8Array | undefined;
      if (reader) {
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          result = await reader.read();
        } catch (error) {
          fail(error);
          return;
        }
        if (settled) return;
        chunk = result.done ? undefined : result.value;
      } else {
        chunk = pending;
        pending = undefined;
      }
      if (chunk === undefined) {
        sha256 = hash.digest("hex");
        try {
          checkDigest(key, { size, sha256 }, options);
        } catch (error) {
          fail(error);
          return;
        }
        settled = true;
        signal?.removeEventListener("abort", onAbort);
        c.close();
        return;
      }
      size += chunk.byteLength;
      if (options.size !== undefined && size > options.size) {
        fail(
          new IntegrityError(
            `Size mismatch for "${key}": expected ${options.size} bytes, got more`,
          ),
        );
        return;
      }
      hash.update(chunk);
      c.enqueue(chunk);
    },
    cancel(reason) {
      if (settled) return;
      settled = true;
      signal?.removeEventListener("abort", onAbort);
      return reader?.cancel(reason);
    },
  }, { highWaterMark: 0 });

  return {
    readable,
    get failure() {
      return failure;
    },
    digest: () => ({ size, sha256: sha256 ?? hash.copy().digest("hex") }),
  };
}
