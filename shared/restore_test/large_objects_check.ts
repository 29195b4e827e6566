/**
 * What a restore test reads back besides tables: the large objects' contents, streamed the
 * way the backup read them (`pg/large_objects.ts`) and hashed, so the count, bytes and SHA-256
 * compare with the manifest's; and the condition an extension's configuration table is read
 * back with, taken from the scratch database's own catalog (the extension there set it), never
 * from the backup.
 *
 * @module
 */
import type { ManifestLargeObjects, ManifestTable } from "../database/manifest.ts";
import { copyOut } from "../pg/copy_out.ts";
import type postgres from "postgres";
import type { Queryable } from "../pg/session.ts";
import { readBack } from "./read_back.ts";
import { StreamHash } from "../repository/digest.ts";
import type { TableMismatch } from "./table_checksum.ts";

/** How the large objects appear among a restore test's mismatches. */
export const LARGE_OBJECTS_LABEL = "(large objects)";

/**
 * Reads every large object of the database back (inside the caller's transaction) and
 * compares it with the manifest's record; undefined when they agree.
 */
export async function checkLargeObjects(
  sql: Queryable,
  expected: ManifestLargeObjects,
): Promise<TableMismatch | undefined> {
  const counter = { rows: 0, bytes: 0 };
  const hash = new StreamHash();
  const source = { schema: "pg_catalog", name: "pg_largeobject", columns: [], largeObjects: true };
  for await (const piece of copyOut(sql, source, { counter })) hash.update(piece);
  const [{ count }] = await sql<{ count: string }[]>`
    select pg_catalog.count(*)::text as count from pg_catalog.pg_largeobject_metadata`;
  const sha256 = hash.hex();
  if (Number(count) === expected.count && sha256 === expected.sha256) return undefined;
  return {
    table: LARGE_OBJECTS_LABEL,
    expected: { rows: expected.rows, sha256: expected.sha256 },
    actual: { rows: counter.rows, sha256 },
    problem: `The large objects differ: ${count} objects (${counter.rows} pieces, SHA-256 ` +
      `${sha256.slice(0, 12)}…) where the backup has ${expected.count} (${expected.rows} pieces, ` +
      `SHA-256 ${expected.sha256.slice(0, 12)}…)`,
  };
}

/**
 * {@link checkLargeObjects} in a `readBack` transaction of its own; a read that fails is a
 * mismatch saying why.
 */
export async function checkAllLargeObjects(
  sql: postgres.Sql,
  expected: ManifestLargeObjects,
): Promise<TableMismatch | undefined> {
  try {
    return await readBack(sql, (tx) => checkLargeObjects(tx, expected));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return {
      table: LARGE_OBJECTS_LABEL,
      expected: { rows: expected.rows, sha256: expected.sha256 },
      actual: null,
      problem: `The large objects could not be read back: ${message}`,
    };
  }
}

/**
 * `table` with the condition its extension gives it in this database (`extcondition`), for
 * reading back the rows the backup holds; the table as it is when it is no configuration
 * table, or its extension sets no condition here.
 */
export async function withScratchCondition<T extends Pick<ManifestTable, "schema" | "name">>(
  sql: Queryable,
  table: T & Pick<ManifestTable, "extension">,
): Promise<T & { condition?: string }> {
  if (!table.extension) return table;
  const rows = await sql<{ condition: string | null }[]>`
    select x.condition
    from pg_catalog.pg_extension e
    cross join lateral unnest(e.extconfig, e.extcondition) as x(reloid, condition)
    join pg_catalog.pg_class c on c.oid = x.reloid
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ${table.schema} and c.relname = ${table.name}`;
  const condition = rows[0]?.condition;
  return condition ? { ...table, condition } : table;
}
