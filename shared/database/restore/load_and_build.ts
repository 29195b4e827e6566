/**
 * Phase 5 of a restore: tables load in parallel, each in its own transaction, with triggers
 * and foreign-key checks off where the role may set that; index and constraint builds run over
 * the same connections, largest work first. A table's builds become ready as soon as its rows
 * are in (builds of tables with no rows to load are ready at once), so index builds overlap
 * with other tables' loads, as `pg_restore -j` does.
 *
 * @module
 */
import type postgres from "postgres";
import type { Repository } from "../../repository/mod.ts";
import { tableLabel } from "../../pg/sql_text.ts";
import type { ManifestTable } from "../manifest.ts";
import type { BuildGroup } from "./ddl.ts";
import type { Destination } from "./destination.ts";
import { loadTableTask } from "./load_table.ts";
import { TableBuilds } from "./table_builds.ts";
import { TaskPool } from "./task_pool.ts";

/** Loads `tables` and runs `builds` over `connections`; returns the rows and bytes loaded. */
export async function loadAndBuild(
  connections: readonly postgres.ReservedSql[],
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
  },
): Promise<{ rows: number; bytes: number }> {
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
  for (const table of tables) {
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
      then: () => tableBuilds.loaded(label),
    }));
  }
  await pool.run(connections, options.signal);
  return { rows, bytes };
}
