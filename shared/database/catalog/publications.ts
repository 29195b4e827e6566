/**
 * Logical replication publications (Supabase Realtime's `supabase_realtime` among them) and
 * their tables and schemas. A publication is created only if it does not exist yet, so a
 * restore into a project that already has it just adds the tables.
 *
 * @module
 */
import { addComment, addOwner, type ReadContext } from "./context.ts";
import type { Queryable } from "./db.ts";
import { PRIORITY, ref } from "./graph.ts";
import { dollarQuote, quoteLiteral } from "./quote.ts";
import type { Relations } from "./relations.ts";

/** A row of {@link queryPublications}. */
export interface PublicationRow {
  oid: string;
  name: string;
  owner: string;
  allTables: boolean;
  publish: string[];
  viaRoot: boolean;
  comment: string | null;
  tables: { oid: string; columns: string[] | null; where: string | null }[];
  schemas: string[];
}

/** Every publication with its tables (column lists and row filters) and schemas. */
export function queryPublications(sql: Queryable): Promise<PublicationRow[]> {
  return sql<PublicationRow[]>`
    select p.oid::text as oid, p.pubname as name, pg_get_userbyid(p.pubowner) as owner,
      p.puballtables as "allTables",
      array_remove(array[case when p.pubinsert then 'insert' end,
        case when p.pubupdate then 'update' end, case when p.pubdelete then 'delete' end,
        case when p.pubtruncate then 'truncate' end], null) as publish,
      p.pubviaroot as "viaRoot", (select ds.description from pg_description ds where ds.objoid = p.oid
        and ds.classoid = 'pg_publication'::regclass and ds.objsubid = 0) as comment,
      coalesce((select json_agg(json_build_object('oid', pr.prrelid::text,
          'columns', (select array_agg(a.attname order by k.i)
            from unnest(pr.prattrs) with ordinality k(n, i)
            join pg_attribute a on a.attrelid = pr.prrelid and a.attnum = k.n),
          'where', pg_get_expr(pr.prqual, pr.prrelid)) order by pr.prrelid)
        from pg_publication_rel pr where pr.prpubid = p.oid), '[]') as tables,
      array(select n.nspname::text from pg_publication_namespace pn
        join pg_namespace n on n.oid = pn.pnnspid where pn.pnpubid = p.oid
        order by n.nspname) as schemas
    from pg_publication p
    order by p.pubname`;
}

/** Adds publications (unless only some tables are dumped) and their dumped members. */
export function buildPublications(
  ctx: ReadContext,
  rows: PublicationRow[],
  { relations }: { relations: Relations },
): void {
  const q = ctx.quoter;
  for (const row of rows) {
    const id = ref("pg_publication", row.oid);
    const name = q.ident(row.name);
    const options = [`publish = ${quoteLiteral(row.publish.join(", "))}`];
    if (row.viaRoot) options.push("publish_via_partition_root = true");
    const create = `CREATE PUBLICATION ${name}${row.allTables ? " FOR ALL TABLES" : ""} ` +
      `WITH (${options.join(", ")});`;
    const guard = `BEGIN\n  IF NOT EXISTS (SELECT FROM pg_catalog.pg_publication WHERE pubname = ${
      quoteLiteral(row.name)
    }) THEN\n    ${create}\n  END IF;\nEND`;
    const node = ctx.graph.add({
      id,
      section: "post-data",
      kind: "PUBLICATION",
      schema: null,
      name: row.name,
      sql: ctx.filter.tablesRestricted ? "" : `DO ${dollarQuote(guard)};`,
      priority: PRIORITY.publication,
    });
    if (!ctx.filter.tablesRestricted) {
      addOwner(ctx, node, { objectType: "PUBLICATION", name, owner: row.owner });
      addComment(node, {
        what: `PUBLICATION ${name}`,
        label: `PUBLICATION ${row.name}`,
        comment: row.comment,
      });
    }
    if (ctx.filter.tablesRestricted) continue;
    for (const table of row.tables) {
      if (!relations.dumped.has(table.oid)) continue;
      const rel = relations.byOid.get(table.oid)!;
      let sql = `ALTER PUBLICATION ${name} ADD TABLE ONLY ${q.qualified(rel.schema, rel.name)}`;
      if (table.columns) sql += ` (${table.columns.map((c) => q.ident(c)).join(", ")})`;
      if (table.where) sql += ` WHERE (${table.where})`;
      ctx.graph.add({
        id: `pubtable:${row.oid}:${table.oid}`,
        section: "post-data",
        kind: "PUBLICATION TABLE",
        schema: rel.schema,
        name: `${row.name} ${rel.name}`,
        sql: sql + ";",
        priority: PRIORITY.publication + 1,
        deps: [id, ref("pg_class", table.oid)],
      });
    }
    for (const schema of row.schemas) {
      if (!ctx.filter.schemaDdl(schema)) continue;
      ctx.graph.add({
        id: `pubschema:${row.oid}:${schema}`,
        section: "post-data",
        kind: "PUBLICATION TABLES IN SCHEMA",
        schema,
        name: `${row.name} ${schema}`,
        sql: `ALTER PUBLICATION ${name} ADD TABLES IN SCHEMA ${q.ident(schema)};`,
        priority: PRIORITY.publication + 1,
        deps: [id],
      });
    }
  }
}
