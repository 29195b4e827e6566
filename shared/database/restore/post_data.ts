/**
 * Phase 6 of a restore: the post-data statements that are not builds (foreign keys, triggers,
 * policies, grants, sequence values), once every row is in; and, for chosen tables only, their
 * owned sequences moved past the loaded values.
 *
 * @module
 */
import { qualifiedName, quoteIdent } from "../../pg/sql_text.ts";
import type { ManifestStatement, ManifestTable } from "../manifest.ts";
import { applyPostDataRest } from "./ddl.ts";
import type { RestoreSession } from "./sessions.ts";

/** Applies the rest of post-data; a failure says the rows were loaded. */
export async function applyPostData(
  connections: readonly RestoreSession[],
  rest: readonly ManifestStatement[],
  warn: (message: string) => void,
  tableBytes: ReadonlyMap<string, number>,
): Promise<void> {
  try {
    await applyPostDataRest(connections, rest, warn, tableBytes);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(
      `${message} (the rows were loaded, but constraints, triggers or grants after it are missing)`,
      { cause: error },
    );
  }
}

/**
 * Moves sequences owned by a table's columns past the largest value loaded, in one transaction
 * (its empty search_path names every sequence in full).
 */
export function advanceOwnedSequences(
  session: RestoreSession,
  table: ManifestTable,
): Promise<void> {
  return session.transaction((tx) => advanceIn(tx, table));
}

async function advanceIn(
  connection: RestoreSession["sql"],
  table: ManifestTable,
): Promise<void> {
  const owned = await connection<{ sequence: string; column: string }[]>`
    select s.oid::regclass::text as sequence, a.attname as column
    from pg_depend d
    join pg_class s on s.oid = d.objid and s.relkind = 'S'
    join pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
    where d.classid = 'pg_class'::regclass and d.refclassid = 'pg_class'::regclass
      and d.deptype in ('a', 'i')
      and d.refobjid = (select c.oid from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = ${table.schema} and c.relname = ${table.name})`;
  for (const { sequence, column } of owned) {
    // Names are quoted by qualifiedName/quoteIdent; the sequence name comes from regclass.
    const [{ max }] = await connection.unsafe<{ max: string | null }[]>(
      `select max(${quoteIdent(column)})::text as max from ${
        qualifiedName(table.schema, table.name)
      }`,
    );
    if (max === null) continue;
    await connection`
      select pg_catalog.setval(${sequence}::regclass, ${max}::bigint, true)
      where ${max}::bigint > (select last_value from pg_catalog.pg_sequences
        where format('%I.%I', schemaname, sequencename)::regclass = ${sequence}::regclass)
        or (select last_value from pg_catalog.pg_sequences
        where format('%I.%I', schemaname, sequencename)::regclass = ${sequence}::regclass) is null`;
  }
}
