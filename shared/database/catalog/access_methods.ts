/**
 * Access methods created by the user: `CREATE ACCESS METHOD … TYPE TABLE|INDEX HANDLER …`, with
 * their comment (they have no owner and no privileges). A table or materialized view using one
 * depends on it (pg_depend), so the method comes first; `relations.ts` selects it for them with
 * `SET default_table_access_method`, as pg_dump does.
 *
 * @module
 */
import { addComment, type ReadContext } from "./context.ts";
import type { FunctionName } from "./database_objects.ts";
import type { Queryable } from "./db.ts";
import { PRIORITY, ref } from "./graph.ts";

/** A row of {@link queryAccessMethods}. */
export interface AccessMethodRow {
  oid: string;
  name: string;
  /** `t` (table) or `i` (index). */
  type: string;
  handler: FunctionName;
  comment: string | null;
}

/** Access methods created after initdb. */
export function queryAccessMethods(sql: Queryable): Promise<AccessMethodRow[]> {
  return sql<AccessMethodRow[]>`
    select a.oid::text as oid, a.amname as name, a.amtype as type,
      json_build_object('schema', n.nspname, 'name', p.proname) as handler,
      (select ds.description from pg_description ds where ds.objoid = a.oid
        and ds.classoid = 'pg_am'::regclass and ds.objsubid = 0) as comment
    from pg_am a
    join pg_proc p on p.oid = a.amhandler
    join pg_namespace n on n.oid = p.pronamespace
    where a.oid >= 16384
    order by a.amname`;
}

const TYPES: Record<string, string> = { t: "TABLE", i: "INDEX" };

/** Adds the user's access methods (none when the dump is restricted, like pg_dump). */
export function buildAccessMethods(
  ctx: ReadContext,
  rows: AccessMethodRow[],
  options: { everything: boolean },
): void {
  if (!options.everything || ctx.filter.tablesRestricted) return;
  const q = ctx.quoter;
  for (const row of rows) {
    const id = ref("pg_am", row.oid);
    const type = TYPES[row.type];
    if (ctx.members.has(id) || type === undefined) continue;
    const name = q.ident(row.name);
    const node = ctx.graph.add({
      id,
      section: "pre-data",
      kind: "ACCESS METHOD",
      schema: null,
      name: row.name,
      sql: `CREATE ACCESS METHOD ${name} TYPE ${type} HANDLER ${
        q.qualified(row.handler.schema, row.handler.name)
      };`,
      priority: PRIORITY.accessMethod,
    });
    addComment(node, {
      what: `ACCESS METHOD ${name}`,
      label: `ACCESS METHOD ${row.name}`,
      comment: row.comment,
    });
  }
}
