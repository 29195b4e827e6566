/**
 * Default privileges (`ALTER DEFAULT PRIVILEGES`), restored last so that they do not change
 * the privileges of the objects the restore creates.
 *
 * @module
 */
import { aclStatements, parseAclItem } from "./acl.ts";
import { type ReadContext, whenMemberOf } from "./context.ts";
import type { Queryable } from "./db.ts";
import { PRIORITY } from "./graph.ts";

/** A row of {@link queryDefaultAcls}. */
export interface DefaultAclRow {
  oid: string;
  role: string;
  schema: string | null;
  objectType: string;
  acl: string[];
  base: string[];
}

/** Every pg_default_acl entry. */
export function queryDefaultAcls(sql: Queryable): Promise<DefaultAclRow[]> {
  return sql<DefaultAclRow[]>`
    select d.oid::text as oid, pg_get_userbyid(d.defaclrole) as role,
      n.nspname as schema, d.defaclobjtype as "objectType", d.defaclacl::text[] as acl,
      case when d.defaclnamespace = 0 then acldefault((case d.defaclobjtype
          when 'r' then 'r' when 'S' then 's' when 'f' then 'f' when 'T' then 'T'
          else 'n' end)::"char", d.defaclrole)::text[]
        else '{}'::text[] end as base
    from pg_default_acl d left join pg_namespace n on n.oid = d.defaclnamespace
    order by pg_get_userbyid(d.defaclrole), n.nspname, d.defaclobjtype`;
}

const OBJECTS: Record<string, [string, string]> = {
  r: ["TABLES", "TABLE"],
  S: ["SEQUENCES", "SEQUENCE"],
  f: ["FUNCTIONS", "FUNCTION"],
  T: ["TYPES", "TYPE"],
  n: ["SCHEMAS", "SCHEMA"],
};

/**
 * Adds default privileges: those of dumped schemas, and the global ones unless the database
 * is a Supabase project (whose global defaults are the platform's).
 */
export function buildDefaultAcls(
  ctx: ReadContext,
  rows: DefaultAclRow[],
  options: { isSupabase: boolean },
): void {
  if (ctx.filter.tablesRestricted) return;
  for (const row of rows) {
    if (row.schema === null ? options.isSupabase : !ctx.filter.schemaDdl(row.schema)) continue;
    const [objects, type] = OBJECTS[row.objectType] ?? [];
    if (!objects) continue;
    const statements = aclStatements(row.acl, row.base, {
      target: { type, name: "", owner: row.role },
      quoter: ctx.quoter,
      defaults: { objects, schema: row.schema },
    });
    if (statements.length === 0) continue;
    ctx.roles.add(row.role);
    for (const item of row.acl) {
      const grantee = parseAclItem(item).grantee;
      if (grantee !== "") ctx.roles.add(grantee);
    }
    const node = ctx.graph.add({
      id: `defaultacl:${row.oid}`,
      section: "post-data",
      kind: "DEFAULT ACL",
      schema: row.schema,
      name: `DEFAULT PRIVILEGES FOR ${objects}`,
      sql: "",
      priority: PRIORITY.publication,
    });
    for (const statement of statements) {
      // Only a member of the role may change its default privileges.
      const sql = whenMemberOf(statement, { role: row.role, quoter: ctx.quoter });
      node.acl.push({
        section: "post-data",
        kind: "DEFAULT ACL",
        schema: row.schema,
        name: node.name,
        sql,
      });
    }
  }
}
