/**
 * Transforms created by the user: `CREATE TRANSFORM FOR type LANGUAGE lang (FROM SQL WITH
 * FUNCTION …, TO SQL WITH FUNCTION …)`, with their comment. Those of extensions
 * (hstore_plpython3u, jsonb_plpython3u, …) come with their extension.
 *
 * @module
 */
import { addComment, type ReadContext } from "./context.ts";
import type { FunctionName } from "./database_objects.ts";
import type { Queryable } from "./db.ts";
import { PRIORITY, ref } from "./graph.ts";

/** A transform function: its name and argument types (`internal`). */
export interface TransformFunction extends FunctionName {
  arguments: string;
}

/** A row of {@link queryTransforms}. */
export interface TransformRow {
  oid: string;
  /** `format_type` of the type, schema-qualified (the search_path is empty while reading). */
  type: string;
  language: string;
  fromSql: TransformFunction | null;
  toSql: TransformFunction | null;
  comment: string | null;
}

/** Every transform created after initdb. */
export function queryTransforms(sql: Queryable): Promise<TransformRow[]> {
  return sql<TransformRow[]>`
    with fn as (
      select p.oid, json_build_object('schema', n.nspname, 'name', p.proname,
        'arguments', oidvectortypes(p.proargtypes)) as fn
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    )
    select t.oid::text as oid, format_type(t.trftype, null) as type, l.lanname as language,
      (select fn.fn from fn where fn.oid = t.trffromsql) as "fromSql",
      (select fn.fn from fn where fn.oid = t.trftosql) as "toSql",
      (select ds.description from pg_description ds where ds.objoid = t.oid
        and ds.classoid = 'pg_transform'::regclass and ds.objsubid = 0) as comment
    from pg_transform t
    join pg_language l on l.oid = t.trflang
    where t.oid >= 16384
    order by 2, 3`;
}

/** Adds the user's transforms (none when the dump is restricted, like pg_dump). */
export function buildTransforms(
  ctx: ReadContext,
  rows: TransformRow[],
  options: { everything: boolean },
): void {
  if (!options.everything || ctx.filter.tablesRestricted) return;
  const q = ctx.quoter;
  const fn = (f: TransformFunction) => `${q.qualified(f.schema, f.name)}(${f.arguments})`;
  for (const row of rows) {
    const id = ref("pg_transform", row.oid);
    if (ctx.members.has(id)) continue;
    const what = `TRANSFORM FOR ${row.type} LANGUAGE ${q.ident(row.language)}`;
    const parts: string[] = [];
    if (row.fromSql) parts.push(`FROM SQL WITH FUNCTION ${fn(row.fromSql)}`);
    if (row.toSql) parts.push(`TO SQL WITH FUNCTION ${fn(row.toSql)}`);
    const name = `FOR ${row.type} LANGUAGE ${row.language}`;
    const node = ctx.graph.add({
      id,
      section: "pre-data",
      kind: "TRANSFORM",
      schema: null,
      name,
      sql: `CREATE ${what} (${parts.join(", ")});`,
      priority: PRIORITY.transform,
    });
    addComment(node, { what, label: `TRANSFORM ${name}`, comment: row.comment });
  }
}
