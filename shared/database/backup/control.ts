/**
 * When a copy step stops: the first failure aborts every lane's copy, the caller's signal
 * cancels, and a deadline or a spent budget stops new tables and slices (a copy in progress
 * finishes).
 *
 * @module
 */

/** The step's stop conditions and its first failure. */
export class CopyControl {
  readonly #abort = new AbortController();
  readonly #outer: AbortSignal | undefined;
  readonly #onAbort = () => this.#abort.abort(this.#outer?.reason);
  readonly #deadline: number | undefined;
  readonly #shouldStop: (() => boolean) | undefined;
  /** The first failure; once set, lanes take no more tables. */
  failure: Error | undefined;

  constructor(options: { signal?: AbortSignal; deadline?: number; shouldStop?: () => boolean }) {
    this.#outer = options.signal;
    this.#deadline = options.deadline;
    this.#shouldStop = options.shouldStop;
    this.#outer?.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** Aborted by the caller's signal or by the first failure: every copy in flight stops. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Whether the caller cancelled. */
  get cancelled(): boolean {
    return this.#outer?.aborted === true;
  }

  /** Whether to start no new table or slice: the deadline passed or the budget is spent. */
  timeIsUp(): boolean {
    return (this.#deadline !== undefined && Date.now() >= this.#deadline) ||
      this.#shouldStop?.() === true;
  }

  /** Keeps the first failure and aborts every copy in flight. */
  fail(error: unknown): void {
    this.record(error);
    this.#abort.abort(this.failure);
  }

  /** Keeps the first failure without aborting (lanes see it before their next table). */
  record(error: unknown): void {
    this.failure ??= error instanceof Error ? error : new Error(String(error));
  }

  /** Stops listening to the caller's signal. */
  close(): void {
    this.#outer?.removeEventListener("abort", this.#onAbort);
  }
}
