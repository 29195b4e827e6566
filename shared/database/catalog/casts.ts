/**
 * Casts, database-wide, chosen as pg_dump chooses them: every cast created after initdb that
 * does not belong to an extension (nor to a range type: its cast to its multirange), and only
 * when the dump is not narrowed to some schemas or tables. Written
 * `CREATE CAST (<source> AS <target>) WITH FUNCTION <schema>.<name>(<types>)`,
 * `WITHOUT FUNCTION` or `WITH INOUT`, then `AS ASSIGNMENT` or `AS IMPLICIT`; casts have no
 * owner, only a comment.
 *
 * A cast is created after its function (pg_depend) and, by its priority, before the tables
 * and views whose definitions spell it (`price::public.money_eur`), as in pg_dump.
 *
 * @module
 */
import { addComment, type ReadContext } from "./context.ts";
import type { Queryable } from "./db.ts";
import { PRIORITY, ref } from "./graph.ts";

/** A row of {@link queryCasts}. */
export interface CastRow {
  oid: string;
  /** `format_type` of the source and target types (qualified unless in pg_catalog). */
  source: string;
  target: string;
  /** `f` function, `i` inout, `b` binary-coercible (without function). */
  method: string;
  /** `e` explicit, `a` assignment, `i` implicit. */
  context: string;
  /** `schema.name(argument types)`, when the method is `f`. */
  function: string | null;
  comment: string | null;
}

/**
 * Every cast created after initdb that does not belong to an extension, less those a range
 * type makes for itself (to its multirange type), which its `CREATE TYPE` brings back.
 */
export function queryCasts(sql: Queryable): Promise<CastRow[]> {
  return sql<CastRow[]>`
    select c.oid::text as oid, format_type(c.castsource, null) as source,
      format_type(c.casttarget, null) as target, c.castmethod as method,
      c.castcontext as context,
      (select quote_ident(pn.nspname) || '.' || quote_ident(p.proname) || '(' ||
          coalesce((select string_agg(format_type(a.type, null), ', ' order by a.n)
            from unnest(p.proargtypes) with ordinality a(type, n)), '') || ')'
        from pg_proc p join pg_namespace pn on pn.oid = p.pronamespace
        where p.oid = c.castfunc) as "function",
      (select ds.description from pg_description ds where ds.objoid = c.oid
        and ds.classoid = 'pg_cast'::regclass and ds.objsubid = 0) as comment
    from pg_cast c
    where c.oid >= 16384
      and not exists (select from pg_depend d where d.classid = 'pg_cast'::regclass
        and d.objid = c.oid and d.deptype in ('e', 'i'))
      and not exists (select from pg_range r
        where r.rngtypid = c.castsource and r.rngmultitypid = c.casttarget)
    order by 2, 3`;
}

const CONTEXTS: Record<string, string> = { a: " AS ASSIGNMENT", i: " AS IMPLICIT", e: "" };

/** `CREATE CAST …;`, or null for a cast method or context this reader does not know. */
export function castSql(row: CastRow): string | null {
  const context = CONTEXTS[row.context];
  let method: string;
  if (row.method === "b") method = "WITHOUT FUNCTION";
  else if (row.method === "i") method = "WITH INOUT";
  else if (row.method === "f" && row.function !== null) method = `WITH FUNCTION ${row.function}`;
  else return null;
  if (context === undefined) return null;
  return `CREATE CAST (${row.source} AS ${row.target}) ${method}${context};`;
}

/**
 * Adds a node per cast when the dump covers `everything` (not narrowed to some schemas or
 * tables, where pg_dump leaves casts out).
 */
export function buildCasts(
  ctx: ReadContext,
  rows: CastRow[],
  options: { everything: boolean },
): void {
  if (!options.everything || ctx.filter.tablesRestricted) return;
  for (const row of rows) {
    const id = ref("pg_cast", row.oid);
    if (ctx.members.has(id)) continue;
    const label = `(${row.source} AS ${row.target})`;
    const sql = castSql(row);
    if (sql === null) {
      ctx.warnings.push(`Cast ${label} (method ${row.method}) is not dumped`);
      continue;
    }
    const node = ctx.graph.add({
      id,
      section: "pre-data",
      kind: "CAST",
      schema: null,
      name: label,
      sql,
      priority: PRIORITY.cast,
    });
    addComment(node, { what: `CAST ${label}`, label: `CAST ${label}`, comment: row.comment });
  }
}
