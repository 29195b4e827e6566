/**
 * A storage target on an S3-compatible store: AWS S3, Backblaze B2, Cloudflare R2, Google Cloud
 * Storage (interoperability mode), MinIO, or the Supabase Storage S3 endpoint.
 *
 * How a save stays all-or-nothing without a rename: S3 only makes an object visible when a
 * PutObject or CompleteMultipartUpload request succeeds, and both replace a previous object
 * atomically. The body is counted and hashed while it streams into the upload; on a size or
 * SHA-256 mismatch, a source error or an abort, the stream errors before its end is reported,
 * so the upload never sends that final request: a small body never leaves the client, and a
 * multipart upload is aborted. The previous object under the key stays untouched, and no
 * temporary key, copy (CopyObject is limited to 5 GiB; larger objects would need UploadPartCopy)
 * or cleanup is needed. After the upload, a HEAD compares the stored length with the bytes sent;
 * a store that stored a different length has its object deleted and the save fails.
 *
 * Limits: an abort arriving after the whole body was read and verified cannot stop the final
 * request any more; the save then completes. Part uploads already in flight finish before the
 * multipart upload is aborted.
 *
 * @module
 */

import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { checkKey, checkPrefix, checkRange } from "./keys.ts";
import {
  IntegrityError,
  type LoadOptions,
  NotFoundError,
  type ObjectInfo,
  type SavedObject,
  type SaveOptions,
  type StorageTarget,
  TargetError,
} from "./target.ts";
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
  /** Access key id; with `secretAccessKey`. Without both, the SDK's default provider chain is used. */
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  /** Path-style addressing; default true when an endpoint is given, false otherwise. */
  forcePathStyle?: boolean;
  /** Multipart part size in bytes (default 8 MiB, at least 5 MiB). */
  partSize?: number;
  /** Parts uploaded at once (default 2); memory is about (queueSize + 1) × partSize per save. */
  queueSize?: number;
  /** Attempts per request inside the SDK (its default when unset). */
  maxAttempts?: number;
  /** A client to use instead of building one; it is not destroyed by `close()`. */
  client?: S3Client;
}

const MIB = 1024 * 1024;

/** A {@link StorageTarget} on an S3-compatible bucket. */
export class S3Target implements StorageTarget {
  readonly kind = "s3" as const;
  readonly location: string;
  readonly #client: S3Client;
  readonly #ownsClient: boolean;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #partSize: number;
  readonly #queueSize: number;

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
    this.#ownsClient = options.client === undefined;
    this.#client = options.client ?? new S3Client({
      endpoint: options.endpoint,
      region: options.region ?? "us-east-1",
      forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
      maxAttempts: options.maxAttempts,
      credentials: options.accessKeyId !== undefined
        ? {
          accessKeyId: options.accessKeyId,
          secretAccessKey: options.secretAccessKey!,
          sessionToken: options.sessionToken,
        }
        : undefined,
      // Many S3-compatible stores reject the newer default flexible checksums.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
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
    let digest: { size: number; sha256: string };
    if (body instanceof Uint8Array) {
      digest = digestBytes(body);
      checkDigest(key, digest, options);
      signal?.throwIfAborted();
      try {
        await this.#client.send(
          new PutObjectCommand({
            Bucket: this.#bucket,
            Key: fullKey,
            Body: body,
            ContentLength: body.byteLength,
            ContentType: "application/octet-stream",
          }),
          { abortSignal: signal },
        );
      } catch (error) {
        throw this.#error(error, "Saving", key);
      }
    } else {
      const verified = verifyBody(key, body, options);
      const upload = new Upload({
        client: this.#client,
        params: {
          Bucket: this.#bucket,
          Key: fullKey,
          Body: verified.readable,
          ContentType: "application/octet-stream",
        },
        partSize: this.#partSize,
        queueSize: this.#queueSize,
        leavePartsOnError: false,
      });
      try {
        await upload.done();
      } catch (error) {
        verified.readable.cancel(error).catch(() => {});
        throw verified.failure ?? this.#error(error, "Saving", key);
      }
      if (verified.failure) throw verified.failure;
      digest = verified.digest();
    }
    const stored = await this.stat(key);
    if (stored.size !== digest.size) {
      await this.remove(key).catch(() => {});
      throw new IntegrityError(
        `Short write for "${key}" on ${this.location}: sent ${digest.size} bytes, stored ${stored.size}`,
      );
    }
    return { key, ...digest };
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
    try {
      const response = await this.#client.send(
        new GetObjectCommand({ Bucket: this.#bucket, Key: fullKey, Range: range }),
        { abortSignal: signal },
      );
      if (!response.Body) throw new TargetError(`S3 returned no body for "${key}"`);
      const stream = response.Body.transformToWebStream() as ReadableStream<Uint8Array>;
      // Some stores ignore a range (or part of it): cut the answer to the asked bytes.
      const start = ranged && !response.ContentRange ? offset : 0;
      return slice(stream, start, length);
    } catch (error) {
      if (statusOf(error) === 416 || nameOf(error) === "InvalidRange") {
        await this.stat(key);
        return emptyStream();
      }
      throw this.#error(error, "Loading", key);
    }
  }

  async stat(key: string): Promise<ObjectInfo> {
    try {
      const head = await this.#client.send(
        new HeadObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) }),
      );
      return { key, size: head.ContentLength ?? 0, lastModified: head.LastModified };
    } catch (error) {
      throw this.#error(error, "Reading", key);
    }
  }

  async *list(prefix: string, options: { signal?: AbortSignal } = {}): AsyncIterable<ObjectInfo> {
    checkPrefix(prefix);
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.#client.send(
          new ListObjectsV2Command({
            Bucket: this.#bucket,
            Prefix: this.#prefix + prefix,
            ContinuationToken: token,
          }),
          { abortSignal: options.signal },
        );
      } catch (error) {
        throw this.#error(error, "Listing", prefix);
      }
      for (const item of page.Contents ?? []) {
        if (!item.Key?.startsWith(this.#prefix)) continue;
        yield {
          key: item.Key.slice(this.#prefix.length),
          size: item.Size ?? 0,
          lastModified: item.LastModified,
        };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
      if (page.IsTruncated && !token) {
        throw new TargetError(`Listing "${prefix}" on ${this.location} stopped without a token`);
      }
    } while (token);
  }

  async remove(key: string): Promise<void> {
    try {
      await this.#client.send(
        new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) }),
      );
    } catch (error) {
      const mapped = this.#error(error, "Removing", key);
      if (!(mapped instanceof NotFoundError)) throw mapped;
    }
  }

  close(): Promise<void> {
    if (this.#ownsClient) this.#client.destroy();
    return Promise.resolve();
  }

  #error(error: unknown, action: string, key: string): unknown {
    if (error instanceof TargetError) return error;
    const name = nameOf(error);
    if (name === "AbortError") return error;
    if (
      name === "NoSuchKey" || name === "NotFound" ||
      (statusOf(error) === 404 && !name?.startsWith("NoSuchBucket"))
    ) {
      return new NotFoundError(key, this.location);
    }
    const detail = error instanceof Error ? error.message || name : String(error);
    return new TargetError(`${action} "${key}" on ${this.location} failed: ${detail}`, {
      cause: error,
    });
  }
}

function nameOf(error: unknown): string | undefined {
  return (error as { name?: string } | undefined)?.name;
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata
    ?.httpStatusCode;
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
