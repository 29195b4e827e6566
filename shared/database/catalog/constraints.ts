/**
 * Table constraints: primary keys, unique and exclusion constraints and foreign keys as
 * post-data `ALTER TABLE … ADD CONSTRAINT`, CHECK constraints inline in CREATE TABLE unless
 * NOT VALID (then post-data, like pg_dump).
 *
 * @module
 */
import { addComment, type ReadContext } from "./context.ts";
import type { Queryable } from "./db.ts";
import { PRIORITY, ref } from "./graph.ts";
import type { Relations } from "./relations.ts";

/** A row of {@link queryConstraints}. */
export interface ConstraintRow {
  oid: string;
  name: string;
  type: string;
  tableOid: string;
  schema: string;
  table: string;
  tableKind: string;
  def: string;
  validated: boolean;
  isLocal: boolean;
  parentOid: string;
  indexOid: string;
  comment: string | null;
}

/** Constraints on relations in the given schemas (constraint triggers excluded). */
export function queryConstraints(sql: Queryable, schemas: string[]): Promise<ConstraintRow[]> {
  return sql<ConstraintRow[]>`
    select co.oid::text as oid, co.conname as name, co.contype as type,
      co.conrelid::text as "tableOid", n.nspname as schema, c.relname as table,
      c.relkind as "tableKind", pg_get_constraintdef(co.oid) as def,
      co.convalidated as validated, co.conislocal as "isLocal",
      co.conparentid::text as "parentOid", co.conindid::text as "indexOid",
      (select ds.description from pg_description ds where ds.objoid = co.oid
        and ds.classoid = 'pg_constraint'::regclass and ds.objsubid = 0) as comment
    from pg_constraint co
    join pg_class c on c.oid = co.conrelid
    join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = any(${schemas}) and co.contype in ('c', 'p', 'u', 'x', 'f')
    order by n.nspname, c.relname, co.conname`;
}

/** Groups CHECK constraints by table oid, for CREATE TABLE. */
export function checksByTable(rows: ConstraintRow[]): Map<string, ConstraintRow[]> {
  const map = new Map<string, ConstraintRow[]>();
  for (const row of rows) {
    if (row.type !== "c") continue;
    const list = map.get(row.tableOid);
    if (list) list.push(row);
    else map.set(row.tableOid, [row]);
  }
  return map;
}

/** Adds post-data nodes for keys, exclusion constraints, foreign keys and NOT VALID checks. */
export function buildConstraints(
  ctx: ReadContext,
  rows: ConstraintRow[],
  { relations }: { relations: Relations },
): void {
  const q = ctx.quoter;
  for (const row of rows) {
    if (!relations.dumped.has(row.tableOid)) continue;
    const table = ref("pg_class", row.tableOid);
    const qualified = q.qualified(row.schema, row.table);
    const label = `${row.table} ${row.name}`;
    const comment = (node: Parameters<typeof addComment>[0]) =>
      addComment(node, {
        what: `CONSTRAINT ${q.ident(row.name)} ON ${qualified}`,
        label: `CONSTRAINT ${row.name} ON ${row.table}`,
        comment: row.comment,
      });
    if (row.type === "c") {
      const inline = row.validated &&
        (row.isLocal || relations.byOid.get(row.tableOid)?.isPartition === true);
      if (inline) {
        const tableNode = ctx.graph.nodes.get(table);
        if (tableNode) comment(tableNode);
        continue;
      }
      if (!row.isLocal) continue;
      const node = ctx.graph.add({
        id: ref("pg_constraint", row.oid),
        section: "post-data",
        kind: "CHECK CONSTRAINT",
        schema: row.schema,
        name: label,
        sql: `ALTER TABLE ${qualified}\n    ADD CONSTRAINT ${q.ident(row.name)} ${row.def};`,
        priority: PRIORITY.constraint,
        deps: [table],
      });
      comment(node);
      continue;
    }
    if (row.type === "f") {
      // Foreign keys cloned onto partitions come with the parent's.
      if (row.parentOid !== "0") continue;
      const only = row.tableKind === "p" ? "" : "ONLY ";
      const node = ctx.graph.add({
        id: ref("pg_constraint", row.oid),
        section: "post-data",
        kind: "FK CONSTRAINT",
        schema: row.schema,
        name: label,
        sql: `ALTER TABLE ${only}${qualified}\n    ADD CONSTRAINT ${q.ident(row.name)} ${row.def};`,
        priority: PRIORITY.fkConstraint,
        deps: [table],
      });
      comment(node);
      continue;
    }
    const node = ctx.graph.add({
      id: ref("pg_constraint", row.oid),
      section: "post-data",
      kind: "CONSTRAINT",
      schema: row.schema,
      name: label,
      sql: `ALTER TABLE ONLY ${qualified}\n    ADD CONSTRAINT ${q.ident(row.name)} ${row.def};`,
      priority: PRIORITY.constraint,
      deps: [table],
    });
    if (row.indexOid !== "0") ctx.graph.alias(ref("pg_class", row.indexOid), node.id);
    comment(node);
  }
}
