/**
 * Collations (libc, ICU, and builtin on the servers that have it), written as pg_dump writes
 * them: provider, `deterministic = false` when so, then one `locale` when the collation has a
 * single locale, else `lc_collate` and `lc_ctype`, then ICU `rules`. The collation version
 * is left for the restoring server to compute, as a plain pg_dump does.
 *
 * @module
 */
import { addComment, addOwner, type ReadContext } from "./context.ts";
import type { Queryable } from "./db.ts";
import { PRIORITY, ref } from "./graph.ts";
import { quoteLiteral, type Quoter } from "./quote.ts";

/** A row of {@link queryCollations}. */
export interface CollationRow {
  oid: string;
  schema: string;
  name: string;
  owner: string;
  /** `c` libc, `i` ICU, `b` builtin (PostgreSQL 17), `d` the database default. */
  provider: string;
  deterministic: boolean;
  collate: string | null;
  ctype: string | null;
  /** The ICU (or builtin) locale: `colliculocale` on 15 and 16, `colllocale` from 17. */
  locale: string | null;
  /** ICU tailoring rules (PostgreSQL 16 and later). */
  rules: string | null;
  comment: string | null;
}

/**
 * User collations in the given schemas, extension members excluded. The columns that were
 * renamed between major versions are read through `to_jsonb`, so one query serves them all.
 */
export function queryCollations(sql: Queryable, schemas: string[]): Promise<CollationRow[]> {
  return sql<CollationRow[]>`
    select c.oid::text as oid, n.nspname as schema, c.collname as name,
      pg_get_userbyid(c.collowner) as owner, c.collprovider as provider,
      c.collisdeterministic as deterministic, c.collcollate as collate, c.collctype as ctype,
      coalesce(to_jsonb(c) ->> 'colliculocale', to_jsonb(c) ->> 'colllocale') as locale,
      to_jsonb(c) ->> 'collicurules' as rules,
      (select ds.description from pg_description ds where ds.objoid = c.oid
        and ds.classoid = 'pg_collation'::regclass and ds.objsubid = 0) as comment
    from pg_collation c
    join pg_namespace n on n.oid = c.collnamespace
    where n.nspname = any(${schemas}) and c.oid >= 16384
      and not exists (select from pg_depend d where d.classid = 'pg_collation'::regclass
        and d.objid = c.oid and d.deptype = 'e')
    order by n.nspname, c.collname, c.oid`;
}

const PROVIDERS: Record<string, string> = { c: "libc", i: "icu", b: "builtin" };

/** `CREATE COLLATION …;` for a row, or null for a provider no CREATE COLLATION accepts. */
export function collationSql(row: CollationRow, quoter: Quoter): string | null {
  const provider = PROVIDERS[row.provider];
  if (provider === undefined) return null;
  let text = `CREATE COLLATION ${quoter.qualified(row.schema, row.name)} (provider = ${provider}`;
  if (!row.deterministic) text += ", deterministic = false";
  if (row.provider !== "c" && row.locale !== null) {
    text += `, locale = ${quoteLiteral(row.locale)}`;
  } else if (row.collate !== null && row.collate === row.ctype) {
    text += `, locale = ${quoteLiteral(row.collate)}`;
  } else if (row.collate !== null && row.ctype !== null) {
    text += `, lc_collate = ${quoteLiteral(row.collate)}, lc_ctype = ${quoteLiteral(row.ctype)}`;
  } else {
    return null;
  }
  if (row.rules !== null) text += `, rules = ${quoteLiteral(row.rules)}`;
  return `${text});`;
}

/** Adds a node per collation in scope, with its owner and comment. */
export function buildCollations(ctx: ReadContext, rows: CollationRow[]): void {
  const q = ctx.quoter;
  for (const row of rows) {
    const id = ref("pg_collation", row.oid);
    if (ctx.members.has(id) || !ctx.filter.schemaDdl(row.schema)) continue;
    if (ctx.filter.tablesRestricted) continue;
    const sql = collationSql(row, q);
    if (sql === null) {
      ctx.warnings.push(
        `Collation ${row.schema}.${row.name} (provider ${row.provider}) is not dumped`,
      );
      continue;
    }
    const qualified = q.qualified(row.schema, row.name);
    const node = ctx.graph.add({
      id,
      section: "pre-data",
      kind: "COLLATION",
      schema: row.schema,
      name: row.name,
      sql,
      priority: PRIORITY.collation,
    });
    addOwner(ctx, node, { objectType: "COLLATION", name: qualified, owner: row.owner });
    addComment(node, {
      what: `COLLATION ${qualified}`,
      label: `COLLATION ${row.name}`,
      comment: row.comment,
    });
  }
}
