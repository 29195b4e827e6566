/**
 * The tables' ACCESS SHARE locks, taken before any is copied, as pg_dump takes them: no
 * `ALTER` or `DROP` can change a table while its rows are read.
 *
 * @module
 */
import type { ExportedSnapshot } from "../../pg/exported_snapshot.ts";
import { qualifiedName } from "../../pg/sql_text.ts";
import type { PendingTable } from "./state.ts";

/** Takes ACCESS SHARE locks on the tables in the coordinator, waiting at most `timeoutMs`. */
export async function lockTables(
  snapshot: ExportedSnapshot,
  tables: readonly PendingTable[],
  timeoutMs: number,
): Promise<void> {
  // The large objects' contents are no table of ours to lock (`lo_get` reads them).
  tables = tables.filter((table) => !table.largeObjects);
  if (tables.length === 0) return;
  const coordinator = snapshot.coordinator;
  await coordinator`select set_config('lock_timeout', ${`${timeoutMs}ms`}, true)`;
  const names = tables.map((table) => qualifiedName(table.schema, table.name)).join(", ");
  try {
    // Every name is quoted by qualifiedName; the statement has no parameters.
    await coordinator.unsafe(`lock table ${names} in access share mode`);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`Could not lock the tables to back up: ${reason}`, { cause: error });
  }
  await coordinator`select set_config('lock_timeout', '0', true)`;
}
