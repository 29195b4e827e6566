/**
 * Foreign data wrappers, foreign servers and user mappings, as pg_dump writes them:
 * `CREATE FOREIGN DATA WRAPPER … HANDLER … VALIDATOR … OPTIONS (…)`, `CREATE SERVER … TYPE …
 * VERSION … FOREIGN DATA WRAPPER … OPTIONS (…)` and `CREATE USER MAPPING FOR … SERVER …
 * OPTIONS (…)`, with owners, comments and USAGE privileges. Foreign tables are relations
 * (`relations.ts`).
 *
 * User mappings are dumped with their options, passwords included, exactly as pg_dump dumps
 * them: the DDL is stored like the rows, encrypted when the repository has a key. Option values
 * (server and wrapper options may hold API keys too) only ever appear in a statement's SQL,
 * never in its name, a warning or an error message. Options of a mapping the reading role may
 * not see (`pg_user_mappings` hides them) cannot be dumped: that is a warning, not a silent loss.
 *
 * Like pg_dump, none of these is dumped when the dump is restricted to schemas or tables; of an
 * extension's own wrapper or server only the privileges granted since are dumped.
 *
 * @module
 */
import { addAcl, addComment, addOwner, type ReadContext } from "./context.ts";
import { addMemberAclNode, type FunctionName } from "./database_objects.ts";
import type { Queryable } from "./db.ts";
import { PRIORITY, ref } from "./graph.ts";
import { quoteLiteral, type Quoter } from "./quote.ts";

/** Generic options (`pg_options_to_table`), as `[name, value]` sorted by name. */
export type GenericOptions = [string, string][];

/**
 * `OPTIONS (\n    name 'value',\n    …\n)` as pg_dump writes generic options, or "" when there
 * are none. Names are quoted like identifiers, values as literals.
 */
export function optionsClause(options: GenericOptions | null, quoter: Quoter): string {
  if (options === null || options.length === 0) return "";
  const lines = options.map(([name, value]) => `    ${quoter.ident(name)} ${quoteLiteral(value)}`);
  return `OPTIONS (\n${lines.join(",\n")}\n)`;
}

/** ` OPTIONS (…)` after a name, or "". */
function trailingOptions(options: GenericOptions | null, quoter: Quoter): string {
  const clause = optionsClause(options, quoter);
  return clause === "" ? "" : ` ${clause}`;
}

/** A row of {@link queryForeignDataWrappers}. */
export interface ForeignDataWrapperRow {
  oid: string;
  name: string;
  owner: string;
  handler: FunctionName | null;
  validator: FunctionName | null;
  options: GenericOptions | null;
  acl: string[] | null;
  base: string[] | null;
  comment: string | null;
}

/** Every foreign data wrapper of the database. */
export function queryForeignDataWrappers(sql: Queryable): Promise<ForeignDataWrapperRow[]> {
  return sql<ForeignDataWrapperRow[]>`
    select w.oid::text as oid, w.fdwname as name, pg_get_userbyid(w.fdwowner) as owner,
      (select json_build_object('schema', n.nspname, 'name', p.proname) from pg_proc p
        join pg_namespace n on n.oid = p.pronamespace where p.oid = w.fdwhandler) as handler,
      (select json_build_object('schema', n.nspname, 'name', p.proname) from pg_proc p
        join pg_namespace n on n.oid = p.pronamespace where p.oid = w.fdwvalidator)
        as validator,
      (select json_agg(json_build_array(o.option_name, o.option_value) order by o.option_name)
        from pg_options_to_table(w.fdwoptions) o) as options,
      w.fdwacl::text[] as acl,
      coalesce(ip.initprivs, acldefault('F', w.fdwowner))::text[] as base,
      (select ds.description from pg_description ds where ds.objoid = w.oid
        and ds.classoid = 'pg_foreign_data_wrapper'::regclass and ds.objsubid = 0) as comment
    from pg_foreign_data_wrapper w
    left join pg_init_privs ip on ip.classoid = 'pg_foreign_data_wrapper'::regclass
      and ip.objoid = w.oid and ip.objsubid = 0
    order by w.fdwname`;
}

/** A row of {@link queryForeignServers}. */
export interface ForeignServerRow {
  oid: string;
  name: string;
  owner: string;
  wrapperOid: string;
  wrapper: string;
  type: string | null;
  version: string | null;
  options: GenericOptions | null;
  acl: string[] | null;
  base: string[] | null;
  comment: string | null;
}

/** Every foreign server of the database. */
export function queryForeignServers(sql: Queryable): Promise<ForeignServerRow[]> {
  return sql<ForeignServerRow[]>`
    select s.oid::text as oid, s.srvname as name, pg_get_userbyid(s.srvowner) as owner,
      w.oid::text as "wrapperOid", w.fdwname as wrapper, s.srvtype as type,
      s.srvversion as version,
      (select json_agg(json_build_array(o.option_name, o.option_value) order by o.option_name)
        from pg_options_to_table(s.srvoptions) o) as options,
      s.srvacl::text[] as acl,
      coalesce(ip.initprivs, acldefault('S', s.srvowner))::text[] as base,
      (select ds.description from pg_description ds where ds.objoid = s.oid
        and ds.classoid = 'pg_foreign_server'::regclass and ds.objsubid = 0) as comment
    from pg_foreign_server s
    join pg_foreign_data_wrapper w on w.oid = s.srvfdw
    left join pg_init_privs ip on ip.classoid = 'pg_foreign_server'::regclass
      and ip.objoid = s.oid and ip.objsubid = 0
    order by s.srvname`;
}

/** A row of {@link queryUserMappings}. */
export interface UserMappingRow {
  oid: string;
  serverOid: string;
  server: string;
  /** The mapped role, or `public` for the mapping of PUBLIC. */
  role: string;
  isPublic: boolean;
  options: GenericOptions | null;
  /** Whether the reading role may see the mapping's options (see `pg_user_mappings`). */
  readable: boolean;
}

/**
 * Every user mapping, through `pg_user_mappings` (the catalog itself is for superusers only).
 * That view shows options only to a superuser, to the mapped role when it may use the server,
 * and, for the mapping of PUBLIC, to the server's owner; `readable` repeats its condition.
 */
export function queryUserMappings(sql: Queryable): Promise<UserMappingRow[]> {
  return sql<UserMappingRow[]>`
    select m.umid::text as oid, m.srvid::text as "serverOid", m.srvname as server,
      m.usename as role, m.umuser = 0 as "isPublic",
      (select json_agg(json_build_array(o.option_name, o.option_value) order by o.option_name)
        from pg_options_to_table(m.umoptions) o) as options,
      (m.umoptions is not null
        or (m.umuser <> 0 and m.usename = current_user
          and (pg_has_role(s.srvowner, 'USAGE') or has_server_privilege(s.oid, 'USAGE')))
        or (m.umuser = 0 and pg_has_role(s.srvowner, 'USAGE'))
        or coalesce((select r.rolsuper from pg_roles r where r.rolname = current_user), false))
        as readable
    from pg_user_mappings m
    join pg_foreign_server s on s.oid = m.srvid
    order by m.srvname, m.usename`;
}

/** What the foreign-data builder needs besides its rows. */
export interface ForeignDataOptions {
  /** False when the dump is restricted to schemas or tables (pg_dump then skips these kinds). */
  everything: boolean;
}

/** Adds foreign data wrappers, servers and user mappings. */
export function buildForeignData(
  ctx: ReadContext,
  rows: {
    wrappers: ForeignDataWrapperRow[];
    servers: ForeignServerRow[];
    mappings: UserMappingRow[];
  },
  options: ForeignDataOptions,
): void {
  if (!options.everything || ctx.filter.tablesRestricted) return;
  const q = ctx.quoter;
  for (const row of rows.wrappers) {
    const id = ref("pg_foreign_data_wrapper", row.oid);
    const name = q.ident(row.name);
    const target = { type: "FOREIGN DATA WRAPPER", name, owner: row.owner };
    const label = `FOREIGN DATA WRAPPER ${row.name}`;
    if (ctx.members.has(id)) {
      const node = addMemberAclNode(ctx, {
        catalog: "pg_foreign_data_wrapper",
        oid: row.oid,
        kind: "FOREIGN DATA WRAPPER",
        name: row.name,
        priority: PRIORITY.foreignDataWrapper,
      });
      if (node) addAcl(ctx, node, { acl: row.acl, base: row.base, target, label });
      continue;
    }
    let sql = `CREATE FOREIGN DATA WRAPPER ${name}`;
    if (row.handler) sql += ` HANDLER ${q.qualified(row.handler.schema, row.handler.name)}`;
    if (row.validator) {
      sql += ` VALIDATOR ${q.qualified(row.validator.schema, row.validator.name)}`;
    }
    sql += trailingOptions(row.options, q) + ";";
    const node = ctx.graph.add({
      id,
      section: "pre-data",
      kind: "FOREIGN DATA WRAPPER",
      schema: null,
      name: row.name,
      sql,
      priority: PRIORITY.foreignDataWrapper,
    });
    addOwner(ctx, node, { objectType: "FOREIGN DATA WRAPPER", name, owner: row.owner });
    addComment(node, { what: `FOREIGN DATA WRAPPER ${name}`, label, comment: row.comment });
    addAcl(ctx, node, { acl: row.acl, base: row.base, target, label });
  }

  const servers = new Set<string>();
  for (const row of rows.servers) {
    const id = ref("pg_foreign_server", row.oid);
    const name = q.ident(row.name);
    const target = { type: "FOREIGN SERVER", name, owner: row.owner };
    const label = `FOREIGN SERVER ${row.name}`;
    if (ctx.members.has(id)) {
      const node = addMemberAclNode(ctx, {
        catalog: "pg_foreign_server",
        oid: row.oid,
        kind: "SERVER",
        name: row.name,
        priority: PRIORITY.foreignServer,
      });
      if (node) addAcl(ctx, node, { acl: row.acl, base: row.base, target, label });
      continue;
    }
    servers.add(row.oid);
    let sql = `CREATE SERVER ${name}`;
    if (row.type) sql += ` TYPE ${quoteLiteral(row.type)}`;
    if (row.version) sql += ` VERSION ${quoteLiteral(row.version)}`;
    sql += ` FOREIGN DATA WRAPPER ${q.ident(row.wrapper)}${trailingOptions(row.options, q)};`;
    const node = ctx.graph.add({
      id,
      section: "pre-data",
      kind: "SERVER",
      schema: null,
      name: row.name,
      sql,
      priority: PRIORITY.foreignServer,
      deps: [ref("pg_foreign_data_wrapper", row.wrapperOid)],
    });
    addOwner(ctx, node, { objectType: "SERVER", name, owner: row.owner });
    addComment(node, { what: `SERVER ${name}`, label: `SERVER ${row.name}`, comment: row.comment });
    addAcl(ctx, node, { acl: row.acl, base: row.base, target, label });
  }

  for (const row of rows.mappings) {
    // A mapping belongs to its server's definition: an extension's server keeps its own.
    if (!servers.has(row.serverOid)) continue;
    // Named like pg_dump names it (after the kind); never with its options.
    const name = `${row.role} SERVER ${row.server}`;
    if (!row.readable) {
      ctx.warnings.push(
        `USER MAPPING ${name}: its options are not visible to the reading role and are not dumped`,
      );
    }
    if (!row.isPublic) ctx.roles.add(row.role);
    const role = row.isPublic ? "PUBLIC" : q.ident(row.role);
    ctx.graph.add({
      id: ref("pg_user_mapping", row.oid),
      section: "pre-data",
      kind: "USER MAPPING",
      schema: null,
      name,
      sql: `CREATE USER MAPPING FOR ${role} SERVER ${q.ident(row.server)}` +
        `${trailingOptions(row.options, q)};`,
      priority: PRIORITY.userMapping,
      deps: [ref("pg_foreign_server", row.serverOid)],
    });
  }
}
