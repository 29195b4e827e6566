/**
 * When a table's index and constraint builds run: at once for tables with no rows to load,
 * else as soon as the table's rows are in. A plain table's indexes build at the same time on
 * several connections, its constraints after them (`planTableBuilds` in `ddl.ts`).
 *
 * @module
 */
import { applyBuildGroup, type BuildGroup, planTableBuilds } from "./ddl.ts";
import type { RestoreTask, TaskPool } from "./task_pool.ts";

/** The builds of a restore, released into a {@link TaskPool} as their tables load. */
export class TableBuilds {
  readonly #pool: TaskPool;
  readonly #waiting = new Map<string, BuildGroup[]>();
  readonly #plain: ReadonlySet<string>;
  readonly #costOf: (table: string) => number;
  readonly #warn: (message: string) => void;

  constructor(
    pool: TaskPool,
    options: {
      /** The destination's plain tables. */
      plain: ReadonlySet<string>;
      /** A table's cost (its bytes to load, 0 when none). */
      costOf: (table: string) => number;
      warn: (message: string) => void;
    },
  ) {
    this.#pool = pool;
    this.#plain = options.plain;
    this.#costOf = options.costOf;
    this.#warn = options.warn;
  }

  /** Builds of tables in `loading` wait for their rows; the others are ready at once. */
  schedule(builds: readonly BuildGroup[], loading: ReadonlySet<string>): void {
    for (const group of builds) {
      if (loading.has(group.table)) {
        const list = this.#waiting.get(group.table) ?? [];
        list.push(group);
        this.#waiting.set(group.table, list);
      } else {
        this.#release(group);
      }
    }
  }

  /** The table's rows are in: its builds become ready. */
  loaded(table: string): void {
    for (const group of this.#waiting.get(table) ?? []) this.#release(group);
    this.#waiting.delete(table);
  }

  #release(group: BuildGroup): void {
    const plan = this.#plain.has(group.table)
      ? planTableBuilds(group)
      : { concurrent: [], then: group.statements };
    const after = () => {
      if (plan.then.length) {
        this.#pool.add(this.#task({ table: group.table, statements: plan.then }));
      }
    };
    let left = plan.concurrent.length;
    if (left === 0) return after();
    for (const statement of plan.concurrent) {
      this.#pool.add(this.#task({ table: group.table, statements: [statement] }, () => {
        if (--left === 0) after();
      }));
    }
  }

  #task(group: BuildGroup, then?: () => void): RestoreTask {
    return {
      cost: this.#costOf(group.table),
      run: async (session) => {
        try {
          await applyBuildGroup(session, group, this.#warn);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          throw new Error(
            `${message} (the rows were loaded, but indexes or constraints after it are missing)`,
            { cause: error },
          );
        }
        then?.();
      },
    };
  }
}
