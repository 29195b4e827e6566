/**
 * Which schemas and tables a dump covers: the Supabase-managed schemas (data only for a few
 * of their tables, never their DDL), system schemas, and the caller's include/exclude lists.
 *
 * @module
 */
import type { DumpScope } from "./model.ts";

/** Schemas whose DDL belongs to the Supabase platform (what `supabase db dump` skips). */
export const SUPABASE_MANAGED_SCHEMAS: readonly string[] = [
  "auth",
  "storage",
  "extensions",
  "graphql",
  "graphql_public",
  "realtime",
  "supabase_functions",
  "supabase_migrations",
  "vault",
  "pgsodium",
  "pgsodium_masks",
  "net",
  "cron",
  "_realtime",
  "_analytics",
  "pgbouncer",
  "pgtle",
];

/**
 * Tables in managed schemas whose rows are the project's own data (users, their identities
 * and factors, buckets and object metadata). Sessions, refresh tokens, one-time tokens,
 * flow state and audit logs are short-lived or security material and are left out.
 */
export const SUPABASE_MANAGED_DATA_TABLES: readonly string[] = [
  "auth.users",
  "auth.identities",
  "auth.mfa_factors",
  "auth.sso_providers",
  "auth.sso_domains",
  "auth.saml_providers",
  "auth.oauth_clients",
  "storage.buckets",
  "storage.objects",
];

/** True for pg_catalog, information_schema, pg_toast*, pg_temp* and other `pg_` schemas. */
export function isSystemSchema(schema: string): boolean {
  return schema === "information_schema" || schema.startsWith("pg_");
}

/** Decides what a dump covers, once the database's kind is known. */
export interface ScopeFilter {
  /** The schema's DDL (and its objects' DDL) is dumped. */
  schemaDdl(schema: string): boolean;
  /** A relation's DDL is dumped (its schema's DDL is, and the table lists allow it). */
  relationDdl(schema: string, name: string): boolean;
  /** The table's rows are dumped (`ancestors`: the partitioned tables above a partition). */
  tableData(schema: string, name: string, ancestors: string[]): boolean;
  /** The table is a managed Supabase table copied for its data. */
  managed(schema: string, name: string): boolean;
  /** Whether table lists restrict the dump (then only those relations' DDL is dumped). */
  tablesRestricted: boolean;
}

/** Builds the filter for a database (Supabase or plain PostgreSQL) and a caller's scope. */
export function scopeFilter(scope: DumpScope, options: { isSupabase: boolean }): ScopeFilter {
  const managedSchemas = new Set(options.isSupabase ? SUPABASE_MANAGED_SCHEMAS : []);
  const managedTables = new Set(options.isSupabase ? SUPABASE_MANAGED_DATA_TABLES : []);
  const include = scope.includeSchemas ? new Set(scope.includeSchemas) : null;
  const exclude = new Set(scope.excludeSchemas ?? []);
  const includeTables = scope.includeTables ? new Set(scope.includeTables) : null;
  const excludeTables = new Set(scope.excludeTables ?? []);
  const listed = (schema: string) =>
    (include === null || include.has(schema)) && !exclude.has(schema);
  const schemaDdl = (schema: string) =>
    !isSystemSchema(schema) && !managedSchemas.has(schema) && listed(schema);
  const tableListed = (qualified: string[]) =>
    (includeTables === null || qualified.some((name) => includeTables.has(name))) &&
    !qualified.some((name) => excludeTables.has(name));
  return {
    schemaDdl,
    relationDdl: (schema, name) => schemaDdl(schema) && tableListed([`${schema}.${name}`]),
    tableData(schema, name, ancestors) {
      const qualified = `${schema}.${name}`;
      const names = [qualified, ...ancestors];
      if (managedTables.has(qualified)) return listed(schema) && tableListed(names);
      return schemaDdl(schema) && tableListed(names);
    },
    managed: (schema, name) => managedTables.has(`${schema}.${name}`),
    tablesRestricted: includeTables !== null,
  };
}
