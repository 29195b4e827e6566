/**
 * Functions and procedures, through the server's `pg_get_functiondef` (aggregates: see
 * `aggregates.ts`).
 *
 * @module
 */
import { addAcl, addComment, addOwner, type ReadContext } from "./context.ts";
import type { Queryable } from "./db.ts";
import { PRIORITY, ref } from "./graph.ts";

/** A row of {@link queryFunctions}. */
export interface FunctionRow {
  oid: string;
  schema: string;
  name: string;
  kind: string;
  arguments: string;
  def: string;
  owner: string;
  acl: string[] | null;
  base: string[] | null;
  comment: string | null;
}

/** Functions and procedures in the given schemas. */
export function queryFunctions(sql: Queryable, schemas: string[]): Promise<FunctionRow[]> {
  return sql<FunctionRow[]>`
    select p.oid::text as oid, n.nspname as schema, p.proname as name, p.prokind as kind,
      pg_get_function_identity_arguments(p.oid) as arguments,
      pg_get_functiondef(p.oid) as def,
      pg_get_userbyid(p.proowner) as owner, p.proacl::text[] as acl,
      coalesce(ip.initprivs, acldefault('f', p.proowner))::text[] as base,
      (select ds.description from pg_description ds where ds.objoid = p.oid
        and ds.classoid = 'pg_proc'::regclass and ds.objsubid = 0) as comment
    from pg_proc p
    join pg_namespace n on n.oid = p.pronamespace
    left join pg_init_privs ip on ip.classoid = 'pg_proc'::regclass and ip.objoid = p.oid
      and ip.objsubid = 0
    where n.nspname = any(${schemas}) and p.prokind <> 'a'
      and not exists (select from pg_depend d where d.classid = 'pg_proc'::regclass
        and d.objid = p.oid and d.deptype in ('e', 'i'))
    order by n.nspname, p.proname, p.oid`;
}

/** Adds a node per function or procedure in scope. */
export function buildFunctions(ctx: ReadContext, rows: FunctionRow[]): void {
  const q = ctx.quoter;
  for (const row of rows) {
    const id = ref("pg_proc", row.oid);
    if (ctx.members.has(id) || !ctx.filter.schemaDdl(row.schema)) continue;
    if (ctx.filter.tablesRestricted) continue;
    const label = `${row.name}(${row.arguments})`;
    const objectType = row.kind === "p" ? "PROCEDURE" : "FUNCTION";
    const signature = `${q.qualified(row.schema, row.name)}(${row.arguments})`;
    const def = row.def.trimEnd().replace(/^CREATE OR REPLACE /, "CREATE ");
    const node = ctx.graph.add({
      id,
      section: "pre-data",
      kind: objectType,
      schema: row.schema,
      name: label,
      sql: `${def};`,
      priority: PRIORITY.function,
    });
    addOwner(ctx, node, { objectType, name: signature, owner: row.owner });
    addComment(node, {
      what: `${objectType} ${signature}`,
      label: `${objectType} ${label}`,
      comment: row.comment,
    });
    addAcl(ctx, node, {
      acl: row.acl,
      base: row.base,
      target: { type: objectType, name: signature, owner: row.owner },
      label: `${objectType} ${label}`,
    });
  }
}
