/**
 * Row-level security policies.
 *
 * @module
 */
import { addComment, type ReadContext } from "./context.ts";
import type { Queryable } from "./db.ts";
import { PRIORITY, ref } from "./graph.ts";
import { guardHook } from "./managed_hooks.ts";
import type { Relations } from "./relations.ts";

/** A row of {@link queryPolicies}. */
export interface PolicyRow {
  oid: string;
  name: string;
  tableOid: string;
  schema: string;
  table: string;
  command: string;
  permissive: boolean;
  /** Role names, `""` standing for PUBLIC. */
  roles: string[];
  using: string | null;
  check: string | null;
  comment: string | null;
}

/** Policies on relations in the given schemas. */
export function queryPolicies(sql: Queryable, schemas: string[]): Promise<PolicyRow[]> {
  return sql<PolicyRow[]>`
    select p.oid::text as oid, p.polname as name, p.polrelid::text as "tableOid",
      n.nspname as schema, c.relname as table, p.polcmd as command,
      p.polpermissive as permissive,
      array(select case when r.oid = 0 then '' else pg_get_userbyid(r.oid) end
        from unnest(p.polroles) with ordinality r(oid, i) order by r.i) as roles,
      pg_get_expr(p.polqual, p.polrelid) as using,
      pg_get_expr(p.polwithcheck, p.polrelid) as check,
      (select ds.description from pg_description ds where ds.objoid = p.oid
        and ds.classoid = 'pg_policy'::regclass and ds.objsubid = 0) as comment
    from pg_policy p
    join pg_class c on c.oid = p.polrelid
    join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = any(${schemas})
    order by n.nspname, c.relname, p.polname`;
}

const COMMAND: Record<string, string> = {
  "*": "",
  r: " FOR SELECT",
  a: " FOR INSERT",
  w: " FOR UPDATE",
  d: " FOR DELETE",
};

/** Adds a post-data node per policy. */
export function buildPolicies(
  ctx: ReadContext,
  rows: PolicyRow[],
  { relations }: { relations: Relations },
): void {
  const q = ctx.quoter;
  for (const row of rows) {
    if (!relations.dumped.has(row.tableOid) && !relations.hooked.has(row.tableOid)) continue;
    const qualified = q.qualified(row.schema, row.table);
    let sql = `CREATE POLICY ${q.ident(row.name)} ON ${qualified}`;
    if (!row.permissive) sql += " AS RESTRICTIVE";
    sql += COMMAND[row.command] ?? "";
    const roles = row.roles.map((r) => (r === "" ? "PUBLIC" : q.ident(r)));
    for (const r of row.roles) if (r !== "") ctx.roles.add(r);
    if (!(roles.length === 1 && roles[0] === "PUBLIC")) sql += ` TO ${roles.join(",")}`;
    if (row.using !== null) sql += ` USING (${row.using})`;
    if (row.check !== null) sql += ` WITH CHECK (${row.check})`;
    const node = ctx.graph.add({
      id: ref("pg_policy", row.oid),
      section: "post-data",
      kind: "POLICY",
      schema: row.schema,
      name: `${row.table} ${row.name}`,
      sql: sql + ";",
      priority: PRIORITY.policy,
      deps: [ref("pg_class", row.tableOid)],
    });
    addComment(node, {
      what: `POLICY ${q.ident(row.name)} ON ${qualified}`,
      label: `POLICY ${row.name} ON ${row.table}`,
      comment: row.comment,
    });
    if (!relations.dumped.has(row.tableOid)) {
      guardHook(ctx, node, {
        schema: row.schema,
        table: row.table,
        catalog: "pg_policy",
        name: row.name,
      });
    }
  }
}
