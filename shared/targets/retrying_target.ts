/**
 * A wrapper that retries transient failures of another target with exponential backoff.
 *
 * Retried: 5xx answers, throttling (429, SlowDown, Throttling…), request timeouts and network
 * errors (connection reset, refused, broken pipe, timed out). Never retried: a
 * {@link NotFoundError}, an {@link IntegrityError}, an abort, or any other error.
 *
 * What is retried per operation: `stat` and `remove` fully; `load` until a stream is returned
 * (a stream failing later is the caller's to reopen with an offset); `list` only while it has
 * yielded nothing (a restart would repeat entries); `save` only when the body is a Uint8Array,
 * since a stream cannot be replayed.
 *
 * @module
 */

import {
  IntegrityError,
  type LoadOptions,
  NotFoundError,
  type ObjectInfo,
  type SavedObject,
  type SaveOptions,
  type StorageTarget,
} from "./target.ts";

/** Options for {@link RetryingTarget}. */
export interface RetryOptions {
  /** Total attempts per operation, the first included (default 4). */
  attempts?: number;
  /** Delay before the first retry in ms (default 200); doubled each time, with jitter. */
  baseDelayMs?: number;
  /** Upper bound of one delay in ms (default 5000). */
  maxDelayMs?: number;
  /** Decides whether an error is worth another attempt (default {@link isTransientError}). */
  isTransient?: (error: unknown) => boolean;
  /** Called before each retry, for logs; must not throw. */
  onRetry?: (info: { operation: string; key: string; attempt: number; error: unknown }) => void;
}

const THROTTLING = new Set([
  "SlowDown",
  "Throttling",
  "ThrottlingException",
  "TooManyRequests",
  "TooManyRequestsException",
  "RequestThrottled",
  "RequestLimitExceeded",
  "RequestTimeout",
  "RequestTimeoutException",
  "InternalError",
  "ServiceUnavailable",
]);

const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_SOCKET",
]);

/**
 * Whether an error (or one of its causes) is a transient failure: a 5xx or 429 answer, a
 * throttling error, a timeout or a network error. Not-found, integrity and abort errors never are.
 */
export function isTransientError(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof NotFoundError || e instanceof IntegrityError) return false;
    const { name, code, $metadata, $retryable } = e as {
      name?: string;
      code?: string;
      $metadata?: { httpStatusCode?: number };
      $retryable?: unknown;
    };
    if (name === "AbortError") return false;
    const status = $metadata?.httpStatusCode;
    if (status !== undefined && (status >= 500 || status === 429)) return true;
    if ($retryable) return true;
    if (name && THROTTLING.has(name)) return true;
    if (code && NETWORK_CODES.has(code)) return true;
    if (
      e instanceof Deno.errors.ConnectionReset || e instanceof Deno.errors.ConnectionRefused ||
      e instanceof Deno.errors.ConnectionAborted || e instanceof Deno.errors.BrokenPipe ||
      e instanceof Deno.errors.TimedOut || e instanceof Deno.errors.Interrupted
    ) return true;
  }
  return false;
}

/** A {@link StorageTarget} that retries the transient failures of another one. */
export class RetryingTarget implements StorageTarget {
  readonly #inner: StorageTarget;
  readonly #attempts: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #isTransient: (error: unknown) => boolean;
  readonly #onRetry: RetryOptions["onRetry"];

  constructor(inner: StorageTarget, options: RetryOptions = {}) {
    this.#inner = inner;
    this.#attempts = Math.max(1, options.attempts ?? 4);
    this.#baseDelayMs = options.baseDelayMs ?? 200;
    this.#maxDelayMs = options.maxDelayMs ?? 5000;
    this.#isTransient = options.isTransient ?? isTransientError;
    this.#onRetry = options.onRetry;
  }

  get kind(): StorageTarget["kind"] {
    return this.#inner.kind;
  }

  get location(): string {
    return this.#inner.location;
  }

  async #retry<T>(
    operation: string,
    key: string,
    signal: AbortSignal | undefined,
    run: () => Promise<T>,
    canRetry: () => boolean = () => true,
  ): Promise<T> {
    for (let attempt = 1;; attempt++) {
      try {
        return await run();
      } catch (error) {
        if (
          attempt >= this.#attempts || signal?.aborted || !canRetry() || !this.#isTransient(error)
        ) {
          throw error;
        }
        this.#onRetry?.({ operation, key, attempt, error });
        await sleep(this.#delay(attempt), signal);
      }
    }
  }

  #delay(attempt: number): number {
    const ceiling = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** (attempt - 1));
    return ceiling / 2 + Math.random() * ceiling / 2;
  }

  save(
    key: string,
    body: ReadableStream<Uint8Array> | Uint8Array,
    options?: SaveOptions,
  ): Promise<SavedObject> {
    if (!(body instanceof Uint8Array)) return this.#inner.save(key, body, options);
    return this.#retry("save", key, options?.signal, () => this.#inner.save(key, body, options));
  }

  load(key: string, options?: LoadOptions): Promise<ReadableStream<Uint8Array>> {
    return this.#retry("load", key, options?.signal, () => this.#inner.load(key, options));
  }

  stat(key: string): Promise<ObjectInfo> {
    return this.#retry("stat", key, undefined, () => this.#inner.stat(key));
  }

  async *list(prefix: string, options?: { signal?: AbortSignal }): AsyncIterable<ObjectInfo> {
    for (let attempt = 1;; attempt++) {
      let yielded = false;
      try {
        for await (const info of this.#inner.list(prefix, options)) {
          yielded = true;
          yield info;
        }
        return;
      } catch (error) {
        if (
          yielded || attempt >= this.#attempts || options?.signal?.aborted ||
          !this.#isTransient(error)
        ) {
          throw error;
        }
        this.#onRetry?.({ operation: "list", key: prefix, attempt, error });
        await sleep(this.#delay(attempt), options?.signal);
      }
    }
  }

  remove(key: string): Promise<void> {
    return this.#retry("remove", key, undefined, () => this.#inner.remove(key));
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
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
