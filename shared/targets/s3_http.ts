/**
 * A small S3 client: Signature Version 4 over the runtime's `fetch`, with retries for
 * transient failures. The Storage engine reads buckets with it (`shared/storage/source.ts`),
 * and the S3 target (`s3_target.ts`) sends its single-request uploads and heads through it.
 *
 * Why not the AWS SDK for these: a snapshot is thousands of small requests, and in Deno the
 * SDK's middleware stack over `node:http` costs about 0.7 ms of CPU per request against 0.2 ms
 * for a signed `fetch` (measured), on the one thread that also reads, hashes and uploads. The
 * SDK also hashes every upload body again to sign it, where callers here pass the hash they
 * already have. `fetch` reads response bodies only as fast as they are consumed.
 *
 * Why uploads go through `node:http` instead: Deno 2.9's `fetch` copies a request body before
 * sending it (a `Uint8Array` into a fresh buffer, a `Blob` into the runtime and back out in
 * one piece), and the copies are freed late; with a few 8 MiB bodies in flight that held 200 to
 * 600 MB more memory than the bodies themselves (measured). `node:http` writes from the
 * caller's buffer, with the `Content-Length` an S3 store requires (a stream body sent by
 * `fetch` goes out chunked, without it).
 *
 * @module
 */
import { createHash, createHmac } from "node:crypto";
import type { Agent as HttpAgent, IncomingMessage } from "node:http";

/** How to reach and sign for an S3 endpoint. */
export interface S3HttpSettings {
  /** Base URL, possibly with a path (Supabase: `https://<ref>.storage.supabase.co/storage/v1/s3`). */
  endpoint: string;
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Temporary credentials' session token (sent and signed as `x-amz-security-token`). */
  sessionToken?: string;
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

/** The SHA-256 of an empty payload: requests without a body sign it (as the AWS SDK does). */
const EMPTY_PAYLOAD = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const RETRIES = [100, 400, 1600];

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
  #signingDay = "";
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
   * answers. Resolves with any other response; the caller checks its status.
   */
  async request(
    method: "GET" | "HEAD" | "PUT" | "DELETE",
    bucket: string | undefined,
    key: string | undefined,
    options: S3RequestOptions = {},
  ): Promise<Response> {
    if (options.body && !options.payloadHash) {
      throw new TypeError("A request with a body needs the body's SHA-256 (payloadHash)");
    }
    for (let attempt = 0;; attempt++) {
      let response: Response | undefined;
      try {
        const request = this.#sign(method, bucket, key, options);
        response = options.body && !this.#uploadsByFetch
          ? await this.#upload(request, options.body, options.signal)
          : await this.#fetch(
            options.body
              ? new Request(request, { body: new Blob([options.body as Uint8Array<ArrayBuffer>]) })
              : request,
          );
      } catch (error) {
        if (options.signal?.aborted) throw options.signal.reason ?? error;
        if (attempt >= RETRIES.length) throw error;
      }
      if (response) {
        if (response.status < 500 && response.status !== 429) return response;
        if (attempt >= RETRIES.length) return response;
        await response.body?.cancel();
      }
      await delay(RETRIES[attempt], options.signal);
    }
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

  #sign(
    method: string,
    bucket: string | undefined,
    key: string | undefined,
    options: S3RequestOptions,
  ): Request {
    const hosted = this.settings.virtualHosted && bucket !== undefined;
    const host = hosted ? `${bucket}.${this.#base.host}` : this.#base.host;
    const basePath = this.#base.pathname === "/" ? "" : this.#base.pathname;
    const segments = [hosted ? undefined : bucket, ...(key === undefined ? [] : key.split("/"))]
      .filter((s): s is string => s !== undefined);
    const path = `${basePath}/${segments.map(uriEncode).join("/")}`;
    const query = canonicalQuery(options.query ?? {});
    const headers = new Headers();
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      if (value !== undefined) headers.set(name, value);
    }
    const payloadHash = options.payloadHash ?? EMPTY_PAYLOAD;
    const date = amzDate(new Date());
    const signed: Record<string, string> = {
      host,
      "x-amz-content-sha256": payloadHash,
      "x-amz-date": date,
    };
    if (this.settings.sessionToken) signed["x-amz-security-token"] = this.settings.sessionToken;
    for (const [name, value] of Object.entries(signed)) {
      if (name !== "host") headers.set(name, value);
    }
    if (this.settings.accessKeyId !== undefined) {
      headers.set(
        "authorization",
        authorization({
          method,
          path,
          query,
          signed,
          payloadHash,
          region: this.#region,
          accessKeyId: this.settings.accessKeyId,
          signingKey: this.#key(date.slice(0, 8)),
        }),
      );
    }
    const url = `${this.#base.protocol}//${host}${path}${query ? `?${query}` : ""}`;
    return new Request(url, { method, headers, signal: options.signal });
  }

  /**
   * Sends a signed request with `body` over `node:http(s)`, written from the caller's buffer;
   * the answer (small for an upload) is read whole. The caller may reuse `body` once this
   * resolves: the store answered, so it had every byte.
   */
  async #upload(request: Request, body: Uint8Array, signal?: AbortSignal): Promise<Response> {
    const secure = request.url.startsWith("https:");
    const http = secure ? await import("node:https") : await import("node:http");
    this.#agent ??= Promise.resolve(new http.Agent({ keepAlive: true }));
    const agent = await this.#agent;
    const headers: Record<string, string> = { "content-length": String(body.byteLength) };
    request.headers.forEach((value, name) => headers[name] = value);
    const answer = await new Promise<IncomingMessage>((resolve, reject) => {
      const outgoing = http.request(request.url, {
        method: request.method,
        headers,
        agent,
        signal,
      });
      outgoing.once("response", resolve);
      outgoing.once("error", reject);
      outgoing.end(body);
    });
    const pieces: Uint8Array[] = [];
    for await (const piece of answer) pieces.push(piece);
    const status = answer.statusCode ?? 500;
    const answered = new Headers();
    for (const [name, value] of Object.entries(answer.headers)) {
      if (value !== undefined) answered.set(name, Array.isArray(value) ? value.join(", ") : value);
    }
    const empty = status === 204 || status === 304 || request.method === "HEAD";
    return new Response(empty ? null : new Blob(pieces as Uint8Array<ArrayBuffer>[]), {
      status,
      headers: answered,
    });
  }

  #key(day: string): Uint8Array {
    if (this.#signingDay !== day || !this.#signingKey) {
      this.#signingKey = signingKey(this.settings.secretAccessKey ?? "", day, this.#region);
      this.#signingDay = day;
    }
    return this.#signingKey;
  }
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
  const code = xmlValue(body, "Code") ?? (status === 404 ? "NotFound" : `Http${status}`);
  const message = xmlValue(body, "Message") ?? `The S3 endpoint answered ${status}`;
  return new S3ResponseError(status, code, `${code}: ${message}`);
}

/** The text of the first `<tag>` in an XML document, entities decoded. */
export function xmlValue(xml: string, tag: string): string | undefined {
  const match = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(xml);
  return match ? decodeXml(match[1]) : undefined;
}

/** Every `<tag>…</tag>` block of an XML document, as raw inner text. */
export function xmlBlocks(xml: string, tag: string): string[] {
  const blocks: string[] = [];
  const pattern = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, "g");
  for (const match of xml.matchAll(pattern)) blocks.push(match[1]);
  return blocks;
}

/** Decodes XML character and entity references. */
export function decodeXml(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_, entity: string) => {
    switch (entity) {
      case "amp":
        return "&";
      case "lt":
        return "<";
      case "gt":
        return ">";
      case "quot":
        return '"';
      case "apos":
        return "'";
      default:
        return String.fromCodePoint(
          entity[1] === "x" ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10),
        );
    }
  });
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}
