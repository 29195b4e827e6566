/**
 * The one S3 client: Signature Version 4 over the runtime's `fetch` (uploads over
 * `node:http`), each request retried under the one retry policy (`util/retry.ts`), answers
 * read with an XML parser (`s3_xml.ts`). Every S3 request of the engine goes through it: the
 * S3 target (`s3_target.ts`: single and multipart uploads, ranged GETs, heads, listings,
 * deletes), the Storage reader (`storage/source.ts`: buckets, listings, ranged GETs) and the
 * Storage writer of restores (`storage/destination.ts`: bucket creation, heads, streamed and
 * multipart uploads with metadata).
 *
 * Why not the AWS SDK, which did part of this before: a snapshot is thousands of small
 * requests, and in Deno the SDK's middleware stack over `node:http` costs about 0.7 ms of CPU
 * per request against 0.2 ms for a signed `fetch` (measured), on the one thread that also
 * reads, hashes and uploads; loading it costs about 30 MB of memory; and it hashes every upload
 * body again to sign it, where callers here pass the hash they already have. What the SDK still
 * does is find credentials when none are configured ({@link awsCredentialChain}: environment,
 * shared files, instance roles), loaded only then: this module is the one place it is used.
 *
 * Why uploads go through `node:http`: Deno 2.9's `fetch` copies a request body before sending
 * it (a `Uint8Array` into a fresh buffer, a `Blob` into the runtime and back out in one
 * piece), and the copies are freed late; with a few 8 MiB bodies in flight that held 200 to
 * 600 MB more memory than the bodies themselves (measured). `node:http` writes from the
 * caller's buffer, with the `Content-Length` an S3 store requires (a stream body sent by
 * `fetch` goes out chunked, without it), and streams a body of known length as it is read.
 *
 * @module
 */
import { createHash, createHmac } from "node:crypto";
import type { Agent as HttpAgent, ClientRequest, IncomingMessage } from "node:http";
import { retry, type RetryPolicy } from "../util/retry.ts";
import {
  completeMultipartXml,
  normalizeEtag,
  parseBucketNames,
  parseError,
  parseListPage,
  parseUploadId,
  type S3ListedObject,
} from "./s3_xml.ts";

export { normalizeEtag, type S3ListedObject } from "./s3_xml.ts";

/** Credentials to sign with. */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** Temporary credentials' session token (sent and signed as `x-amz-security-token`). */
  sessionToken?: string;
}

/** How to reach and sign for an S3 endpoint. */
export interface S3HttpSettings {
  /** Base URL, possibly with a path (Supabase: `https://<ref>.storage.supabase.co/storage/v1/s3`). */
  endpoint: string;
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  /**
   * Where credentials come from when no access key id is given (for example
   * {@link awsCredentialChain}); without either, requests go unsigned.
   */
  credentials?: () => Promise<S3Credentials>;
  /**
   * Address a bucket as a host name (`<bucket>.<endpoint host>`, as AWS S3 prefers) rather
   * than as the first path segment (default: path-style).
   */
  virtualHosted?: boolean;
  /**
   * The `fetch` to send with (tests put a fault in between). When given, it sends uploads too
   * (their bodies as a `Blob`), instead of `node:http`.
   */
  fetch?: typeof fetch;
}

/** Options of one request. */
export interface S3RequestOptions {
  query?: Record<string, string | undefined>;
  /** Header values as text: beyond ASCII they go out as their UTF-8 bytes (user metadata). */
  headers?: Record<string, string | undefined>;
  /** The request body (uploads); it is sent again as it is when the request is retried. */
  body?: Uint8Array;
  /**
   * SHA-256 of `body`, lowercase hex, signed as `x-amz-content-sha256`: AWS S3 and most
   * compatible stores reject a body that does not hash to it. Required with a body.
   */
  payloadHash?: string;
  signal?: AbortSignal;
}

/** What the headers of a HEAD or GET answer say about an object. */
export interface S3ObjectHead {
  /** `Content-Length` (of a ranged answer: of the range). */
  size: number;
  /** ETag without quotes. */
  etag: string;
  /** ISO 8601, when the store said. */
  lastModified?: string;
  contentType?: string;
  cacheControl?: string;
  contentEncoding?: string;
  contentDisposition?: string;
  /** User metadata (`x-amz-meta-*`), names without the prefix. */
  metadata: Record<string, string>;
}

/** Options of {@link S3Http.upload}. */
export interface S3UploadOptions {
  /** Headers of the object (content type, `x-amz-meta-*`…), sent with its first request. */
  headers?: Record<string, string | undefined>;
  /** Size of each part of a multipart upload, in bytes (at least 5 MiB; default 8 MiB). */
  partSize?: number;
  /** Parts uploaded at once (default 2); memory is about (queueSize + 1) × partSize. */
  queueSize?: number;
  signal?: AbortSignal;
}

/** An error the S3 endpoint answered with. */
export class S3ResponseError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
    this.name = "S3ResponseError";
  }

  /** The status where the AWS SDK's errors keep it, so retry policies read both alike. */
  get $metadata(): { httpStatusCode: number } {
    return { httpStatusCode: this.status };
  }
}

/** Each request: 4 attempts, waiting 100, 400 and 1,600 ms (network errors, 5xx and 429). */
export const S3_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 100, factor: 4 };

/** Smallest part S3 accepts in a multipart upload (but the last). */
export const MIN_PART_SIZE = 5 * 1024 * 1024;

/** The SHA-256 of an empty payload: requests without a body sign it (as the AWS SDK does). */
const EMPTY_PAYLOAD = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
/** Signed for a streamed body, whose hash is known only at its end (as the AWS SDK does). */
const UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";
/** An upload connection silent this long is given up (the AWS SDK's request timeout). */
const UPLOAD_IDLE_MS = 120_000;

/** RFC 3986 encoding, as SigV4 wants it. */
export function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** Signs and sends requests to an S3 endpoint. */
export class S3Http {
  readonly #base: URL;
  readonly #region: string;
  readonly #fetch: typeof fetch;
  readonly #uploadsByFetch: boolean;
  /** Keep-alive connections for uploads, made on the first one. */
  #agent: Promise<HttpAgent> | undefined;
  #signingScope = "";
  #signingKey: Uint8Array | undefined;

  constructor(private readonly settings: S3HttpSettings) {
    this.#base = new URL(settings.endpoint.replace(/\/+$/, ""));
    this.#region = settings.region ?? "us-east-1";
    this.#fetch = settings.fetch ?? fetch;
    this.#uploadsByFetch = settings.fetch !== undefined;
  }

  /** Closes the idle upload connections. */
  async close(): Promise<void> {
    const agent = await this.#agent?.catch(() => undefined);
    agent?.destroy();
    this.#agent = undefined;
  }

  /**
   * Sends a signed request for `bucket` (and `key`), retrying network errors and 5xx/429
   * answers under {@link S3_RETRY}. Resolves with any other response (or the last one); the
   * caller checks its status.
   */
  async request(
    method: "GET" | "HEAD" | "PUT" | "POST" | "DELETE",
    bucket: string | undefined,
    key: string | undefined,
    options: S3RequestOptions = {},
  ): Promise<Response> {
    if (options.body && !options.payloadHash) {
      throw new TypeError("A request with a body needs the body's SHA-256 (payloadHash)");
    }
    return await retry(S3_RETRY, () => this.#send(method, bucket, key, options), {
      retryError: () => true,
      retryResult: (response) => response.status >= 500 || response.status === 429,
      discard: (response) => response.body?.cancel(),
      signal: options.signal,
    });
  }

  /** Like {@link request}, then reads the answer whole as text, throwing for error statuses. */
  async text(
    bucket: string | undefined,
    key: string | undefined,
    options: S3RequestOptions = {},
  ): Promise<string> {
    const response = await this.request("GET", bucket, key, options);
    const body = await response.text();
    if (!response.ok) throw errorFrom(response.status, body);
    return body;
  }

  /** Names of every bucket the credentials see, in the endpoint's order. */
  async listBuckets(options: { signal?: AbortSignal } = {}): Promise<string[]> {
    return parseBucketNames(await this.text(undefined, undefined, options));
  }

  /** Creates a bucket; succeeds when the caller owns it already. */
  async createBucket(bucket: string): Promise<void> {
    const response = await this.request("PUT", bucket, undefined);
    if (response.ok) return void await response.body?.cancel();
    const error = errorFrom(response.status, await response.text());
    if (error.code !== "BucketAlreadyOwnedByYou" && error.code !== "BucketAlreadyExists") {
      throw error;
    }
  }

  /**
   * Every object of a bucket under `prefix`, in the endpoint's order, following continuation
   * tokens until the listing is complete. `startAfter` begins after a key (exclusive).
   */
  async *listObjects(
    bucket: string,
    options: { prefix?: string; startAfter?: string; pageSize?: number; signal?: AbortSignal } = {},
  ): AsyncIterable<S3ListedObject> {
    let token: string | undefined;
    do {
      const page = parseListPage(
        await this.text(bucket, undefined, {
          query: {
            "list-type": "2",
            prefix: options.prefix || undefined,
            "max-keys": options.pageSize === undefined ? undefined : String(options.pageSize),
            "continuation-token": token,
            "start-after": token ? undefined : options.startAfter,
          },
          signal: options.signal,
        }),
      );
      yield* page.objects;
      if (page.truncated && !page.token) {
        throw new Error(`Listing of bucket "${bucket}" was truncated without a continuation token`);
      }
      token = page.token;
    } while (token);
  }

  /** The head of an object, or undefined when there is none (HTTP 404). */
  async headObject(
    bucket: string,
    key: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<S3ObjectHead | undefined> {
    const response = await this.request("HEAD", bucket, key, options);
    await response.body?.cancel();
    if (response.status === 404) return undefined;
    if (!response.ok) throw headError(response.status);
    return objectHead(response.headers);
  }

  /** Deletes an object; a missing one is fine. */
  async deleteObject(bucket: string, key: string): Promise<void> {
    const response = await this.request("DELETE", bucket, key);
    const body = await response.text();
    if (response.ok || response.status === 404) return;
    throw errorFrom(response.status, body);
  }

  /** One PUT of bytes in memory; answers the store's response headers (its ETag). */
  async putObject(
    bucket: string,
    key: string,
    body: Uint8Array,
    options: Omit<S3RequestOptions, "body" | "query"> & { payloadHash: string },
  ): Promise<Headers> {
    const response = await this.request("PUT", bucket, key, { ...options, body });
    return await expectOk(response);
  }

  /**
   * One PUT of a stream of `length` bytes, sent as it is read (`UNSIGNED-PAYLOAD`: its hash is
   * known only at its end). Never retried: a stream cannot be read twice. A body that errors
   * or turns out shorter or longer than `length` ends the request, with the body's error or
   * an error saying so, and the store keeps nothing.
   */
  async putObjectStream(
    bucket: string,
    key: string,
    body: ReadableStream<Uint8Array>,
    options: { length: number; headers?: Record<string, string | undefined>; signal?: AbortSignal },
  ): Promise<Headers> {
    const request = await this.#sign("PUT", bucket, key, {
      headers: options.headers,
      payloadHash: UNSIGNED_PAYLOAD,
      signal: options.signal,
    });
    const response = this.#uploadsByFetch
      ? await this.#fetch(
        new Request(request, { body: await gather(body, options.length, key) }),
      )
      : await this.#streamUpload(request, body, options.length, key, options.signal);
    return await expectOk(response);
  }

  /**
   * Uploads a stream: in one PUT when it fits in one part, else as a multipart upload whose
   * parts are read into buffers of `partSize` and uploaded `queueSize` at a time, each signed
   * with its SHA-256. A failure (the body's, a part's, an abort) aborts the multipart upload
   * once the parts in flight have finished, so the store keeps nothing; the previous object
   * under the key stays untouched until the upload completes.
   */
  async upload(
    bucket: string,
    key: string,
    body: ReadableStream<Uint8Array>,
    options: S3UploadOptions = {},
  ): Promise<void> {
    const partSize = Math.max(MIN_PART_SIZE, options.partSize ?? 8 * 1024 * 1024);
    const parts = new PartReader(body, partSize);
    const { signal, headers } = options;
    try {
      const first = await parts.next();
      const second = first.length === partSize ? await parts.next() : new Uint8Array(0);
      if (second.length === 0) {
        signal?.throwIfAborted();
        await this.putObject(bucket, key, first, {
          headers,
          payloadHash: sha256Hex(first),
          signal,
        });
        return;
      }
      await this.#multipart(bucket, key, [first, second], parts, {
        ...options,
        queueSize: Math.max(1, options.queueSize ?? 2),
      });
    } catch (error) {
      await parts.cancel(error);
      throw error;
    }
  }

  async #multipart(
    bucket: string,
    key: string,
    read: Uint8Array[],
    parts: PartReader,
    options: S3UploadOptions & { queueSize: number },
  ): Promise<void> {
    const { signal } = options;
    const created = await this.request("POST", bucket, key, {
      query: { uploads: "" },
      headers: options.headers,
      signal,
    });
    const uploadId = parseUploadId(await expectText(created));
    if (!uploadId) throw new Error(`The S3 endpoint started no multipart upload for "${key}"`);
    const etags: string[] = [];
    const inFlight = new Set<Promise<void>>();
    let failure: { error: unknown } | undefined;
    try {
      let number = 0;
      for (let bytes = read.shift() ?? await parts.next(); bytes.length;) {
        const partNumber = ++number;
        const sent = this.request("PUT", bucket, key, {
          query: { partNumber: String(partNumber), uploadId },
          body: bytes,
          payloadHash: sha256Hex(bytes),
          signal,
        }).then(expectOk)
          .then((headers) => void (etags[partNumber - 1] = headers.get("etag") ?? ""))
          .catch((error) => void (failure ??= { error }))
          .finally(() => inFlight.delete(sent));
        inFlight.add(sent);
        while (inFlight.size >= options.queueSize && !failure) await Promise.race(inFlight);
        if (failure) throw failure.error;
        bytes = read.shift() ?? await parts.next();
      }
      await Promise.all(inFlight);
      if (failure) throw failure.error;
      signal?.throwIfAborted();
      const xml = new TextEncoder().encode(completeMultipartXml(etags));
      const completed = await this.request("POST", bucket, key, {
        query: { uploadId },
        headers: { "content-type": "application/xml" },
        body: xml,
        payloadHash: sha256Hex(xml),
        signal,
      });
      // S3 may answer 200 and still report an error in the body.
      const error = parseError(await expectText(completed));
      if (error) {
        throw new S3ResponseError(500, error.code ?? "InternalError", describe(error, 500));
      }
    } catch (error) {
      // Parts in flight finish first: aborting under them could leave one stored.
      await Promise.allSettled(inFlight);
      const aborted = await this.request("DELETE", bucket, key, { query: { uploadId } })
        .catch(() => undefined);
      await aborted?.body?.cancel();
      throw error;
    }
  }

  async #send(
    method: string,
    bucket: string | undefined,
    key: string | undefined,
    options: S3RequestOptions,
  ): Promise<Response> {
    const request = await this.#sign(method, bucket, key, options);
    if (options.body && !this.#uploadsByFetch) {
      return await this.#upload(request, options.body, options.signal);
    }
    return await this.#fetch(
      options.body
        ? new Request(request, { body: new Blob([options.body as Uint8Array<ArrayBuffer>]) })
        : request,
    );
  }

  async #credentials(): Promise<S3Credentials | undefined> {
    const { accessKeyId, secretAccessKey, sessionToken, credentials } = this.settings;
    if (accessKeyId !== undefined) {
      return { accessKeyId, secretAccessKey: secretAccessKey ?? "", sessionToken };
    }
    return await credentials?.();
  }

  async #sign(
    method: string,
    bucket: string | undefined,
    key: string | undefined,
    options: S3RequestOptions,
  ): Promise<Request> {
    const credentials = await this.#credentials();
    const hosted = this.settings.virtualHosted && bucket !== undefined;
    const host = hosted ? `${bucket}.${this.#base.host}` : this.#base.host;
    const basePath = this.#base.pathname === "/" ? "" : this.#base.pathname;
    const segments = [hosted ? undefined : bucket, ...(key === undefined ? [] : key.split("/"))]
      .filter((s): s is string => s !== undefined);
    const path = `${basePath}/${segments.map(uriEncode).join("/")}`;
    const query = canonicalQuery(options.query ?? {});
    const headers = new Headers();
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      if (value !== undefined) headers.set(name, headerValue(value));
    }
    const payloadHash = options.payloadHash ?? EMPTY_PAYLOAD;
    const date = amzDate(new Date());
    const signed: Record<string, string> = {
      host,
      "x-amz-content-sha256": payloadHash,
      "x-amz-date": date,
    };
    if (credentials?.sessionToken) signed["x-amz-security-token"] = credentials.sessionToken;
    for (const [name, value] of Object.entries(signed)) {
      if (name !== "host") headers.set(name, value);
    }
    if (credentials) {
      headers.set(
        "authorization",
        authorization({
          method,
          path,
          query,
          signed,
          payloadHash,
          region: this.#region,
          accessKeyId: credentials.accessKeyId,
          signingKey: this.#key(credentials.secretAccessKey, date.slice(0, 8)),
        }),
      );
    }
    const url = `${this.#base.protocol}//${host}${path}${query ? `?${query}` : ""}`;
    return new Request(url, { method, headers, signal: options.signal });
  }

  /** The upload connections' module and agent (`node:https` for an https endpoint). */
  async #http(url: string) {
    const http = url.startsWith("https:") ? await import("node:https") : await import("node:http");
    this.#agent ??= Promise.resolve(new http.Agent({ keepAlive: true }));
    return { http, agent: await this.#agent };
  }

  /**
   * Sends a signed request with `body` over `node:http(s)`, written from the caller's buffer;
   * the answer (small for an upload) is read whole. The caller may reuse `body` once this
   * resolves: the store answered, so it had every byte.
   */
  async #upload(request: Request, body: Uint8Array, signal?: AbortSignal): Promise<Response> {
    const outgoing = await this.#outgoing(request, body.byteLength, signal);
    const answer = answerOf(outgoing);
    outgoing.end(body);
    return await responseOf(await answer, request.method);
  }

  /** Like {@link #upload}, writing the body as it is read, with backpressure. */
  async #streamUpload(
    request: Request,
    body: ReadableStream<Uint8Array>,
    length: number,
    key: string,
    signal?: AbortSignal,
  ): Promise<Response> {
    const reader = body.getReader();
    let outgoing: ClientRequest | undefined;
    try {
      outgoing = await this.#outgoing(request, length, signal);
      const answer = answerOf(outgoing);
      answer.catch(() => {}); // Awaited below, or the write fails first.
      let sent = 0;
      while (true) {
        const { done, value } = await reader.read();
        if (done) break;
        sent += value.byteLength;
        if (sent > length) throw new Error(`The body of "${key}" is longer than ${length} bytes`);
        if (!outgoing.write(value)) await drained(outgoing);
      }
      if (sent < length) {
        throw new Error(`The body of "${key}" ended after ${sent} of its ${length} bytes`);
      }
      outgoing.end();
      return await responseOf(await answer, request.method);
    } catch (error) {
      outgoing?.destroy(error as Error);
      await reader.cancel(error).catch(() => {});
      throw error;
    }
  }

  async #outgoing(request: Request, length: number, signal?: AbortSignal): Promise<ClientRequest> {
    const { http, agent } = await this.#http(request.url);
    const headers: Record<string, string> = { "content-length": String(length) };
    request.headers.forEach((value, name) => headers[name] = value);
    const outgoing = http.request(request.url, { method: request.method, headers, agent, signal });
    outgoing.setTimeout(UPLOAD_IDLE_MS, () => {
      outgoing.destroy(new Error(`The S3 endpoint did not answer for ${UPLOAD_IDLE_MS / 1000} s`));
    });
    return outgoing;
  }

  #key(secretAccessKey: string, day: string): Uint8Array {
    const scope = `${day}\n${secretAccessKey}`;
    if (this.#signingScope !== scope || !this.#signingKey) {
      this.#signingKey = signingKey(secretAccessKey, day, this.#region);
      this.#signingScope = scope;
    }
    return this.#signingKey;
  }
}

/**
 * The AWS SDK's default credential chain (environment, shared config and credentials files,
 * container and instance roles), for stores configured without keys. The SDK is loaded on the
 * first request that needs it; the chain caches what it found and refreshes it before it
 * expires.
 */
export function awsCredentialChain(region: string): () => Promise<S3Credentials> {
  let provider: Promise<() => Promise<S3Credentials>> | undefined;
  return async () => {
    provider ??= import("@aws-sdk/client-s3").then(({ S3Client }) => {
      const client = new S3Client({ region });
      return () => client.config.credentials();
    });
    const found = await (await provider)();
    return {
      accessKeyId: found.accessKeyId,
      secretAccessKey: found.secretAccessKey,
      sessionToken: found.sessionToken,
    };
  };
}

/** Reads an object's head from the headers of a HEAD or GET answer. */
export function objectHead(headers: Headers): S3ObjectHead {
  const optional = (name: string) => {
    const value = headers.get(name);
    return value === null ? undefined : headerText(value);
  };
  const metadata: Record<string, string> = {};
  headers.forEach((value, name) => {
    if (name.startsWith("x-amz-meta-")) {
      metadata[name.slice("x-amz-meta-".length)] = headerText(value);
    }
  });
  const modified = headers.get("last-modified");
  return {
    size: Number(headers.get("content-length") ?? 0),
    etag: normalizeEtag(headers.get("etag")),
    lastModified: modified ? new Date(modified).toISOString() : undefined,
    contentType: optional("content-type"),
    cacheControl: optional("cache-control"),
    contentEncoding: optional("content-encoding"),
    contentDisposition: optional("content-disposition"),
    metadata,
  };
}

/** `20130524T000000Z`, as SigV4 dates are written. */
export function amzDate(date: Date): string {
  return date.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

/** The canonical query string: names and values RFC 3986-encoded, sorted by name then value. */
export function canonicalQuery(query: Record<string, string | undefined>): string {
  return Object.entries(query)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => [uriEncode(name), uriEncode(value)])
    .sort(([a, x], [b, y]) => a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0)
    .map(([name, value]) => `${name}=${value}`)
    .join("&");
}

/** The SigV4 signing key of a day and region, for S3. */
export function signingKey(secretAccessKey: string, day: string, region: string): Uint8Array {
  const hmac = (key: string | Uint8Array, data: string) =>
    createHmac("sha256", key).update(data).digest();
  return hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, day), region), "s3"), "aws4_request");
}

/**
 * The SigV4 `Authorization` header of a request. `path` is the canonical (encoded) path,
 * `query` the canonical query string, `signed` the headers to sign (lowercase names), one of
 * them `x-amz-date`.
 */
export function authorization(input: {
  method: string;
  path: string;
  query: string;
  signed: Record<string, string>;
  payloadHash: string;
  region: string;
  accessKeyId: string;
  signingKey: Uint8Array;
}): string {
  const names = Object.keys(input.signed).sort();
  const date = input.signed["x-amz-date"];
  const canonical = [
    input.method,
    input.path,
    input.query,
    names.map((name) => `${name}:${input.signed[name].trim()}\n`).join(""),
    names.join(";"),
    input.payloadHash,
  ].join("\n");
  const scope = `${date.slice(0, 8)}/${input.region}/s3/aws4_request`;
  const toSign = [
    "AWS4-HMAC-SHA256",
    date,
    scope,
    createHash("sha256").update(canonical).digest("hex"),
  ].join("\n");
  const signature = createHmac("sha256", input.signingKey).update(toSign).digest("hex");
  return `AWS4-HMAC-SHA256 Credential=${input.accessKeyId}/${scope}, ` +
    `SignedHeaders=${names.join(";")}, Signature=${signature}`;
}

/** Turns an S3 error answer into an {@link S3ResponseError} (code and message from its XML). */
export function errorFrom(status: number, body: string): S3ResponseError {
  const parsed = parseError(body);
  const code = parsed?.code ?? (status === 404 ? "NotFound" : `Http${status}`);
  return new S3ResponseError(status, code, `${code}: ${describe(parsed, status)}`);
}

/** The error of a HEAD answer, which has no body to name it: its status has to do. */
export function headError(status: number): S3ResponseError {
  return new S3ResponseError(
    status,
    status === 404 ? "NotFound" : `Http${status}`,
    `The store answered ${status}`,
  );
}

function describe(error: { message?: string } | undefined, status: number): string {
  return error?.message ?? `The S3 endpoint answered ${status}`;
}

/** The headers of a successful answer (its body let go), or its error. */
async function expectOk(response: Response): Promise<Headers> {
  if (!response.ok) throw errorFrom(response.status, await response.text());
  await response.body?.cancel();
  return response.headers;
}

/** The body of a successful answer, or its error. */
async function expectText(response: Response): Promise<string> {
  const body = await response.text();
  if (!response.ok) throw errorFrom(response.status, body);
  return body;
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const encodeUtf8 = new TextEncoder();

/** Header values arrive as Latin-1 code units; UTF-8 text is decoded back when valid. */
function headerText(value: string): string {
  let high = false;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code > 0xff) return value;
    if (code >= 0x80) high = true;
  }
  if (!high) return value;
  try {
    return utf8.decode(Uint8Array.from(value, (c) => c.charCodeAt(0)));
  } catch {
    return value;
  }
}

/** The inverse of {@link headerText}: text beyond ASCII goes out as its UTF-8 bytes. */
function headerValue(value: string): string {
  // deno-lint-ignore no-control-regex
  if (/^[\x00-\x7f]*$/.test(value)) return value;
  return String.fromCharCode(...encodeUtf8.encode(value));
}

/** The answer to a `node:http` request, or its error. */
function answerOf(outgoing: ClientRequest): Promise<IncomingMessage> {
  return new Promise<IncomingMessage>((resolve, reject) => {
    outgoing.once("response", resolve);
    outgoing.once("error", reject);
  });
}

/** A `node:http` answer as a `Response`, its (small) body read whole. */
async function responseOf(answer: IncomingMessage, method: string): Promise<Response> {
  const pieces: Uint8Array[] = [];
  for await (const piece of answer) pieces.push(piece);
  const status = answer.statusCode ?? 500;
  const answered = new Headers();
  for (const [name, value] of Object.entries(answer.headers)) {
    if (value !== undefined) answered.set(name, Array.isArray(value) ? value.join(", ") : value);
  }
  const empty = status === 204 || status === 304 || method === "HEAD";
  return new Response(empty ? null : new Blob(pieces as Uint8Array<ArrayBuffer>[]), {
    status,
    headers: answered,
  });
}

/** Waits until a `node:http` request can take more, or fails with it. */
function drained(outgoing: ClientRequest): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: unknown) => {
      outgoing.off("drain", onDrain);
      outgoing.off("error", onError);
      outgoing.off("close", onClose);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => done();
    const onError = (error: Error) => done(error);
    const onClose = () =>
      done(new Error("The connection to the S3 endpoint closed during an upload"));
    outgoing.once("drain", onDrain);
    outgoing.once("error", onError);
    outgoing.once("close", onClose);
  });
}

/** A stream of `length` bytes gathered into a `Blob` (uploads through an injected `fetch`). */
async function gather(
  body: ReadableStream<Uint8Array>,
  length: number,
  key: string,
): Promise<Blob> {
  const pieces: Uint8Array<ArrayBuffer>[] = [];
  let size = 0;
  for await (const piece of body) {
    size += piece.byteLength;
    pieces.push(piece.slice());
  }
  if (size !== length) {
    throw new Error(`The body of "${key}" has ${size} bytes where ${length} were declared`);
  }
  return new Blob(pieces);
}

/** Reads a stream in parts of one size (the last one shorter), each in a buffer of its own. */
class PartReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #size: number;
  #left: Uint8Array | undefined;
  #done = false;

  constructor(body: ReadableStream<Uint8Array>, size: number) {
    this.#reader = body.getReader();
    this.#size = size;
  }

  /** The next part; empty at the end. */
  async next(): Promise<Uint8Array> {
    const pieces: Uint8Array[] = [];
    let filled = 0;
    while (filled < this.#size) {
      let chunk = this.#left;
      this.#left = undefined;
      if (!chunk) {
        if (this.#done) break;
        const { done, value } = await this.#reader.read();
        if (done) {
          this.#done = true;
          break;
        }
        chunk = value;
      }
      const take = Math.min(chunk.byteLength, this.#size - filled);
      pieces.push(chunk.subarray(0, take));
      filled += take;
      if (take < chunk.byteLength) this.#left = chunk.subarray(take);
    }
    // One buffer of the part's exact size, so a short stream costs no whole part.
    const part = new Uint8Array(filled);
    let at = 0;
    for (const piece of pieces) {
      part.set(piece, at);
      at += piece.byteLength;
    }
    return part;
  }

  /** Lets go of the source after a failure. */
  async cancel(reason: unknown): Promise<void> {
    if (!this.#done) await this.#reader.cancel(reason).catch(() => {});
  }
}
