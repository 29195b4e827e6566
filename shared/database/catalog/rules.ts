/**
 * Rewrite rules other than views' `_RETURN` rules, through `pg_get_ruledef`.
 *
 * @module
 */
import { addComment, type ReadContext } from "./context.ts";
import type { Queryable } from "./db.ts";
import { PRIORITY, ref } from "./graph.ts";
import type { Relations } from "./relations.ts";

/** A row of {@link queryRules}. */
export interface RuleRow {
  oid: string;
  name: string;
  tableOid: string;
  schema: string;
  table: string;
  def: string;
  enabled: string;
  comment: string | null;
}

/** Rules on relations in the given schemas. */
export function queryRules(sql: Queryable, schemas: string[]): Promise<RuleRow[]> {
  return sql<RuleRow[]>`
    select r.oid::text as oid, r.rulename as name, r.ev_class::text as "tableOid",
      n.nspname as schema, c.relname as table, pg_get_ruledef(r.oid) as def,
      r.ev_enabled as enabled, (select ds.description from pg_description ds where ds.objoid = r.oid
        and ds.classoid = 'pg_rewrite'::regclass and ds.objsubid = 0) as comment
    from pg_rewrite r
    join pg_class c on c.oid = r.ev_class
    join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = any(${schemas}) and r.rulename <> '_RETURN'
    order by n.nspname, c.relname, r.rulename`;
}

const ENABLE: Record<string, string> = {
  D: "DISABLE RULE",
  R: "ENABLE REPLICA RULE",
  A: "ENABLE ALWAYS RULE",
};

/** Adds a post-data node per rule. */
export function buildRules(
  ctx: ReadContext,
  rows: RuleRow[],
  { relations }: { relations: Relations },
): void {
  const q = ctx.quoter;
  for (const row of rows) {
    if (!relations.dumped.has(row.tableOid)) continue;
    const qualified = q.qualified(row.schema, row.table);
    let sql = row.def.trimEnd();
    if (!sql.endsWith(";")) sql += ";";
    const enable = ENABLE[row.enabled];
    if (enable) sql += `\nALTER TABLE ${qualified} ${enable} ${q.ident(row.name)};`;
    const node = ctx.graph.add({
      id: ref("pg_rewrite", row.oid),
      section: "post-data",
      kind: "RULE",
      schema: row.schema,
      name: `${row.table} ${row.name}`,
      sql,
      priority: PRIORITY.rule,
      deps: [ref("pg_class", row.tableOid)],
    });
    addComment(node, {
      what: `RULE ${q.ident(row.name)} ON ${qualified}`,
      label: `RULE ${row.name} ON ${row.table}`,
      comment: row.comment,
    });
  }
}
