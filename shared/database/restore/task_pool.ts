/**
 * The work queue of a restore's loads and builds: each connection takes the costliest ready
 * task, and a task may make more ready (a table's builds once its rows are in, a table's
 * constraints once its indexes are built), as `pg_restore -j` schedules. The first failure
 * stops every connection after its current task and aborts the reads in flight.
 *
 * @module
 */
import type { RestoreSession } from "./sessions.ts";

/** A unit of work on one destination connection. */
export interface RestoreTask {
  /** Larger first: the bytes of the table it works on. */
  cost: number;
  run(session: RestoreSession): Promise<void>;
}

/** Ready tasks, run over connections until none is ready and none runs. */
export class TaskPool {
  readonly #ready: RestoreTask[] = [];
  readonly #abort = new AbortController();
  /** Tasks running now: one may make more ready. */
  #running = 0;
  #failure: unknown;
  #wake: (() => void) | undefined;
  #changed = new Promise<void>((resolve) => this.#wake = resolve);

  /** Aborted by the first failure or the caller's signal: for the reads tasks do. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Makes a task ready. */
  add(task: RestoreTask): void {
    this.#ready.push(task);
  }

  /** Runs every task, and every task they make ready, over `connections`; rethrows the first failure. */
  async run(connections: readonly RestoreSession[], signal?: AbortSignal): Promise<void> {
    const onAbort = () => this.#abort.abort(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    await Promise.all(connections.map((connection) => this.#drain(connection)));
    signal?.removeEventListener("abort", onAbort);
    if (this.#failure !== undefined) throw this.#failure;
  }

  async #drain(connection: RestoreSession): Promise<void> {
    while (this.#failure === undefined) {
      if (this.#ready.length === 0) {
        // Nothing ready and nothing running: no task is left to make any ready.
        if (this.#running === 0) return;
        await this.#changed;
        continue;
      }
      this.#ready.sort((a, b) => b.cost - a.cost);
      const task = this.#ready.shift()!;
      this.#running++;
      try {
        await task.run(connection);
      } catch (error) {
        if (this.#failure === undefined) {
          this.#failure = error;
          this.#abort.abort(error);
        }
      } finally {
        this.#running--;
      }
      this.#notify();
    }
  }

  #notify(): void {
    this.#wake?.();
    this.#changed = new Promise<void>((resolve) => this.#wake = resolve);
  }
}
