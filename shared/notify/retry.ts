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
  /** Why it failed (may quote the URL: scrub before showing). */
  error?: string;
}

const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

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

/** POSTs `body` as JSON to `url`, retrying as {@link RetryOptions} say. */
export async function postJson(
  url: string,
  body: unknown,
  options: RetryOptions = {},
): Promise<DeliveryOutcome> {
  const attempts = options.attempts ?? 5;
  const base = options.baseDelayMs ?? 500;
  const maxDelay = options.maxDelayMs ?? 8_000;
  const deadline = Date.now() + (options.deadlineMs ?? 30_000);
  const doFetch = options.fetch ?? fetch;
  const sleep = options.sleep ?? wait;
  const payload = JSON.stringify(body);
  let status: number | undefined;
  let error = "";
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) return { ok: false, attempts: attempt - 1, status, error };
    let retryAfterMs: number | undefined;
    try {
      const response = await doFetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: payload,
        signal: AbortSignal.timeout(Math.min(options.timeoutMs ?? 10_000, remaining)),
      });
      status = response.status;
      const text = await response.text().catch(() => "");
      if (response.ok) return { ok: true, attempts: attempt, status };
      error = `HTTP ${response.status}${text ? `: ${text.slice(0, 200)}` : ""}`;
      if (!retryable(response.status)) return { ok: false, attempts: attempt, status, error };
      retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
    } catch (caught) {
      status = undefined;
      error = describe(caught);
    }
    if (attempt === attempts) return { ok: false, attempts: attempt, status, error };
    const backoff = Math.random() * Math.min(maxDelay, base * 2 ** (attempt - 1));
    const delay = retryAfterMs ?? backoff;
    if (Date.now() + delay >= deadline) {
      const why = retryAfterMs !== undefined
        ? `; asked to retry after ${Math.ceil(retryAfterMs / 1000)} s, beyond the time allowed`
        : "; out of time";
      return { ok: false, attempts: attempt, status, error: error + why };
    }
    await sleep(delay);
  }
  return { ok: false, attempts, status, error };
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : "";
  return `${error.name}: ${error.message}${cause}`;
}
