/**
 * A wrapper that bounds how many operations run at once against another target.
 *
 * A `load` holds its slot until its stream ends, errors or is cancelled, so the bound covers
 * open downloads too; a `list` holds a slot while fetching, not while its caller iterates.
 *
 * @module
 */

import type { LoadOptions, ObjectInfo, SavedObject, SaveOptions, StorageTarget } from "./target.ts";
import { TargetError } from "./target.ts";

/** Options for {@link LimitedTarget}. */
export interface LimitOptions {
  /** Operations allowed at once (at least 1). */
  limit: number;
}

/** A {@link StorageTarget} running at most `limit` operations of another one at a time. */
export class LimitedTarget implements StorageTarget {
  readonly #inner: StorageTarget;
  readonly #limit: number;
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(inner: StorageTarget, options: LimitOptions) {
    if (!Number.isInteger(options.limit) || options.limit < 1) {
      throw new TargetError(`Concurrency limit must be a positive integer, got ${options.limit}`);
    }
    this.#inner = inner;
    this.#limit = options.limit;
  }

  get kind(): StorageTarget["kind"] {
    return this.#inner.kind;
  }

  get location(): string {
    return this.#inner.location;
  }

  async #acquire(): Promise<() => void> {
    if (this.#running >= this.#limit) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running++;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next) next(); // the slot passes on
      else this.#running--;
    };
  }

  async #run<T>(work: () => Promise<T>): Promise<T> {
    const release = await this.#acquire();
    try {
      return await work();
    } finally {
      release();
    }
  }

  save(
    key: string,
    body: ReadableStream<Uint8Array> | Uint8Array,
    options?: SaveOptions,
  ): Promise<SavedObject> {
    return this.#run(() => this.#inner.save(key, body, options));
  }

  async load(key: string, options?: LoadOptions): Promise<ReadableStream<Uint8Array>> {
    const release = await this.#acquire();
    let reader: ReadableStreamDefaultReader<Uint8Array>;
    try {
      reader = (await this.#inner.load(key, options)).getReader();
    } catch (error) {
      release();
      throw error;
    }
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) {
            release();
            controller.close();
          } else {
            controller.enqueue(value);
          }
        } catch (error) {
          release();
          controller.error(error);
        }
      },
      cancel(reason) {
        release();
        return reader.cancel(reason);
      },
    }, { highWaterMark: 0 });
  }

  stat(key: string): Promise<ObjectInfo> {
    return this.#run(() => this.#inner.stat(key));
  }

  async *list(prefix: string, options?: { signal?: AbortSignal }): AsyncIterable<ObjectInfo> {
    const iterator = this.#inner.list(prefix, options)[Symbol.asyncIterator]();
    try {
      while (true) {
        const next = await this.#run(() => iterator.next());
        if (next.done) return;
        yield next.value;
      }
    } finally {
      await iterator.return?.();
    }
  }

  remove(key: string): Promise<void> {
    return this.#run(() => this.#inner.remove(key));
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
