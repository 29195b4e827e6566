/**
 * Encoding conversions: `CREATE [DEFAULT] CONVERSION … FOR '<from>' TO '<to>' FROM <function>`,
 * as pg_dump writes them, with owner and comment.
 *
 * @module
 */
import { addComment, addOwner, type ReadContext } from "./context.ts";
import type { Queryable } from "./db.ts";
import { PRIORITY, ref } from "./graph.ts";
import { quoteLiteral, type Quoter } from "./quote.ts";

/** A row of {@link queryConversions}. */
export interface ConversionRow {
  oid: string;
  schema: string;
  name: string;
  owner: string;
  /** Encoding names, as `pg_encoding_to_char` gives them (`LATIN1`, `UTF8`). */
  from: string;
  to: string;
  /** The conversion function as `regproc` prints it (qualified unless in pg_catalog). */
  function: string;
  isDefault: boolean;
  comment: string | null;
}

/** User conversions in the given schemas, extension members excluded. */
export function queryConversions(sql: Queryable, schemas: string[]): Promise<ConversionRow[]> {
  return sql<ConversionRow[]>`
    select c.oid::text as oid, n.nspname as schema, c.conname as name,
      pg_get_userbyid(c.conowner) as owner, pg_encoding_to_char(c.conforencoding) as "from",
      pg_encoding_to_char(c.contoencoding) as "to", c.conproc::regproc::text as "function",
      c.condefault as "isDefault",
      (select ds.description from pg_description ds where ds.objoid = c.oid
        and ds.classoid = 'pg_conversion'::regclass and ds.objsubid = 0) as comment
    from pg_conversion c
    join pg_namespace n on n.oid = c.connamespace
    where n.nspname = any(${schemas}) and c.oid >= 16384
      and not exists (select from pg_depend d where d.classid = 'pg_conversion'::regclass
        and d.objid = c.oid and d.deptype = 'e')
    order by n.nspname, c.conname`;
}

/** `CREATE [DEFAULT] CONVERSION …;` */
export function conversionSql(row: ConversionRow, quoter: Quoter): string {
  return `CREATE ${row.isDefault ? "DEFAULT " : ""}CONVERSION ${
    quoter.qualified(row.schema, row.name)
  } FOR ${quoteLiteral(row.from)} TO ${quoteLiteral(row.to)} FROM ${row.function};`;
}

/** Adds a node per conversion in scope, with its owner and comment. */
export function buildConversions(ctx: ReadContext, rows: ConversionRow[]): void {
  const q = ctx.quoter;
  for (const row of rows) {
    const id = ref("pg_conversion", row.oid);
    if (ctx.members.has(id) || !ctx.filter.schemaDdl(row.schema)) continue;
    if (ctx.filter.tablesRestricted) continue;
    const qualified = q.qualified(row.schema, row.name);
    const node = ctx.graph.add({
      id,
      section: "pre-data",
      kind: "CONVERSION",
      schema: row.schema,
      name: row.name,
      sql: conversionSql(row, q),
      priority: PRIORITY.conversion,
    });
    addOwner(ctx, node, { objectType: "CONVERSION", name: qualified, owner: row.owner });
    addComment(node, {
      what: `CONVERSION ${qualified}`,
      label: `CONVERSION ${row.name}`,
      comment: row.comment,
    });
  }
}
