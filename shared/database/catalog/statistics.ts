/**
 * Extended statistics objects (`CREATE STATISTICS`), through `pg_get_statisticsobjdef`.
 *
 * @module
 */
import { addComment, addOwner, type ReadContext } from "./context.ts";
import type { Queryable } from "./db.ts";
import { PRIORITY, ref } from "./graph.ts";
import type { Relations } from "./relations.ts";

/** A row of {@link queryStatistics}. */
export interface StatisticsRow {
  oid: string;
  schema: string;
  name: string;
  tableOid: string;
  def: string;
  target: number;
  owner: string;
  comment: string | null;
}

/** Statistics objects in the given schemas. */
export function queryStatistics(sql: Queryable, schemas: string[]): Promise<StatisticsRow[]> {
  return sql<StatisticsRow[]>`
    select s.oid::text as oid, n.nspname as schema, s.stxname as name,
      s.stxrelid::text as "tableOid", pg_get_statisticsobjdef(s.oid) as def,
      s.stxstattarget as target, pg_get_userbyid(s.stxowner) as owner,
      (select ds.description from pg_description ds where ds.objoid = s.oid
        and ds.classoid = 'pg_statistic_ext'::regclass and ds.objsubid = 0) as comment
    from pg_statistic_ext s join pg_namespace n on n.oid = s.stxnamespace
    where n.nspname = any(${schemas})
    order by n.nspname, s.stxname`;
}

/** Adds a post-data node per statistics object on a dumped table. */
export function buildStatistics(
  ctx: ReadContext,
  rows: StatisticsRow[],
  { relations }: { relations: Relations },
): void {
  const q = ctx.quoter;
  for (const row of rows) {
    if (!relations.dumped.has(row.tableOid)) continue;
    const qualified = q.qualified(row.schema, row.name);
    let sql = `${row.def};`;
    if (row.target >= 0) sql += `\nALTER STATISTICS ${qualified} SET STATISTICS ${row.target};`;
    const node = ctx.graph.add({
      id: ref("pg_statistic_ext", row.oid),
      section: "post-data",
      kind: "STATISTICS",
      schema: row.schema,
      name: row.name,
      sql,
      priority: PRIORITY.statistics,
      deps: [ref("pg_class", row.tableOid)],
    });
    addOwner(ctx, node, { objectType: "STATISTICS", name: qualified, owner: row.owner });
    addComment(node, {
      what: `STATISTICS ${qualified}`,
      label: `STATISTICS ${row.name}`,
      comment: row.comment,
    });
  }
}
