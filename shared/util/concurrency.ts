/**
 * Bounding work in flight: {@link mapLimit} runs a function over items with at most N calls at
 * once (by count), {@link WeightedLimiter} admits tasks by count and by weight (bytes held in
 * memory), so many small transfers run side by side while a few large ones cannot exceed a
 * memory budget.
 *
 * @module
 */

/**
 * Like `Promise.all(items.map(fn))` with at most `limit` calls running at once, results in the
 * order of the items. After a call rejects no further call starts, and the promise rejects with
 * that first error (calls already running are not waited for).
 */
export async function mapLimit<T, R>(
  items: Iterable<T>,
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const iterator = items[Symbol.iterator]();
  const results: R[] = [];
  let index = 0;
  let failed = false;
  const worker = async () => {
    for (let next = iterator.next(); !next.done && !failed; next = iterator.next()) {
      const at = index++;
      try {
        results[at] = await fn(next.value, at);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const known = Array.isArray(items) ? items.length : Infinity;
  const workers = Math.max(1, Math.min(limit, known));
  await Promise.all(Array.from({ length: workers }, worker));
  return results;
}

/** Options for {@link WeightedLimiter}. */
export interface LimiterOptions {
  /** Most tasks at once. */
  count: number;
  /** Most total weight at once; a single heavier task is admitted alone. */
  weight: number;
}

/** Admits tasks while both the count and the weight limit allow, first come first served. */
export class WeightedLimiter {
  #count = 0;
  #weight = 0;
  readonly #waiting: Array<{ weight: number; resolve: () => void }> = [];

  constructor(private readonly limits: LimiterOptions) {}

  /** Waits until a task of `weight` fits, then counts it in. */
  acquire(weight: number): Promise<void> {
    const w = Math.min(weight, this.limits.weight);
    if (this.#waiting.length === 0 && this.#fits(w)) {
      this.#take(w);
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push({ weight: w, resolve }));
  }

  /** Counts a finished task out and admits whoever now fits. */
  release(weight: number): void {
    this.#count--;
    this.#weight -= Math.min(weight, this.limits.weight);
    while (this.#waiting.length && this.#fits(this.#waiting[0].weight)) {
      const next = this.#waiting.shift()!;
      this.#take(next.weight);
      next.resolve();
    }
  }

  /** Tasks in flight. */
  get active(): number {
    return this.#count;
  }

  #fits(weight: number): boolean {
    return this.#count < this.limits.count &&
      (this.#count === 0 || this.#weight + weight <= this.limits.weight);
  }

  #take(weight: number): void {
    this.#count++;
    this.#weight += weight;
  }
}
