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
 * Requests: with static credentials every request but a multipart upload is signed here and
 * sent with `fetch` (`s3_http.ts`), and the AWS SDK (with `@aws-sdk/lib-storage`) is loaded
 * only when a stream is saved: in Deno the SDK costs about 0.7 ms of CPU per request against
 * 0.2 ms, and 30 MB of memory once loaded. Without static credentials (the SDK's provider
 * chain: environment, profiles, instance roles) every request goes through the SDK.
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
 * Limits: an abort arriving after the whole body was read and verified cannot stop the final
 * request any more; the save then completes. Part uploads already in flight finish before the
 * multipart upload is aborted.
 *
 * @module
 */

import type { S3Client } from "@aws-sdk/client-s3";
import { createHash } from "node:crypto";
import { checkKey, checkPrefix, checkRange } from "./keys.ts";
import { errorFrom, S3Http, S3ResponseError, xmlBlocks, xmlValue } from "./s3_http.ts";
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
  /** An SDK client to use instead of building one; it is not destroyed by `close()`. */
  client?: S3Client;
  /** The `fetch` signed requests go through (tests put faults in between). */
  fetch?: typeof fetch;
}

const MIB = 1024 * 1024;

/**
 * Bodies up to this size carry their MD5 (`Content-MD5`), so that the store's ETag proves what
 * it stored and no HEAD is needed after the PUT. Above it, hashing the MD5 costs more CPU than
 * the HEAD it saves (about 1.5 ms per MiB against well under 1 ms for a request).
 */
export const MD5_PROOF_BYTES = MIB;

type Sdk = typeof import("@aws-sdk/client-s3");

/** A {@link StorageTarget} on an S3-compatible bucket. */
export class S3Target implements StorageTarget {
  readonly kind = "s3" as const;
  readonly location: string;
  readonly #options: S3TargetOptions;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #partSize: number;
  readonly #queueSize: number;
  /** Signed `fetch`, for everything but multipart uploads; only with static credentials. */
  readonly #http?: S3Http;
  /** The SDK and its client, loaded on first need. */
  #sdk?: Promise<{ s3: Sdk; client: S3Client }>;
  #ownsClient = false;

  constructor(options: S3TargetOptions) {
    if (!options.bucket) throw new TargetError("S3 target needs a bucket name");
    if ((options.accessKeyId === undefined) !== (options.secretAccessKey === undefined)) {
      throw new TargetError("S3 credentials need both an access key id and a secret access key");
    }
    this.#options = options;
    this.#bucket = options.bucket;
    const prefix = (options.prefix ?? "").replace(/^\/+|\/+$/g, "");
    if (prefix) checkPrefix(prefix);
    this.#prefix = prefix ? `${prefix}/` : "";
    this.#partSize = Math.max(5 * MIB, options.partSize ?? 8 * MIB);
    this.#queueSize = Math.max(1, options.queueSize ?? 2);
    const endpoint = options.endpoint ? publicEndpoint(options.endpoint) : undefined;
    this.location = `s3://${this.#bucket}/${prefix}` +
      (endpoint ? `?endpoint=${encodeURIComponent(endpoint)}` : "");
    if (options.accessKeyId !== undefined) {
      const region = options.region ?? "us-east-1";
      const pathStyle = options.forcePathStyle ?? options.endpoint !== undefined;
      this.#http = new S3Http({
        endpoint: options.endpoint ?? `https://s3.${region}.amazonaws.com`,
        region,
        accessKeyId: options.accessKeyId,
        secretAccessKey: options.secretAccessKey,
        sessionToken: options.sessionToken,
        // Dotted bucket names do not match a wildcard TLS certificate: path-style for those.
        virtualHosted: !pathStyle && !this.#bucket.includes("."),
        fetch: options.fetch,
      });
    }
  }

  #key(key: string): string {
    return this.#prefix + checkKey(key);
  }

  /** The AWS SDK and a client, loaded and built on first use. */
  #useSdk(): Promise<{ s3: Sdk; client: S3Client }> {
    this.#sdk ??= import("@aws-sdk/client-s3").then((s3) => {
      const options = this.#options;
      if (options.client) return { s3, client: options.client };
      this.#ownsClient = true;
      const client = new s3.S3Client({
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
      return { s3, client };
    });
    return this.#sdk;
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
      if (this.#http) {
        await this.#putSigned(key, fullKey, body, digest.sha256, signal);
        return { key, ...digest };
      }
      const { s3, client } = await this.#useSdk();
      try {
        await client.send(
          new s3.PutObjectCommand({
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
      let upload;
      try {
        const [{ client }, { Upload }] = await Promise.all([
          this.#useSdk(),
          import("@aws-sdk/lib-storage"),
        ]);
        upload = new Upload({
          client,
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
        await upload.done();
      } catch (error) {
        verified.readable.cancel(error).catch(() => {});
        throw verified.failure ?? this.#error(error, "Saving", key);
      }
      if (verified.failure) throw verified.failure;
      digest = verified.digest();
    }
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
    const response = await this.#send("Saving", key, "PUT", fullKey, {
      body,
      payloadHash: sha256,
      headers: {
        "content-type": "application/octet-stream",
        "content-md5": md5?.toString("base64"),
      },
      signal,
    });
    await response.body?.cancel();
    const etag = (response.headers.get("etag") ?? "").replace(/^W\//, "").replaceAll('"', "");
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

  /**
   * Sends one signed request; answers other than 2xx (and those in `accept`) are thrown as
   * target errors, an abort as the signal's reason.
   */
  async #send(
    action: string,
    key: string,
    method: "GET" | "HEAD" | "PUT" | "DELETE",
    fullKey: string | undefined,
    options: Parameters<S3Http["request"]>[3] & { accept?: number[] } = {},
  ): Promise<Response> {
    let response: Response;
    try {
      response = await this.#http!.request(method, this.#bucket, fullKey, options);
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      throw this.#error(error, action, key);
    }
    if (response.ok || options.accept?.includes(response.status)) return response;
    // A HEAD answer has no body to name the error: its status has to do.
    const error = method === "HEAD"
      ? new S3ResponseError(
        response.status,
        response.status === 404 ? "NotFound" : `Http${response.status}`,
        `The store answered ${response.status}`,
      )
      : errorFrom(response.status, await response.text());
    if (method === "HEAD") await response.body?.cancel();
    throw this.#error(error, action, key);
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
    if (this.#http) {
      const response = await this.#send("Loading", key, "GET", fullKey, {
        headers: { range },
        signal,
        accept: [416],
      });
      if (response.status === 416) {
        await response.body?.cancel();
        await this.stat(key);
        return emptyStream();
      }
      // Some stores ignore a range (or part of it): cut the answer to the asked bytes.
      const start = ranged && response.status !== 206 ? offset : 0;
      return slice(response.body ?? emptyStream(), start, length);
    }
    const { s3, client } = await this.#useSdk();
    try {
      const response = await client.send(
        new s3.GetObjectCommand({ Bucket: this.#bucket, Key: fullKey, Range: range }),
        { abortSignal: signal },
      );
      if (!response.Body) throw new TargetError(`S3 returned no body for "${key}"`);
      const stream = response.Body.transformToWebStream() as ReadableStream<Uint8Array>;
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
    const fullKey = this.#key(key);
    if (this.#http) {
      const response = await this.#send("Reading", key, "HEAD", fullKey);
      await response.body?.cancel();
      const modified = response.headers.get("last-modified");
      return {
        key,
        size: Number(response.headers.get("content-length") ?? 0),
        lastModified: modified ? new Date(modified) : undefined,
      };
    }
    const { s3, client } = await this.#useSdk();
    try {
      const head = await client.send(
        new s3.HeadObjectCommand({ Bucket: this.#bucket, Key: fullKey }),
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
      const page = await this.#listPage(prefix, token, options.signal);
      for (const item of page.items) {
        if (!item.key.startsWith(this.#prefix)) continue;
        yield { ...item, key: item.key.slice(this.#prefix.length) };
      }
      token = page.truncated ? page.token : undefined;
      if (page.truncated && !token) {
        throw new TargetError(`Listing "${prefix}" on ${this.location} stopped without a token`);
      }
    } while (token);
  }

  async #listPage(
    prefix: string,
    token: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<{ items: ObjectInfo[]; truncated: boolean; token?: string }> {
    if (this.#http) {
      const response = await this.#send("Listing", prefix, "GET", undefined, {
        query: {
          "list-type": "2",
          prefix: this.#prefix + prefix || undefined,
          "continuation-token": token,
        },
        signal,
      });
      const xml = await response.text();
      return {
        items: xmlBlocks(xml, "Contents").flatMap((item) => {
          const key = xmlValue(item, "Key");
          if (key === undefined) return [];
          const modified = xmlValue(item, "LastModified");
          return [{
            key,
            size: Number(xmlValue(item, "Size") ?? 0),
            lastModified: modified ? new Date(modified) : undefined,
          }];
        }),
        truncated: xmlValue(xml, "IsTruncated") === "true",
        token: xmlValue(xml, "NextContinuationToken"),
      };
    }
    const { s3, client } = await this.#useSdk();
    let page;
    try {
      page = await client.send(
        new s3.ListObjectsV2Command({
          Bucket: this.#bucket,
          Prefix: this.#prefix + prefix,
          ContinuationToken: token,
        }),
        { abortSignal: signal },
      );
    } catch (error) {
      throw this.#error(error, "Listing", prefix);
    }
    return {
      items: (page.Contents ?? []).flatMap((item) =>
        item.Key === undefined
          ? []
          : [{ key: item.Key, size: item.Size ?? 0, lastModified: item.LastModified }]
      ),
      truncated: page.IsTruncated === true,
      token: page.NextContinuationToken,
    };
  }

  async remove(key: string): Promise<void> {
    const fullKey = this.#key(key);
    try {
      if (this.#http) {
        const response = await this.#send("Removing", key, "DELETE", fullKey);
        await response.body?.cancel();
        return;
      }
      const { s3, client } = await this.#useSdk();
      try {
        await client.send(new s3.DeleteObjectCommand({ Bucket: this.#bucket, Key: fullKey }));
      } catch (error) {
        throw this.#error(error, "Removing", key);
      }
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
    }
  }

  async close(): Promise<void> {
    await this.#http?.close();
    if (!this.#sdk) return;
    const { client } = await this.#sdk.catch(() => ({ client: undefined }));
    if (this.#ownsClient) client?.destroy();
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
