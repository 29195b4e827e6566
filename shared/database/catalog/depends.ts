/**
 * Dependencies between catalog objects (pg_depend), added as graph edges once every node
 * and alias exists.
 *
 * @module
 */
import type { Queryable } from "./db.ts";
import { type DumpGraph, ref } from "./graph.ts";

/** A row of {@link queryDepends}. */
export interface DependRow {
  catalog: string;
  oid: string;
  refCatalog: string;
  refOid: string;
}

/**
 * Normal and automatic dependencies of user objects. A sequence's automatic dependency on
 * the column that owns it is left out: the sequence is created first, OWNED BY comes later.
 */
export function queryDepends(sql: Queryable): Promise<DependRow[]> {
  return sql<DependRow[]>`
    select distinct d.classid::regclass::text as catalog, d.objid::text as oid,
      d.refclassid::regclass::text as "refCatalog", d.refobjid::text as "refOid"
    from pg_depend d
    where d.deptype in ('n', 'a') and d.objid >= 16384
      and not (d.deptype = 'a' and d.classid = 'pg_class'::regclass
        and exists (select from pg_class s where s.oid = d.objid and s.relkind = 'S'))`;
}

/** Adds an edge for each dependency whose both ends are dumped. */
export function addDepends(graph: DumpGraph, rows: DependRow[]): void {
  for (const row of rows) {
    const from = graph.resolve(ref(row.catalog, row.oid));
    if (from === undefined) continue;
    const to = graph.resolve(ref(row.refCatalog, row.refOid));
    if (to === undefined || to === from) continue;
    graph.nodes.get(from)?.deps.add(to);
  }
}
