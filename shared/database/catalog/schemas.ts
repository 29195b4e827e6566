/**
 * Schemas and extensions: `CREATE SCHEMA`, `CREATE EXTENSION IF NOT EXISTS … WITH SCHEMA`,
 * and which extension each member object belongs to (so those objects are never dumped).
 *
 * @module
 */
import { addAcl, addComment, addOwner, type ReadContext } from "./context.ts";
import type { Queryable } from "./db.ts";
import { PRIORITY, ref } from "./graph.ts";

/** A row of {@link querySchemas}. */
export interface SchemaRow {
  oid: string;
  name: string;
  owner: string;
  acl: string[] | null;
  base: string[] | null;
  comment: string | null;
  extensionMember: boolean;
}

/** Every schema of the database. */
export function querySchemas(sql: Queryable): Promise<SchemaRow[]> {
  return sql<SchemaRow[]>`
    select n.oid::text as oid, n.nspname as name, pg_get_userbyid(n.nspowner) as owner,
      n.nspacl::text[] as acl,
      coalesce(ip.initprivs, acldefault('n', n.nspowner))::text[] as base,
      (select ds.description from pg_description ds where ds.objoid = n.oid
        and ds.classoid = 'pg_namespace'::regclass and ds.objsubid = 0) as comment,
      exists (select from pg_depend d where d.classid = 'pg_namespace'::regclass
        and d.objid = n.oid and d.deptype = 'e') as "extensionMember"
    from pg_namespace n
    left join pg_init_privs ip on ip.classoid = 'pg_namespace'::regclass
      and ip.objoid = n.oid and ip.objsubid = 0
    order by n.nspname`;
}

/** A row of {@link queryExtensions}. */
export interface ExtensionRow {
  oid: string;
  name: string;
  schema: string;
  schemaOid: string;
}

/** Extensions created after initdb (plpgsql comes with every database). */
export function queryExtensions(sql: Queryable): Promise<ExtensionRow[]> {
  return sql<ExtensionRow[]>`
    select e.oid::text as oid, e.extname as name, n.nspname as schema,
      n.oid::text as "schemaOid"
    from pg_extension e join pg_namespace n on n.oid = e.extnamespace
    where e.oid >= 16384
    order by e.extname`;
}

/** A row of {@link queryExtensionMembers}. */
export interface MemberRow {
  catalog: string;
  oid: string;
  extension: string;
}

/** Every object that belongs to an extension. */
export function queryExtensionMembers(sql: Queryable): Promise<MemberRow[]> {
  return sql<MemberRow[]>`
    select d.classid::regclass::text as catalog, d.objid::text as oid,
      d.refobjid::text as extension
    from pg_depend d
    where d.deptype = 'e' and d.refclassid = 'pg_extension'::regclass`;
}

/** Adds schema nodes (the `public` schema only for its owner, comment and privileges). */
export function buildSchemas(ctx: ReadContext, rows: SchemaRow[]): void {
  const q = ctx.quoter;
  for (const row of rows) {
    if (row.extensionMember || !ctx.filter.schemaDdl(row.name)) continue;
    const isPublic = row.name === "public";
    const node = ctx.graph.add({
      id: ref("pg_namespace", row.oid),
      section: "pre-data",
      kind: "SCHEMA",
      schema: null,
      name: row.name,
      sql: isPublic || ctx.filter.tablesRestricted ? "" : `CREATE SCHEMA ${q.ident(row.name)};`,
      priority: PRIORITY.schema,
    });
    if (ctx.filter.tablesRestricted) continue;
    if (!isPublic || row.owner !== "pg_database_owner") {
      addOwner(ctx, node, { objectType: "SCHEMA", name: q.ident(row.name), owner: row.owner });
    }
    if (!isPublic || row.comment !== "standard public schema") {
      addComment(node, {
        what: `SCHEMA ${q.ident(row.name)}`,
        label: `SCHEMA ${row.name}`,
        comment: row.comment,
      });
    }
    addAcl(ctx, node, {
      acl: row.acl,
      base: row.base,
      target: { type: "SCHEMA", name: q.ident(row.name), owner: row.owner },
      label: `SCHEMA ${row.name}`,
    });
  }
}

/**
 * Adds `CREATE EXTENSION IF NOT EXISTS` nodes and maps every member object to its extension.
 * Extensions are dumped unless schemas or tables are restricted, then only those in an
 * included schema (as `pg_dump --schema` leaves extensions out).
 */
export function buildExtensions(
  ctx: ReadContext,
  rows: ExtensionRow[],
  options: { members: MemberRow[]; restricted: boolean; excluded: Set<string> },
): void {
  const q = ctx.quoter;
  for (const row of rows) {
    const id = ref("pg_extension", row.oid);
    if (options.excluded.has(row.schema)) continue;
    if (options.restricted && !ctx.filter.schemaDdl(row.schema)) continue;
    if (ctx.filter.tablesRestricted) continue;
    ctx.graph.add({
      id,
      section: "pre-data",
      kind: "EXTENSION",
      schema: null,
      name: row.name,
      sql: `CREATE EXTENSION IF NOT EXISTS ${q.ident(row.name)} WITH SCHEMA ${
        q.ident(row.schema)
      };`,
      priority: PRIORITY.extension,
      deps: [ref("pg_namespace", row.schemaOid)],
    });
  }
  for (const member of options.members) {
    // Members of an extension that is not dumped still must not be dumped themselves.
    ctx.graph.alias(ref(member.catalog, member.oid), ref("pg_extension", member.extension));
  }
}
