/**
 * The roles a Supabase project created itself, so that a restore into a new project has them
 * before anything names them: their attributes, their per-role settings and their
 * memberships, never a password (as `supabase db dump --role-only`, which runs
 * `pg_dumpall --roles-only --no-role-passwords`).
 *
 * The platform's roles are left alone, as the CLI leaves them (it comments out every
 * `CREATE ROLE` and `ALTER ROLE` of them): {@link isSupabasePlatformRole}. A restore never
 * alters a role that exists: each role is created only where it is missing. A membership is
 * granted when either side is the project's own (`GRANT my_role TO authenticator` included),
 * never between two platform roles.
 *
 * Unlike the CLI, a platform role's own settings (`ALTER ROLE authenticated SET
 * statement_timeout`, which the CLI keeps for a few names) are not carried: the new project's
 * are its own.
 *
 * @module
 */
import type { ReadContext } from "./context.ts";
import type { Queryable } from "./db.ts";
import type { SchemaStatement } from "./model.ts";
import { dollarQuote, quoteLiteral, type Quoter } from "./quote.ts";

/**
 * The platform's roles, as the CLI's `--role-only` excludes them (anon, authenticated,
 * authenticator, cli_login_*, dashboard_user, pgbouncer, postgres, service_role, supabase_*,
 * pgsodium_keyholder, pgsodium_keyiduser, pgsodium_keymaker, pgtle_admin), and PostgreSQL's
 * own `pg_*` roles, which pg_dumpall never dumps.
 */
const PLATFORM_ROLE =
  /^(anon|authenticated|authenticator|cli_login_.*|dashboard_user|pgbouncer|postgres|service_role|supabase_.*|pgsodium_keyholder|pgsodium_keyiduser|pgsodium_keymaker|pgtle_admin|pg_.*)$/s;

/** Whether a role belongs to the Supabase platform (or to PostgreSQL) rather than the project. */
export function isSupabasePlatformRole(name: string): boolean {
  return PLATFORM_ROLE.test(name);
}

/** A row of {@link queryRoles}. */
export interface RoleRow {
  name: string;
  superuser: boolean;
  inherit: boolean;
  createRole: boolean;
  createDb: boolean;
  login: boolean;
  replication: boolean;
  bypassRls: boolean;
  connectionLimit: number;
  /** `VALID UNTIL`, in UTC (`infinity` as is), or null. */
  validUntil: string | null;
  /** The role's own settings in every database (`name=value`). */
  settings: string[];
}

/** A row of {@link queryRoleMemberships}. */
export interface MembershipRow {
  role: string;
  member: string;
  admin: boolean;
  /** PostgreSQL 16 on; null before. */
  inherit: boolean | null;
  /** PostgreSQL 16 on; null before. */
  set: boolean | null;
}

/** Every role (from pg_roles, which any role may read; passwords are never read). */
export function queryRoles(sql: Queryable): Promise<RoleRow[]> {
  return sql<RoleRow[]>`
    select r.rolname as name, r.rolsuper as superuser, r.rolinherit as inherit,
      r.rolcreaterole as "createRole", r.rolcreatedb as "createDb", r.rolcanlogin as login,
      r.rolreplication as replication, r.rolbypassrls as "bypassRls",
      r.rolconnlimit as "connectionLimit",
      case when r.rolvaliduntil is null then null
        when isfinite(r.rolvaliduntil)
          then to_char(r.rolvaliduntil at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'
        else r.rolvaliduntil::text end as "validUntil",
      coalesce((select s.setconfig::text[] from pg_db_role_setting s
        where s.setrole = r.oid and s.setdatabase = 0), '{}') as settings
    from pg_roles r
    order by r.rolname`;
}

/** Every role membership (the INHERIT and SET options where the server has them). */
export function queryRoleMemberships(sql: Queryable): Promise<MembershipRow[]> {
  return sql<MembershipRow[]>`
    select pg_get_userbyid(m.roleid) as role, pg_get_userbyid(m.member) as member,
      m.admin_option as admin, (to_jsonb(m) ->> 'inherit_option')::boolean as inherit,
      (to_jsonb(m) ->> 'set_option')::boolean as set
    from pg_auth_members m
    order by 1, 2`;
}

/** Settings whose value is a list of names, each quoted on its own (as pg_dumpall knows). */
const LIST_SETTINGS = new Set([
  "local_preload_libraries",
  "search_path",
  "session_preload_libraries",
  "shared_preload_libraries",
  "temp_tablespaces",
  "unix_socket_directories",
]);

/** Splits a list setting's stored value (`"$user", public`) into its names. */
export function splitSettingList(value: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < value.length) {
    while (value[i] === " ") i++;
    let name = "";
    if (value[i] === '"') {
      i++;
      while (i < value.length) {
        if (value[i] === '"' && value[i + 1] === '"') {
          name += '"';
          i += 2;
        } else if (value[i] === '"') {
          i++;
          break;
        } else name += value[i++];
      }
    } else {
      while (i < value.length && value[i] !== ",") name += value[i++];
      name = name.trim();
    }
    out.push(name);
    while (i < value.length && value[i] !== ",") i++;
    i++;
  }
  return out;
}

/** `ALTER ROLE … SET name TO …` from a pg_db_role_setting entry. */
function settingSql(role: string, entry: string, quoter: Quoter): string {
  const eq = entry.indexOf("=");
  const name = eq < 0 ? entry : entry.slice(0, eq);
  const value = eq < 0 ? "" : entry.slice(eq + 1);
  const values = LIST_SETTINGS.has(name.toLowerCase())
    ? splitSettingList(value).map(quoteLiteral).join(", ")
    : quoteLiteral(value);
  return `ALTER ROLE ${quoter.ident(role)} SET ${quoter.ident(name)} TO ${values};`;
}

/** `CREATE ROLE` with the role's attributes that differ from CREATE ROLE's defaults. */
function createRoleSql(row: RoleRow, quoter: Quoter): string {
  const attributes: string[] = [];
  if (row.superuser) attributes.push("SUPERUSER");
  if (!row.inherit) attributes.push("NOINHERIT");
  if (row.createRole) attributes.push("CREATEROLE");
  if (row.createDb) attributes.push("CREATEDB");
  attributes.push(row.login ? "LOGIN" : "NOLOGIN");
  if (row.replication) attributes.push("REPLICATION");
  if (row.bypassRls) attributes.push("BYPASSRLS");
  if (row.connectionLimit !== -1) attributes.push(`CONNECTION LIMIT ${row.connectionLimit}`);
  if (row.validUntil !== null) attributes.push(`VALID UNTIL ${quoteLiteral(row.validUntil)}`);
  return `CREATE ROLE ${quoter.ident(row.name)} WITH ${attributes.join(" ")};`;
}

/** A role name as `to_regrole` reads it. */
function regrole(name: string, quoter: Quoter): string {
  return `pg_catalog.to_regrole(${quoteLiteral(quoter.ident(name))})`;
}

function guarded(condition: string, statements: string[]): string {
  const body = `BEGIN\n  IF ${condition} THEN\n    ${
    statements.join("\n").replaceAll("\n", "\n    ")
  }\n  END IF;\nEND`;
  return `DO ${dollarQuote(body)};`;
}

/**
 * The statements that create the project's roles where they are missing (kind `ROLE`, one per
 * role, with its settings) and grant their memberships (kind `ROLE MEMBERSHIP`), in that
 * order: for the start of pre-data, before anything names them.
 */
export function buildRoles(
  ctx: ReadContext,
  rows: readonly RoleRow[],
  memberships: readonly MembershipRow[],
): SchemaStatement[] {
  const q = ctx.quoter;
  const out: SchemaStatement[] = [];
  const own = new Set<string>();
  for (const row of rows) {
    if (isSupabasePlatformRole(row.name)) continue;
    own.add(row.name);
    ctx.roles.add(row.name);
    const statements = [
      createRoleSql(row, q),
      ...row.settings.map((entry) => settingSql(row.name, entry, q)),
    ];
    out.push({
      section: "pre-data",
      kind: "ROLE",
      schema: null,
      name: row.name,
      sql: guarded(`${regrole(row.name, q)} IS NULL`, statements),
    });
  }
  for (const m of memberships) {
    if (!own.has(m.role) && !own.has(m.member)) continue;
    const options: string[] = [];
    const member = rows.find((row) => row.name === m.member);
    const inheritDiffers = m.inherit !== null && member !== undefined &&
      m.inherit !== member.inherit;
    if (m.inherit !== null && (inheritDiffers || m.set === false)) {
      // PostgreSQL 16's per-grant options, only when they are not what GRANT gives anyway.
      if (m.admin) options.push("ADMIN TRUE");
      if (inheritDiffers) options.push(`INHERIT ${m.inherit ? "TRUE" : "FALSE"}`);
      if (m.set === false) options.push("SET FALSE");
    } else if (m.admin) options.push("ADMIN OPTION");
    const withOptions = options.length > 0 ? ` WITH ${options.join(", ")}` : "";
    ctx.roles.add(m.role);
    ctx.roles.add(m.member);
    out.push({
      section: "pre-data",
      kind: "ROLE MEMBERSHIP",
      schema: null,
      name: `${m.role} TO ${m.member}`,
      sql: guarded(
        `${regrole(m.role, q)} IS NOT NULL AND ${regrole(m.member, q)} IS NOT NULL`,
        [`GRANT ${q.ident(m.role)} TO ${q.ident(m.member)}${withOptions};`],
      ),
    });
  }
  return out;
}
