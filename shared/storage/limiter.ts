/**
 * A limiter on work in flight by count and by weight (bytes held in memory), first come first
 * served, so many small transfers run side by side while a few large ones cannot exceed the
 * memory budget.
 *
 * @module
 */

/** Options for {@link WeightedLimiter}. */
export interface LimiterOptions {
  /** Most tasks at once. */
  count: number;
  /** Most total weight at once; a single heavier task is admitted alone. */
  weight: number;
}

/** Admits tasks while both the count and the weight limit allow. */
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
