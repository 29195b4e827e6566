/**
 * The one retry policy: a bounded number of attempts with exponential backoff (optionally
 * jittered), an optional deadline for the whole, waits cut short by an abort, and a wait asked
 * by the answer itself (HTTP `Retry-After`) taking the place of the backoff.
 *
 * What is worth another attempt is the caller's to say: a thrown error (`retryError`), or a
 * result (`retryResult`, for answers such as an HTTP 503 that are values, not exceptions).
 * When the attempts run out the last result is returned, or the last error thrown, as they were.
 *
 * Users: the S3 client (`targets/s3_http.ts`, each request), webhook deliveries
 * (`notify/retry.ts`, with `Retry-After` and a deadline) and the Storage snapshot's re-read of an
 * object replaced while it was read.
 *
 * @module
 */

/** How often and how patiently to try. */
export interface RetryPolicy {
  /** Most attempts in all, the first included (at least 1). */
  attempts: number;
  /** Wait after the first failed attempt, in ms; multiplied by `factor` after each. */
  baseDelayMs: number;
  /** Growth of the wait from one attempt to the next (default 2). */
  factor?: number;
  /** Longest single wait, in ms (default: unbounded). */
  maxDelayMs?: number;
  /** "full": each wait is drawn uniformly below its backoff, so clients spread out (default "none"). */
  jitter?: "none" | "full";
  /** Time allowed for everything, waits included, in ms (default: unbounded). */
  deadlineMs?: number;
}

/** Whether a result is worth another attempt; `{ afterMs }` says how long the answer asked to wait. */
export type RetryVerdict = boolean | { afterMs?: number };

/** What the caller decides, and the hooks of one {@link retry}. */
export interface RetryOptions<T> {
  /** Whether a result calls for another attempt (default: never). */
  retryResult?: (result: T) => RetryVerdict;
  /** Whether a thrown error calls for another attempt (default: never). */
  retryError?: (error: unknown) => boolean;
  /** Lets go of a result that is dropped for another attempt (a response body). */
  discard?: (result: T) => unknown;
  /**
   * The answer when the deadline leaves no room for the next wait, given the last result and
   * the wait (and whether the answer asked for it); default: the last result as it is.
   */
  outOfTime?: (last: T, wait: { ms: number; asked: boolean }) => T;
  /** Ends the waits (and the attempts) with the signal's reason. */
  signal?: AbortSignal;
  /** Waits `ms` (tests pass a fake). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** The backoff after failed attempt `attempt` (1-based), before jitter. */
export function backoffMs(policy: RetryPolicy, attempt: number): number {
  const grown = policy.baseDelayMs * (policy.factor ?? 2) ** (attempt - 1);
  return Math.min(policy.maxDelayMs ?? Infinity, grown);
}

/**
 * Runs `run` until it gives a result not worth retrying, the attempts or the deadline run
 * out, or the signal aborts. `run` gets the attempt number (from 1) and the milliseconds left
 * before the deadline (`Infinity` without one).
 */
export async function retry<T>(
  policy: RetryPolicy,
  run: (attempt: number, remainingMs: number) => Promise<T>,
  options: RetryOptions<T> = {},
): Promise<T> {
  const deadline = policy.deadlineMs === undefined ? Infinity : Date.now() + policy.deadlineMs;
  const attempts = Math.max(1, policy.attempts);
  for (let attempt = 1;; attempt++) {
    let result: T | undefined;
    let failure: { error: unknown } | undefined;
    let verdict: RetryVerdict;
    try {
      result = await run(attempt, deadline - Date.now());
      verdict = options.retryResult?.(result) ?? false;
      if (verdict === false) return result;
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason ?? error;
      if (!(options.retryError?.(error) ?? false)) throw error;
      failure = { error };
      verdict = true;
    }
    const last = (): T => {
      if (failure) throw failure.error;
      return result as T;
    };
    if (attempt >= attempts) return last();
    const asked = typeof verdict === "object" ? verdict.afterMs : undefined;
    const backoff = backoffMs(policy, attempt);
    const ms = asked ?? (policy.jitter === "full" ? Math.random() * backoff : backoff);
    if (Date.now() + ms >= deadline) {
      if (!failure && options.outOfTime) {
        return options.outOfTime(result as T, { ms, asked: asked !== undefined });
      }
      return last();
    }
    if (!failure) await options.discard?.(result as T);
    await (options.sleep ?? sleep)(ms, options.signal);
  }
}

/** Waits `ms`, rejecting with the signal's reason if it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
