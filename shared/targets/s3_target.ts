/**
 * A storage target on an S3-compatible store: AWS S3, Backblaze B2, Cloudflare R2, Google Cloud
 * Storage (interoperability mode), MinIO, or the Supabase Storage S3 endpoint.
 *
 * How a save stays all-or-nothing without a rename: S3 only makes an object visible when a
 * PutObject or CompleteMultipartUpload request succeeds, and both replace a previous object
 * atomically. The body is counted and hashed before (bytes) or while (streams) it goes out; on
 * a size or SHA-256 mismatch, a source error or an abort, the stream errors before its end is
 * reported, so the upload never sends that final request: a small body never leaves the
 * client, and a multipart upload is aborted. The previous object under the key stays
 * untouched, and no temporary key, copy (CopyObject is limited to 5 GiB; larger objects would
 * need UploadPartCopy) or cleanup is needed.
 *
 * Requests: every request goes through the one S3 client (`s3_http.ts`: SigV4-signed `fetch`,
 * uploads over `node:http`, each request retried on network errors, 5xx and 429). Without
 * static credentials, it signs with what the AWS SDK's default chain finds (environment,
 * profiles, instance roles); the SDK is loaded only then.
 *
 * How a save knows the store kept every byte: a body given as bytes goes in one PUT carrying
 * its SHA-256 as
 * `x-amz-content-sha256`, which AWS S3 and most compatible stores check before storing, and,
 * up to {@link MD5_PROOF_BYTES}, its MD5 as `Content-MD5`, which they check too. A store that
 * answers the PUT with an ETag equal to that MD5 has proved it stored exactly these bytes, so
 * nothing more is asked. Otherwise (larger bodies, streams, stores whose ETag is not the MD5,
 * such as SSE-KMS buckets) a HEAD compares the stored length with the bytes sent; a store that
 * stored a different length has its object deleted and the save fails.
 *
 * Limits: an abort arriving while the final request (the PUT, or the completion of a multipart
 * upload) is on its way cannot stop it any more; the save then completes. Part uploads already
 * in flight finish before the multipart upload is aborted.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { checkKey, checkPrefix, checkRange } from "./keys.ts";
import { awsCredentialChain, errorFrom, S3Http, S3ResponseError } from "./s3_http.ts";
import type { LoadOptions, ObjectInfo, SavedObject, SaveOptions, StorageTarget } from "./target.ts";
import { IntegrityError, NotFoundError, TargetError } from "../util/errors.ts";
import { checkDigest, digestBytes, verifyBody } from "./verify_stream.ts";

/** Options for {@link S3Target}. */
export interface S3TargetOptions {
  /** Bucket name. */
  bucket: string;
  /** Key prefix inside the bucket ("backups/prod"); keys are stored under "<prefix>/<key>". */
  prefix?: string;
  /** Endpoint URL for stores other than AWS S3 ("http://127.0.0.1:9000"). */
  endpoint?: string;
  /** Region (default "us-east-1"; R2 uses "auto"). */
  region?: string;
  /** Access key id; with `secretAccessKey`. Without both, the AWS default credential chain is used. */
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  /** Path-style addressing; default true when an endpoint is given, false otherwise. */
  forcePathStyle?: boolean;
  /** Multipart part size in bytes (default 8 MiB, at least 5 MiB). */
  partSize?: number;
  /** Parts uploaded at once (default 2); memory is about (queueSize + 1) × partSize per save. */
  queueSize?: number;
  /** The `fetch` requests go through, uploads included (tests put faults in between). */
  fetch?: typeof fetch;
}

const MIB = 1024 * 1024;

/**
 * Bodies up to this size carry their MD5 (`Content-MD5`), so that the store's ETag proves what
 * it stored and no HEAD is needed after the PUT. Above it, hashing the MD5 costs more CPU than
 * the HEAD it saves (about 1.5 ms per MiB against well under 1 ms for a request).
 */
export const MD5_PROOF_BYTES = MIB;

/** A {@link StorageTarget} on an S3-compatible bucket. */
export class S3Target implements StorageTarget {
  readonly kind = "s3" as const;
  readonly location: string;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #partSize: number;
  readonly #queueSize: number;
  readonly #http: S3Http;

  constructor(options: S3TargetOptions) {
    if (!options.bucket) throw new TargetError("S3 target needs a bucket name");
    if ((options.accessKeyId === undefined) !== (options.secretAccessKey === undefined)) {
      throw new TargetError("S3 credentials need both an access key id and a secret access key");
    }
    this.#bucket = options.bucket;
    const prefix = (options.prefix ?? "").replace(/^\/+|\/+$/g, "");
    if (prefix) checkPrefix(prefix);
    this.#prefix = prefix ? `${prefix}/` : "";
    this.#partSize = Math.max(5 * MIB, options.partSize ?? 8 * MIB);
    this.#queueSize = Math.max(1, options.queueSize ?? 2);
    const endpoint = options.endpoint ? publicEndpoint(options.endpoint) : undefined;
    this.location = `s3://${this.#bucket}/${prefix}` +
      (endpoint ? `?endpoint=${encodeURIComponent(endpoint)}` : "");
    const region = options.region ?? "us-east-1";
    const pathStyle = options.forcePathStyle ?? options.endpoint !== undefined;
    this.#http = new S3Http({
      endpoint: options.endpoint ?? `https://s3.${region}.amazonaws.com`,
      region,
      accessKeyId: options.accessKeyId,
      secretAccessKey: options.secretAccessKey,
      sessionToken: options.sessionToken,
      credentials: options.accessKeyId === undefined ? awsCredentialChain(region) : undefined,
      // Dotted bucket names do not match a wildcard TLS certificate: path-style for those.
      virtualHosted: !pathStyle && !this.#bucket.includes("."),
      fetch: options.fetch,
    });
  }

  #key(key: string): string {
    return this.#prefix + checkKey(key);
  }

  async save(
    key: string,
    body: ReadableStream<Uint8Array> | Uint8Array,
    options: SaveOptions = {},
  ): Promise<SavedObject> {
    const fullKey = this.#key(key);
    const { signal } = options;
    if (body instanceof Uint8Array) {
      const digest = digestBytes(body);
      checkDigest(key, digest, options);
      signal?.throwIfAborted();
      await this.#putSigned(key, fullKey, body, digest.sha256, signal);
      return { key, ...digest };
    }
    const verified = verifyBody(key, body, options);
    try {
      await this.#http.upload(this.#bucket, fullKey, verified.readable, {
        headers: { "content-type": "application/octet-stream" },
        partSize: this.#partSize,
        queueSize: this.#queueSize,
        signal,
      });
    } catch (error) {
      verified.readable.cancel(error).catch(() => {});
      if (verified.failure) throw verified.failure;
      if (signal?.aborted) throw signal.reason;
      throw this.#error(error, "Saving", key);
    }
    if (verified.failure) throw verified.failure;
    const digest = verified.digest();
    await this.#checkStoredLength(key, digest.size);
    return { key, ...digest };
  }

  /**
   * One signed PUT of in-memory bytes. The store checks the SHA-256 (and, for small bodies, the
   * MD5) before keeping anything; an ETag equal to the MD5 proves the stored bytes, else the
   * stored length is checked.
   */
  async #putSigned(
    key: string,
    fullKey: string,
    body: Uint8Array,
    sha256: string,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const md5 = body.byteLength <= MD5_PROOF_BYTES
      ? createHash("md5").update(body).digest()
      : undefined;
    let headers: Headers;
    try {
      headers = await this.#http.putObject(this.#bucket, fullKey, body, {
        payloadHash: sha256,
        headers: {
          "content-type": "application/octet-stream",
          "content-md5": md5?.toString("base64"),
        },
        signal,
      });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw this.#error(error, "Saving", key);
    }
    const etag = (headers.get("etag") ?? "").replace(/^W\//, "").replaceAll('"', "");
    if (md5 && etag === md5.toString("hex")) return;
    await this.#checkStoredLength(key, body.byteLength);
  }

  /** Compares the stored length with the bytes sent; on a difference, deletes and throws. */
  async #checkStoredLength(key: string, sent: number): Promise<void> {
    const stored = await this.stat(key);
    if (stored.size !== sent) {
      await this.remove(key).catch(() => {});
      throw new IntegrityError(
        `Short write for "${key}" on ${this.location}: sent ${sent} bytes, stored ${stored.size}`,
      );
    }
  }

  async load(key: string, options: LoadOptions = {}): Promise<ReadableStream<Uint8Array>> {
    const { offset = 0, length, signal } = options;
    const fullKey = this.#key(key);
    checkRange(offset, length);
    signal?.throwIfAborted();
    if (length === 0) {
      await this.stat(key);
      return emptyStream();
    }
    const ranged = offset > 0 || length !== undefined;
    const range = ranged
      ? `bytes=${offset}-${length !== undefined ? offset + length - 1 : ""}`
      : undefined;
    let response: Response;
    try {
      response = await this.#http.request("GET", this.#bucket, fullKey, {
        headers: { range },
        signal,
      });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw this.#error(error, "Loading", key);
    }
    if (response.status === 416) {
      await response.body?.cancel();
      await this.stat(key);
      return emptyStream();
    }
    if (!response.ok) {
      throw this.#error(errorFrom(response.status, await response.text()), "Loading", key);
    }
    // Some stores ignore a range (or part of it): cut the answer to the asked bytes.
    const start = ranged && response.status !== 206 ? offset : 0;
    return slice(response.body ?? emptyStream(), start, length);
  }

  async stat(key: string): Promise<ObjectInfo> {
    const fullKey = this.#key(key);
    let head;
    try {
      head = await this.#http.headObject(this.#bucket, fullKey);
    } catch (error) {
      throw this.#error(error, "Reading", key);
    }
    if (!head) throw new NotFoundError(key, this.location);
    return {
      key,
      size: head.size,
      lastModified: head.lastModified ? new Date(head.lastModified) : undefined,
    };
  }

  async *list(prefix: string, options: { signal?: AbortSignal } = {}): AsyncIterable<ObjectInfo> {
    checkPrefix(prefix);
    const listing = this.#http.listObjects(this.#bucket, {
      prefix: this.#prefix + prefix,
      signal: options.signal,
    })[Symbol.asyncIterator]();
    while (true) {
      let next: IteratorResult<{ key: string; size: number; lastModified?: string }>;
      try {
        next = await listing.next();
      } catch (error) {
        if (options.signal?.aborted) throw options.signal.reason;
        throw this.#error(error, "Listing", prefix);
      }
      if (next.done) return;
      const item = next.value;
      if (!item.key.startsWith(this.#prefix)) continue;
      yield {
        key: item.key.slice(this.#prefix.length),
        size: item.size,
        lastModified: item.lastModified ? new Date(item.lastModified) : undefined,
      };
    }
  }

  async remove(key: string): Promise<void> {
    const fullKey = this.#key(key);
    try {
      await this.#http.deleteObject(this.#bucket, fullKey);
    } catch (error) {
      const mapped = this.#error(error, "Removing", key);
      if (!(mapped instanceof NotFoundError)) throw mapped;
    }
  }

  async close(): Promise<void> {
    await this.#http.close();
  }

  #error(error: unknown, action: string, key: string): unknown {
    if (error instanceof TargetError) return error;
    if (error instanceof S3ResponseError) {
      if (error.code === "BadDigest" || error.code === "XAmzContentSHA256Mismatch") {
        return new IntegrityError(`The store refused "${key}" as corrupt: ${error.message}`);
      }
      if (error.code === "NoSuchKey" || (error.status === 404 && error.code === "NotFound")) {
        return new NotFoundError(key, this.location);
      }
      return new TargetError(`${action} "${key}" on ${this.location} failed: ${error.message}`, {
        cause: error,
      });
    }
    const name = nameOf(error);
    if (name === "AbortError") return error;
    const detail = error instanceof Error ? error.message || name : String(error);
    return new TargetError(`${action} "${key}" on ${this.location} failed: ${detail}`, {
      cause: error,
    });
  }
}

function nameOf(error: unknown): string | undefined {
  return (error as { name?: string } | undefined)?.name;
}

/** An endpoint without user info, query or fragment, fit for printing. */
function publicEndpoint(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    return `${url.protocol}//${url.host}${url.pathname === "/" ? "" : url.pathname}`;
  } catch {
    throw new TargetError("S3 endpoint must be an absolute http or https URL");
  }
}

function emptyStream(): ReadableStream<Uint8Array> {
  return new ReadableStream({ start: (controller) => controller.close() });
}

/** Skips `skip` bytes, then passes at most `take` bytes (all when undefined). */
function slice(
  stream: ReadableStream<Uint8Array>,
  skip: number,
  take: number | undefined,
): ReadableStream<Uint8Array> {
  if (skip === 0 && take === undefined) return stream;
  const reader = stream.getReader();
  let toSkip = skip;
  let left = take ?? Infinity;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      while (true) {
        if (left <= 0) {
          controller.close();
          await reader.cancel().catch(() => {});
          return;
        }
        const { done, value } = await reader.read();
        if (done) {
          controller.close();
          return;
        }
        let chunk = value;
        if (toSkip > 0) {
          const cut = Math.min(toSkip, chunk.byteLength);
          toSkip -= cut;
          chunk = chunk.subarray(cut);
        }
        if (chunk.byteLength === 0) continue;
        if (chunk.byteLength > left) chunk = chunk.subarray(0, left);
        left -= chunk.byteLength;
        controller.enqueue(chunk);
        return;
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
