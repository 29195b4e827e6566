/**
 * Opening a storage target from a URL.
 *
 * Accepted forms:
 * - `file:///absolute/path`, or a plain absolute or relative path (resolved against the
 *   working directory);
 * - `s3://bucket/optional/prefix?endpoint=http://127.0.0.1:9000&region=us-east-1&path_style=true`.
 *
 * Credentials never travel in a URL: a URL with user info or a secret-looking query parameter
 * is rejected, and they are passed as options by the configuration instead.
 *
 * The one place the engine builds its targets (restic's `wrapBackend`), so production and tests
 * get the same ones. There is no wrapper to apply: retries happen per request inside the S3
 * client (`s3_http.ts`, `util/retry.ts`), where a failed part of an upload is sent again,
 * which a retry of the whole save could not do for a stream; and the callers bound their own
 * concurrency (`util/concurrency.ts`), by bytes where memory is what runs out.
 *
 * @module
 */

import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { FileTarget } from "./file_target.ts";
import { S3Target } from "./s3_target.ts";
import type { StorageTarget } from "./target.ts";
import { TargetError } from "../util/errors.ts";
import { redactUrl } from "../util/redact.ts";

/** S3 settings that do not belong in a target URL, or defaults for those that may. */
export interface S3ConnectionOptions {
  endpoint?: string;
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  forcePathStyle?: boolean;
}

/** Options for {@link openTarget}. */
export interface OpenTargetOptions {
  /** Used for `s3://` URLs; the URL's query parameters take precedence. */
  s3?: S3ConnectionOptions;
}

/** A target URL, parsed and checked, with no I/O done. */
export type TargetSpec =
  | { kind: "file"; path: string }
  | {
    kind: "s3";
    bucket: string;
    prefix: string;
    endpoint?: string;
    region?: string;
    forcePathStyle?: boolean;
  };

const S3_PARAMS = new Set(["endpoint", "region", "path_style", "force_path_style"]);
const SECRET_PARAM = /key|secret|token|password|passwd|credential|signature|session|auth/i;
const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):/;

/**
 * Parses a target URL.
 *
 * @throws {TargetError} for an empty or malformed URL, an unsupported scheme, an invalid bucket,
 * credentials in the URL, or an unknown query parameter
 */
export function parseTargetUrl(url: string): TargetSpec {
  if (typeof url !== "string" || url.trim() === "") {
    throw new TargetError("Target URL is empty");
  }
  const scheme = SCHEME.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) return { kind: "file", path: resolve(url) };
  if (scheme === "file") return parseFileUrl(url);
  if (scheme === "s3") return parseS3Url(url);
  throw new TargetError(`Target URL scheme "${scheme}:" is not supported; use file:// or s3://`);
}

/**
 * Opens the target a URL names.
 *
 * @example
 * ```ts
 * const target = openTarget("s3://backups/prod?endpoint=https://s3.example.test", {
 *   s3: { accessKeyId, secretAccessKey },
 * });
 * ```
 * @throws {TargetError} when the URL is not valid (see {@link parseTargetUrl})
 */
export function openTarget(url: string, options: OpenTargetOptions = {}): StorageTarget {
  const spec = parseTargetUrl(url);
  if (spec.kind === "file") return new FileTarget(spec.path);
  const s3 = options.s3 ?? {};
  if (s3.endpoint !== undefined) checkEndpoint(s3.endpoint, "S3 endpoint option");
  return new S3Target({
    bucket: spec.bucket,
    prefix: spec.prefix,
    endpoint: spec.endpoint ?? s3.endpoint,
    region: spec.region ?? s3.region,
    forcePathStyle: spec.forcePathStyle ?? s3.forcePathStyle,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    sessionToken: s3.sessionToken,
  });
}

function parseFileUrl(url: string): TargetSpec {
  // Refused before parsing, which would quote the whole URL in its error.
  if (/^file:\/\/[^/?#]*@/i.test(url)) {
    throw new TargetError("Target URL must not contain credentials: a file URL names a path");
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TargetError(`Target URL "${redactUrl(url)}" is not a valid file URL`);
  }
  if (parsed.host !== "" && parsed.host !== "localhost") {
    throw new TargetError(`File target URL must not name a host, got "${parsed.host}"`);
  }
  if (parsed.search || parsed.hash) {
    throw new TargetError("File target URL must not have a query or fragment");
  }
  if (parsed.pathname === "" || parsed.pathname === "/") {
    throw new TargetError("File target URL must name a directory below the filesystem root");
  }
  return { kind: "file", path: fileURLToPath(new URL(`file://${parsed.pathname}`)) };
}

function parseS3Url(url: string): TargetSpec {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TargetError("Target URL is not a valid s3:// URL");
  }
  if (parsed.username || parsed.password || /^s3:\/\/[^/?#]*@/i.test(url)) {
    throw new TargetError(
      "Target URL must not contain credentials; pass them through the configuration",
    );
  }
  if (parsed.hash) throw new TargetError("S3 target URL must not have a fragment");
  const bucket = decode(parsed.hostname);
  if (bucket === "") throw new TargetError("S3 target URL must name a bucket: s3://bucket/prefix");
  if (!/^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new TargetError(
      `Bucket name "${bucket}" is not valid: use 3 to 63 lowercase letters, digits, dots, hyphens or underscores`,
    );
  }
  if (parsed.port) throw new TargetError("S3 target URL must not have a port; use ?endpoint=");
  // The raw path, as URL parsing would silently resolve "." and ".." segments.
  const rawPath = url.replace(/^s3:\/\/[^/?#]*/i, "").replace(/[?#].*$/, "");
  const segments = rawPath.split("/").filter((s) => s !== "").map((s) => {
    const segment = decode(s);
    if (segment === "." || segment === ".." || segment.includes("/")) {
      throw new TargetError(`S3 target prefix segment "${segment}" is not allowed`);
    }
    return segment;
  });
  const spec: TargetSpec = { kind: "s3", bucket, prefix: segments.join("/") };
  for (const [name, value] of parsed.searchParams) {
    if (SECRET_PARAM.test(name)) {
      throw new TargetError(
        `Target URL must not carry secrets (parameter "${name}"); pass credentials through the configuration`,
      );
    }
    if (!S3_PARAMS.has(name)) {
      throw new TargetError(
        `Target URL parameter "${name}" is not known; use endpoint, region or path_style`,
      );
    }
    if (name === "endpoint") spec.endpoint = checkEndpoint(value, "S3 endpoint parameter");
    else if (name === "region") {
      if (!/^[a-z0-9-]+$/i.test(value)) {
        throw new TargetError(`S3 region "${value}" is not valid`);
      }
      spec.region = value;
    } else {
      if (value !== "true" && value !== "false") {
        throw new TargetError(`S3 parameter "${name}" must be true or false, got "${value}"`);
      }
      spec.forcePathStyle = value === "true";
    }
  }
  return spec;
}

function checkEndpoint(value: string, what: string): string {
  let endpoint: URL;
  try {
    endpoint = new URL(value);
  } catch {
    throw new TargetError(`${what} must be an absolute http or https URL`);
  }
  if (endpoint.protocol !== "http:" && endpoint.protocol !== "https:") {
    throw new TargetError(`${what} must be an absolute http or https URL`);
  }
  if (endpoint.username || endpoint.password) {
    throw new TargetError(`${what} must not contain credentials`);
  }
  if (endpoint.search || endpoint.hash) {
    throw new TargetError(`${what} must not have a query or fragment`);
  }
  return value;
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new TargetError(`Target URL has a malformed percent-encoding in "${part}"`);
  }
}
