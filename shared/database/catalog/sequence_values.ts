/**
 * Sequence state (`last_value`, `is_called`) for the `SEQUENCE SET` statements, read in one
 * round trip: each sequence is selected from through `query_to_xml`.
 *
 * @module
 */
import type { ReadContext } from "./context.ts";
import type { Queryable } from "./db.ts";
import { PRIORITY, ref } from "./graph.ts";
import { quoteLiteral } from "./quote.ts";
import type { RelationRow } from "./relations_query.ts";

/** A row of {@link querySequenceValues}. */
export interface SequenceValueRow {
  oid: string;
  lastValue: string;
  isCalled: boolean;
}

/** The state of every sequence in the given schemas that the reading role may select from. */
export function querySequenceValues(
  sql: Queryable,
  schemas: string[],
): Promise<SequenceValueRow[]> {
  return sql<SequenceValueRow[]>`
    select c.oid::text as oid,
      (xpath('/row/last_value/text()', x.v))[1]::text as "lastValue",
      (xpath('/row/is_called/text()', x.v))[1]::text::boolean as "isCalled"
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    cross join lateral (select query_to_xml(format('select last_value, is_called from %I.%I',
      n.nspname, c.relname), false, true, '') as v) x
    where c.relkind = 'S' and n.nspname = any(${schemas})
      and case when c.relkind = 'S' then has_schema_privilege(n.oid, 'USAGE')
        and has_sequence_privilege(c.oid, 'SELECT') else false end`;
}

/**
 * Adds a `SEQUENCE SET` (`setval`) node per sequence whose DDL is dumped or whose owning
 * table's data is dumped. They are post-data here (pg_dump's data section), after the rows.
 */
export function buildSequenceSets(
  ctx: ReadContext,
  values: SequenceValueRow[],
  options: { byOid: Map<string, RelationRow>; tableData: Set<string>; dumped: Set<string> },
): void {
  const q = ctx.quoter;
  const byOid = new Map(values.map((v) => [v.oid, v]));
  for (const row of options.byOid.values()) {
    if (!row.sequence || ctx.members.has(ref("pg_class", row.oid))) continue;
    const owner = row.sequence.ownedBy?.table;
    const inScope = options.dumped.has(row.oid) ||
      (owner !== undefined && (options.tableData.has(owner) || options.dumped.has(owner)));
    if (!inScope) continue;
    const value = byOid.get(row.oid);
    if (value === undefined) {
      ctx.warnings.push(
        `Sequence ${row.schema}.${row.name} could not be read: its value is not set`,
      );
      continue;
    }
    const name = quoteLiteral(q.qualified(row.schema, row.name));
    ctx.graph.add({
      id: `setval:${row.oid}`,
      section: "post-data",
      kind: "SEQUENCE SET",
      schema: row.schema,
      name: row.name,
      sql: `SELECT pg_catalog.setval(${name}, ${value.lastValue}, ${value.isCalled});`,
      priority: PRIORITY.sequenceSet,
    });
  }
}
