/**
 * What a restore needs to know about its destination before it touches anything: whether it
 * looks like a Supabase project, whether it holds anything, which of the backup's tables
 * exist there and which hold rows, and which roles are missing.
 *
 * @module
 */
import type postgres from "postgres";
import {
  isSystemSchema,
  SUPABASE_MANAGED_SCHEMA_PREFIXES,
  SUPABASE_MANAGED_SCHEMAS,
} from "../catalog/mod.ts";
import { qualifiedName, tableLabel } from "../../pg/sql_text.ts";

/** A table's state in the destination. */
export interface DestinationTable {
  schema: string;
  name: string;
  exists: boolean;
  /** Whether it holds at least one row (false when missing). */
  hasRows: boolean;
}

/** The destination as inspected. */
export interface Destination {
  isSupabase: boolean;
  /** It has user relations outside the platform's schemas, or rows in a table to load. */
  nonEmpty: boolean;
  /** Relations outside system and platform schemas (a few, for messages). */
  userRelations: string[];
  tables: Map<string, DestinationTable>;
  missingRoles: string[];
}

/** Inspects `sql`'s database for a restore of `tables` needing `roles`. */
export async function inspectDestination(
  sql: postgres.Sql,
  tables: readonly { schema: string; name: string }[],
  roles: readonly string[],
): Promise<Destination> {
  const [{ isSupabase }] = await sql<{ isSupabase: boolean }[]>`
    select to_regclass('auth.users') is not null
       and to_regclass('storage.objects') is not null
       and exists (select from pg_roles where rolname = 'service_role') as "isSupabase"`;
  const managed = isSupabase ? [...SUPABASE_MANAGED_SCHEMAS] : [];
  // LIKE patterns of the platform's schema prefixes (`_` escaped).
  const prefixes = isSupabase
    ? SUPABASE_MANAGED_SCHEMA_PREFIXES.map((prefix) => `${prefix.replaceAll("_", "\\_")}%`)
    : [];
  const relations = await sql<{ schema: string; name: string }[]>`
    select n.nspname as schema, c.relname as name
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
      and n.nspname <> 'information_schema' and n.nspname not like 'pg\_%'
      and n.nspname <> all(${managed}::text[])
      and not n.nspname like any(${prefixes}::text[])
      and not exists (select from pg_depend d where d.classid = 'pg_class'::regclass
        and d.objid = c.oid and d.deptype = 'e')
    order by 1, 2`;
  const userRelations = relations
    .filter((relation) => !isSystemSchema(relation.schema))
    .map((relation) => tableLabel(relation));
  const found = tables.length === 0 ? [] : await sql<{ schema: string; name: string }[]>`
    select t.schema, t.name
    from unnest(${tables.map((t) => t.schema)}::text[], ${tables.map((t) => t.name)}::text[])
      as t(schema, name)
    join pg_namespace n on n.nspname = t.schema
    join pg_class c on c.relnamespace = n.oid and c.relname = t.name
      and c.relkind in ('r', 'p')`;
  const existing = new Set(found.map((table) => tableLabel(table)));
  const states = new Map<string, DestinationTable>();
  for (const table of tables) {
    const label = tableLabel(table);
    const exists = existing.has(label);
    let hasRows = false;
    if (exists) {
      // The name is quoted by qualifiedName; the statement has no parameters.
      const [row] = await sql.unsafe<{ any: boolean }[]>(
        `select exists (select from ${qualifiedName(table.schema, table.name)}) as any`,
      );
      hasRows = row.any;
    }
    states.set(label, { schema: table.schema, name: table.name, exists, hasRows });
  }
  const present = await sql<{ name: string }[]>`
    select rolname as name from pg_roles where rolname = any(${[...roles]}::text[])`;
  const presentNames = new Set(present.map((row) => row.name));
  return {
    isSupabase,
    nonEmpty: userRelations.length > 0 || [...states.values()].some((table) => table.hasRows),
    userRelations,
    tables: states,
    missingRoles: roles.filter((role) => !presentNames.has(role)),
  };
}
