/**
 * Phase 5 of a restore: tables load in parallel, each in its own transaction, with triggers
 * and foreign-key checks off where the role may set that; index and constraint builds run over
 * the same connections, largest work first. A table's builds become ready as soon as its rows
 * are in (builds of tables with no rows to load are ready at once), so index builds overlap
 * with other tables' loads, as `pg_restore -j` does.
 *
 * @module
 */
import type { Repository } from "../../repository/mod.ts";
import { tableLabel } from "../../pg/sql_text.ts";
import type { ManifestLargeObjects, ManifestTable } from "../manifest.ts";
import type { BuildGroup } from "./ddl.ts";
import type { Destination } from "./destination.ts";
import { loadLargeObjectsTask } from "./large_objects.ts";
import { loadTableTask } from "./load_table.ts";
import type { RestoreSession } from "./sessions.ts";
import { TableBuilds } from "./table_builds.ts";
import { TaskPool } from "./task_pool.ts";

/** Loads `tables` and runs `builds` over `connections`; returns the rows and bytes loaded. */
export async function loadAndBuild(
  connections: readonly RestoreSession[],
  repository: Repository,
  tables: readonly ManifestTable[],
  builds: readonly BuildGroup[],
  destination: Destination,
  options: {
    truncate: boolean;
    /** The destination's plain tables (`post_data_plan.ts`). */
    plain: ReadonlySet<string>;
    signal?: AbortSignal;
    warn: (message: string) => void;
    onTable: (table: string, done: number) => void;
    /** The large objects' contents, written beside the tables (their objects exist). */
    largeObjects?: ManifestLargeObjects;
  },
): Promise<{ rows: number; bytes: number; largeObjects: number }> {
  const pool = new TaskPool();
  const bytesOf = new Map(tables.map((table) => [tableLabel(table), table.bytes]));
  const tableBuilds = new TableBuilds(pool, {
    plain: options.plain,
    costOf: (table) => bytesOf.get(table) ?? 0,
    warn: options.warn,
  });
  // Builds ready at once go first, then the loads: the pool keeps that order among equals.
  tableBuilds.schedule(builds, new Set(tables.map((table) => tableLabel(table))));
  let rows = 0;
  let bytes = 0;
  let done = 0;
  let largeObjects = 0;
  const order = new LoadOrder(tables);
  const add = (table: ManifestTable) => {
    const label = tableLabel(table);
    pool.add(loadTableTask(table, {
      repository,
      destination,
      truncate: options.truncate,
      signal: pool.signal,
      onLoaded: (copied, read) => {
        rows += copied;
        bytes += read;
        options.onTable(label, ++done);
      },
      then: () => {
        tableBuilds.loaded(label);
        for (const next of order.loaded(label)) add(next);
      },
    }));
  };
  for (const table of order.ready) add(table);
  const contents = options.largeObjects;
  if (contents) {
    pool.add(loadLargeObjectsTask(contents, {
      repository,
      signal: pool.signal,
      onLoaded: () => largeObjects = contents.count,
    }));
  }
  await pool.run(connections, options.signal);
  order.checkDone();
  return { rows, bytes, largeObjects };
}

/**
 * The tables one after another in an order {@link LoadOrder} allows (a restore that loads one
 * table at a time: `restore_test/stepwise.ts`).
 */
export function loadSequence(tables: readonly ManifestTable[]): ManifestTable[] {
  const order = new LoadOrder(tables);
  const sequence: ManifestTable[] = [];
  const next = [...order.ready];
  while (next.length) {
    const table = next.shift()!;
    sequence.push(table);
    next.push(...order.loaded(tableLabel(table)));
  }
  order.checkDone();
  return sequence;
}

/**
 * Extension configuration tables wait for the configuration tables their foreign keys
 * reference (`loadAfter`, those of this restore): they load with triggers on.
 */
class LoadOrder {
  /** Tables that may load at once. */
  readonly ready: ManifestTable[] = [];
  readonly #waiting = new Map<ManifestTable, Set<string>>();

  constructor(tables: readonly ManifestTable[]) {
    const labels = new Set(tables.map((table) => tableLabel(table)));
    for (const table of tables) {
      const label = tableLabel(table);
      const first = (table.extension?.loadAfter ?? []).filter((other) =>
        other !== label && labels.has(other)
      );
      if (first.length) this.#waiting.set(table, new Set(first));
      else this.ready.push(table);
    }
  }

  /** The tables `label`'s rows were the last wait of. */
  loaded(label: string): ManifestTable[] {
    const now: ManifestTable[] = [];
    for (const [table, first] of this.#waiting) {
      if (first.delete(label) && first.size === 0) {
        this.#waiting.delete(table);
        now.push(table);
      }
    }
    return now;
  }

  /** Throws when tables never loaded (their foreign keys reference each other in a cycle). */
  checkDone(): void {
    if (this.#waiting.size === 0) return;
    const names = [...this.#waiting.keys()].map((table) => tableLabel(table)).join(", ");
    throw new Error(`Could not load ${names}: their foreign keys reference each other`);
  }
}
