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
import {
  type PrivilegeLetters,
  SUPABASE_DEFAULT_ACLS,
  SUPABASE_RESTORING_ROLE,
  supabaseDefaultAcl,
} from "./supabase_grants.ts";

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
 * Adds default privileges: those of dumped schemas, and the global ones. On a Supabase
 * project they are rendered against the project's own (`supabase_grants.ts`), so that the
 * source's revokes are replayed there too; a platform entry the source no longer has (every
 * grant of it revoked) is revoked whole.
 */
export function buildDefaultAcls(
  ctx: ReadContext,
  rows: DefaultAclRow[],
  options: { isSupabase: boolean; letters?: PrivilegeLetters },
): void {
  if (ctx.filter.tablesRestricted) return;
  const entries: Array<DefaultAclRow & { created?: string[] }> = [...rows];
  if (options.isSupabase && options.letters) {
    const letters = options.letters;
    for (const [i, row] of entries.entries()) {
      entries[i] = { ...row, created: supabaseDefaultAcl({ ...row, letters }) };
    }
    for (const platform of SUPABASE_DEFAULT_ACLS) {
      if (platform.role !== SUPABASE_RESTORING_ROLE) continue;
      const has = rows.some((row) =>
        row.role === platform.role && row.schema === platform.schema &&
        row.objectType === platform.objectType
      );
      if (has) continue;
      entries.push({
        oid: `platform:${platform.role}:${platform.schema}:${platform.objectType}`,
        role: platform.role,
        schema: platform.schema,
        objectType: platform.objectType,
        acl: [],
        base: [],
        created: supabaseDefaultAcl({ ...platform, letters }),
      });
    }
  }
  for (const row of entries) {
    if (row.schema !== null && !ctx.filter.schemaDdl(row.schema)) continue;
    const [objects, type] = OBJECTS[row.objectType] ?? [];
    if (!objects) continue;
    const statements = aclStatements(row.acl, row.base, {
      target: { type, name: "", owner: row.role },
      quoter: ctx.quoter,
      defaults: { objects, schema: row.schema },
      created: row.created,
    });
    if (statements.length === 0) continue;
    ctx.roles.add(row.role);
    for (const item of [...row.acl, ...(row.created ?? [])]) {
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
