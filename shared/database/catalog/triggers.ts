/**
 * Triggers (through `pg_get_triggerdef`) with their enabled state. Internal triggers and
 * triggers cloned onto partitions from their parent are left to the server.
 *
 * @module
 */
import { addComment, type ReadContext } from "./context.ts";
import type { Queryable } from "./db.ts";
import { PRIORITY, ref } from "./graph.ts";
import { guardHook } from "./managed_hooks.ts";
import type { Relations } from "./relations.ts";

/** A row of {@link queryTriggers}. */
export interface TriggerRow {
  oid: string;
  name: string;
  tableOid: string;
  functionOid: string;
  schema: string;
  table: string;
  def: string;
  enabled: string;
  comment: string | null;
}

/** User triggers on relations in the given schemas. */
export function queryTriggers(sql: Queryable, schemas: string[]): Promise<TriggerRow[]> {
  return sql<TriggerRow[]>`
    select t.oid::text as oid, t.tgname as name, t.tgrelid::text as "tableOid",
      t.tgfoid::text as "functionOid", n.nspname as schema, c.relname as table,
      pg_get_triggerdef(t.oid, false) as def,
      t.tgenabled as enabled, (select ds.description from pg_description ds where ds.objoid = t.oid
        and ds.classoid = 'pg_trigger'::regclass and ds.objsubid = 0) as comment
    from pg_trigger t
    join pg_class c on c.oid = t.tgrelid
    join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = any(${schemas}) and not t.tgisinternal and t.tgparentid = 0
    order by n.nspname, c.relname, t.tgname`;
}

const ENABLE: Record<string, string> = {
  D: "DISABLE TRIGGER",
  R: "ENABLE REPLICA TRIGGER",
  A: "ENABLE ALWAYS TRIGGER",
};

/** Adds a post-data node per trigger. */
export function buildTriggers(
  ctx: ReadContext,
  rows: TriggerRow[],
  { relations }: { relations: Relations },
): void {
  const q = ctx.quoter;
  for (const row of rows) {
    const hook = relations.hooked.has(row.tableOid) &&
      ctx.graph.nodes.has(ref("pg_proc", row.functionOid));
    if (!relations.dumped.has(row.tableOid) && !hook) continue;
    const qualified = q.qualified(row.schema, row.table);
    let sql = `${row.def};`;
    const enable = ENABLE[row.enabled];
    if (enable) sql += `\nALTER TABLE ${qualified} ${enable} ${q.ident(row.name)};`;
    const node = ctx.graph.add({
      id: ref("pg_trigger", row.oid),
      section: "post-data",
      kind: "TRIGGER",
      schema: row.schema,
      name: `${row.table} ${row.name}`,
      sql,
      priority: PRIORITY.trigger,
      deps: [ref("pg_class", row.tableOid)],
    });
    addComment(node, {
      what: `TRIGGER ${q.ident(row.name)} ON ${qualified}`,
      label: `TRIGGER ${row.name} ON ${row.table}`,
      comment: row.comment,
    });
    if (!relations.dumped.has(row.tableOid)) {
      guardHook(ctx, node, {
        schema: row.schema,
        table: row.table,
        catalog: "pg_trigger",
        name: row.name,
      });
    }
  }
}
