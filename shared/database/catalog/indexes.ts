/**
 * Indexes (through `pg_get_indexdef`), partition index attachment, CLUSTER ON,
 * REPLICA IDENTITY USING INDEX and the statistics targets of index columns. Indexes that back
 * constraints come with the constraint.
 *
 * @module
 */
import { addComment, type ReadContext } from "./context.ts";
import type { Queryable } from "./db.ts";
import { type DumpNode, PRIORITY, ref } from "./graph.ts";
import type { Relations } from "./relations.ts";

/** A row of {@link queryIndexes}. */
export interface IndexRow {
  oid: string;
  schema: string;
  name: string;
  tableOid: string;
  table: string;
  def: string;
  clustered: boolean;
  replicaIdentity: boolean;
  parentOid: string | null;
  parentSchema: string | null;
  parentName: string | null;
  constraintOid: string | null;
  comment: string | null;
  /** Columns (by number) given a statistics target of their own. */
  statistics: { column: number; target: number }[] | null;
}

/** Valid indexes (and partitioned ones) on relations in the given schemas. */
export function queryIndexes(sql: Queryable, schemas: string[]): Promise<IndexRow[]> {
  return sql<IndexRow[]>`
    select i.indexrelid::text as oid, n.nspname as schema, ic.relname as name,
      i.indrelid::text as "tableOid", tc.relname as table,
      pg_get_indexdef(i.indexrelid) as def, i.indisclustered as clustered,
      i.indisreplident as "replicaIdentity",
      inh.inhparent::text as "parentOid", pn.nspname as "parentSchema",
      pc.relname as "parentName",
      (select co.oid::text from pg_constraint co where co.conindid = i.indexrelid
        and co.conrelid = i.indrelid and co.contype in ('p', 'u', 'x')) as "constraintOid",
      (select ds.description from pg_description ds where ds.objoid = i.indexrelid
        and ds.classoid = 'pg_class'::regclass and ds.objsubid = 0) as comment,
      (select json_agg(json_build_object('column', a.attnum, 'target', a.attstattarget)
          order by a.attnum)
        from pg_attribute a
        where a.attrelid = i.indexrelid and a.attstattarget >= 0) as statistics
    from pg_index i
    join pg_class ic on ic.oid = i.indexrelid
    join pg_class tc on tc.oid = i.indrelid
    join pg_namespace n on n.oid = ic.relnamespace
    left join pg_inherits inh on inh.inhrelid = i.indexrelid
    left join pg_class pc on pc.oid = inh.inhparent
    left join pg_namespace pn on pn.oid = pc.relnamespace
    where n.nspname = any(${schemas}) and (i.indisvalid or tc.relkind = 'p')
    order by n.nspname, ic.relname`;
}

/** Adds index nodes and the statements that hang off indexes. */
export function buildIndexes(
  ctx: ReadContext,
  rows: IndexRow[],
  { relations }: { relations: Relations },
): void {
  const q = ctx.quoter;
  for (const row of rows) {
    if (!relations.dumped.has(row.tableOid)) continue;
    const table = relations.byOid.get(row.tableOid)!;
    const tableQualified = q.qualified(table.schema, table.name);
    const qualified = q.qualified(row.schema, row.name);
    let node: DumpNode | undefined;
    if (row.constraintOid === null) {
      node = ctx.graph.add({
        id: ref("pg_class", row.oid),
        section: "post-data",
        kind: "INDEX",
        schema: row.schema,
        name: row.name,
        sql: `${row.def};`,
        priority: PRIORITY.index,
        deps: [ref("pg_class", row.tableOid)],
      });
    } else {
      node = ctx.graph.nodes.get(ref("pg_constraint", row.constraintOid));
      ctx.graph.alias(ref("pg_class", row.oid), ref("pg_constraint", row.constraintOid));
    }
    if (node === undefined) continue;
    addComment(node, {
      what: `INDEX ${qualified}`,
      label: `INDEX ${row.name}`,
      comment: row.comment,
    });
    if (row.clustered) {
      node.after.push({
        section: "post-data",
        kind: "CLUSTER",
        schema: row.schema,
        name: row.name,
        sql: `ALTER TABLE ${tableQualified} CLUSTER ON ${q.ident(row.name)};`,
      });
    }
    if (row.replicaIdentity) {
      node.after.push({
        section: "post-data",
        kind: "REPLICA IDENTITY",
        schema: row.schema,
        name: row.name,
        sql: `ALTER TABLE ONLY ${tableQualified} REPLICA IDENTITY USING INDEX ${
          q.ident(row.name)
        };`,
      });
    }
    // Statistics targets of expression columns, which pg_dump sets right after the index.
    for (const { column, target } of row.statistics ?? []) {
      node.after.push({
        section: node.section,
        kind: "INDEX STATISTICS",
        schema: row.schema,
        name: row.name,
        sql: `ALTER INDEX ${qualified} ALTER COLUMN ${Number(column)} SET STATISTICS ${
          Number(target)
        };`,
      });
    }
  }
  const byOid = new Map(rows.map((r) => [r.oid, r]));
  for (const row of rows) {
    if (!relations.dumped.has(row.tableOid) || row.parentOid === null) continue;
    const parentIndex = byOid.get(row.parentOid);
    if (!parentIndex || !relations.dumped.has(parentIndex.tableOid)) continue;
    ctx.graph.add({
      id: `attachindex:${row.oid}`,
      section: "post-data",
      kind: "INDEX ATTACH",
      schema: row.schema,
      name: row.name,
      sql: `ALTER INDEX ${q.qualified(row.parentSchema!, row.parentName!)} ATTACH PARTITION ${
        q.qualified(row.schema, row.name)
      };`,
      priority: PRIORITY.indexAttach,
      deps: [ref("pg_class", row.oid), ref("pg_class", row.parentOid), `attach:${row.tableOid}`],
    });
  }
}
