/**
 * Posting JSON to a webhook with retries: exponential backoff with jitter on 429, 5xx and
 * network errors, honouring `Retry-After`, within a bounded total time. Never throws: the
 * outcome says what happened.
 *
 * @module
 */

/** How hard to try. */
export interface RetryOptions {
  /** Most attempts in all (default 5). */
  attempts?: number;
  /** First backoff delay (default 500 ms), doubled each time, with full jitter. */
  baseDelayMs?: number;
  /** Longest single delay (default 8 s). */
  maxDelayMs?: number;
  /** Total time allowed, waits included (default 30 s). */
  deadlineMs?: number;
  /** Time allowed for one request (default 10 s). */
  timeoutMs?: number;
  /** For tests. */
  fetch?: typeof fetch;
  /** For tests. */
  sleep?: (ms: number) => Promise<void>;
}

/** What happened to one delivery. */
export interface DeliveryOutcome {
  ok: boolean;
  attempts: number;
  /** The last HTTP status seen, if any. */
  status?: number;
  /**
   * Why it failed: the status and its standard name, or the network error, never the response
   * body and never the URL's path or query (still scrub it of the configuration's secrets).
   */
  error?: string;
}

import { scrubUrl } from "./scrub.ts";
import { retry } from "../util/retry.ts";

/** Parses Retry-After (seconds, or an HTTP date) into milliseconds from now. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** True for statuses worth trying again: rate limited or a server error. */
export function retryable(status: number): boolean {
  return status === 429 || status === 408 || status >= 500;
}

/** One delivery attempt, and whether (and when) another is worth it. */
interface Attempt extends DeliveryOutcome {
  again: boolean;
  retryAfterMs?: number;
}

/**
 * POSTs `body` as JSON to `url`, retrying as {@link RetryOptions} say, under the one retry
 * policy (`util/retry.ts`): full jitter, the answer's `Retry-After` in place of the backoff.
 */
export async function postJson(
  url: string,
  body: unknown,
  options: RetryOptions = {},
): Promise<DeliveryOutcome> {
  const doFetch = options.fetch ?? fetch;
  const sleep = options.sleep;
  const payload = JSON.stringify(body);
  const last = await retry<Attempt>(
    {
      attempts: options.attempts ?? 5,
      baseDelayMs: options.baseDelayMs ?? 500,
      maxDelayMs: options.maxDelayMs ?? 8_000,
      jitter: "full",
      deadlineMs: options.deadlineMs ?? 30_000,
    },
    async (attempt, remaining) => {
      if (remaining <= 0) return { ok: false, attempts: attempt - 1, again: false };
      try {
        const response = await doFetch(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: payload,
          signal: AbortSignal.timeout(Math.min(options.timeoutMs ?? 10_000, remaining)),
        });
        const status = response.status;
        // The body is never kept: an endpoint may echo the secret URL in it. At most one of
        // Slack's documented error codes, read from a bounded prefix, names the problem.
        const code = slackErrorCode(await readPrefix(response, 256));
        if (response.ok) return { ok: true, attempts: attempt, status, again: false };
        return {
          ok: false,
          attempts: attempt,
          status,
          error: `${describeStatus(status)}${code ? `: ${code}` : ""}`,
          again: retryable(status),
          retryAfterMs: parseRetryAfter(response.headers.get("retry-after")),
        };
      } catch (caught) {
        // Fetch errors quote the URL they failed on.
        return {
          ok: false,
          attempts: attempt,
          error: scrubUrl(describe(caught), url),
          again: true,
        };
      }
    },
    {
      retryResult: (outcome) => outcome.again && { afterMs: outcome.retryAfterMs },
      outOfTime: (outcome, wait) => ({
        ...outcome,
        error: outcome.error +
          (wait.asked
            ? `; asked to retry after ${Math.ceil(wait.ms / 1000)} s, beyond the time allowed`
            : "; out of time"),
      }),
      sleep: sleep && ((ms) => sleep(ms)),
    },
  );
  const { again: _again, retryAfterMs: _retryAfterMs, ...outcome } = last;
  return outcome;
}

/** Standard names of the statuses a webhook answers (never the server's own reason phrase). */
const STATUS_NAMES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  410: "Gone",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/** `HTTP 404 Not Found`: a status and its standard name. */
export function describeStatus(status: number): string {
  const name = STATUS_NAMES[status];
  return `HTTP ${status}${name ? ` ${name}` : ""}`;
}

/** The error codes Slack's incoming webhooks answer with, as their whole body. */
const SLACK_ERROR_CODES = new Set([
  "invalid_payload",
  "invalid_token",
  "no_service",
  "no_service_id",
  "no_team",
  "team_disabled",
  "no_text",
  "invalid_blocks",
  "invalid_blocks_format",
  "too_many_attachments",
  "channel_not_found",
  "channel_is_archived",
  "action_prohibited",
  "posting_to_general_channel_denied",
  "user_not_found",
  "rate_limited",
  "service_unavailable",
]);

/** One of Slack's known error codes when that is the whole body; undefined otherwise. */
export function slackErrorCode(body: string): string | undefined {
  const text = body.trim();
  return SLACK_ERROR_CODES.has(text) ? text : undefined;
}

/** Reads at most `limit` bytes of a response body and lets go of the rest. */
async function readPrefix(response: Response, limit: number): Promise<string> {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch {
    return "";
  } finally {
    await reader.cancel().catch(() => {});
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes.subarray(0, limit));
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : "";
  return `${error.name}: ${error.message}${cause}`;
}
