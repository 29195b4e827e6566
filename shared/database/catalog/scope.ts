/**
 * Which schemas and tables a dump covers: the Supabase-managed schemas (data only for a few
 * of their tables, never their DDL), system schemas, and the caller's include/exclude lists.
 *
 * @module
 */
import type { DumpScope } from "./model.ts";

/*
 * What the Supabase CLI (2.117) leaves to the platform, read from the commands its
 * `supabase db dump --dry-run` prints:
 * - schema dump: `pg_dump --schema-only --exclude-schema` of information_schema, pg_*,
 *   _analytics, _realtime, _supavisor, auth, etl, extensions, pgbouncer, realtime, storage,
 *   supabase_functions, supabase_migrations, cron, dbdev, graphql, graphql_public, net, pgmq,
 *   pgsodium, pgsodium_masks, pgtle, repack, tiger, tiger_data, timescaledb_*, _timescaledb_*,
 *   topology and vault (and its sed drops the event triggers, the supabase_realtime
 *   publication, and grants on those schemas);
 * - data dump (`--data-only`): every schema but information_schema, pg_*, graphql,
 *   graphql_public, pgsodium, pgsodium_masks, pgtle, repack, tiger, tiger_data, timescaledb_*,
 *   _timescaledb_*, topology, vault, etl, extensions, pgbouncer, realtime,
 *   supabase_migrations, _analytics, _realtime and _supavisor; and no auth.schema_migrations,
 *   storage.migrations or supabase_functions.migrations. So it carries every table of auth,
 *   storage and supabase_functions, and the extensions' configuration tables (cron.job and
 *   cron.job_run_details among them).
 *
 * We take the schema list as it is. Our data differs on purpose:
 * - left out: auth.sessions, auth.refresh_tokens, auth.one_time_tokens, auth.flow_state,
 *   auth.mfa_challenges, auth.mfa_amr_claims, auth.oauth_authorizations,
 *   auth.saml_relay_states (short-lived security material: a restored copy would only revive
 *   sign-ins and codes the source had issued), auth.audit_log_entries (a log, often the
 *   largest table), auth.instances (unused), the platform's migration tables, and
 *   storage.prefixes (derived from storage.objects by the platform's triggers);
 * - carried: the project's own data below (users and how they sign in, OAuth clients and
 *   consents, buckets, object metadata, multipart uploads in progress, webhook history), and
 *   the hooks the project put on platform tables (see `DumpScope.managedTableHooks`), which
 *   `supabase db dump` loses with the schemas.
 * A listed table that a project does not have is simply not dumped.
 */

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
  "_supavisor",
  "pgbouncer",
  "pgtle",
  "etl",
  "dbdev",
  "pgmq",
  "repack",
  "tiger",
  "tiger_data",
  "topology",
];

/** Prefixes of platform schemas (the CLI's `timescaledb_*` and `_timescaledb_*`). */
export const SUPABASE_MANAGED_SCHEMA_PREFIXES: readonly string[] = [
  "timescaledb_",
  "_timescaledb_",
];

/** Whether a schema's DDL belongs to the Supabase platform. */
export function isSupabaseManagedSchema(schema: string): boolean {
  return SUPABASE_MANAGED_SCHEMAS.includes(schema) ||
    SUPABASE_MANAGED_SCHEMA_PREFIXES.some((prefix) => schema.startsWith(prefix));
}

/**
 * Tables in managed schemas whose rows are the project's own data (see above for what is left
 * out and why).
 */
export const SUPABASE_MANAGED_DATA_TABLES: readonly string[] = [
  "auth.users",
  "auth.identities",
  "auth.mfa_factors",
  "auth.webauthn_credentials",
  "auth.sso_providers",
  "auth.sso_domains",
  "auth.saml_providers",
  "auth.oauth_clients",
  "auth.oauth_consents",
  "auth.custom_oauth_providers",
  "storage.buckets",
  "storage.buckets_analytics",
  "storage.buckets_vectors",
  "storage.vector_indexes",
  "storage.objects",
  "storage.s3_multipart_uploads",
  "storage.s3_multipart_uploads_parts",
  "supabase_functions.hooks",
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
  /**
   * The table is a Supabase platform table whose project-made hooks (triggers, policies, row
   * security) may be dumped: in a managed schema the lists allow.
   */
  managedHooks(schema: string, name: string): boolean;
  /** Whether table lists restrict the dump (then only those relations' DDL is dumped). */
  tablesRestricted: boolean;
}

/** Builds the filter for a database (Supabase or plain PostgreSQL) and a caller's scope. */
export function scopeFilter(scope: DumpScope, options: { isSupabase: boolean }): ScopeFilter {
  const isManaged = (schema: string) => options.isSupabase && isSupabaseManagedSchema(schema);
  const managedTables = new Set(options.isSupabase ? SUPABASE_MANAGED_DATA_TABLES : []);
  const include = scope.includeSchemas ? new Set(scope.includeSchemas) : null;
  const exclude = new Set(scope.excludeSchemas ?? []);
  const includeTables = scope.includeTables ? new Set(scope.includeTables) : null;
  const excludeTables = new Set(scope.excludeTables ?? []);
  const listed = (schema: string) =>
    (include === null || include.has(schema)) && !exclude.has(schema);
  const schemaDdl = (schema: string) =>
    !isSystemSchema(schema) && !isManaged(schema) && listed(schema);
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
    managedHooks: (schema, name) =>
      isManaged(schema) && listed(schema) && tableListed([`${schema}.${name}`]),
    tablesRestricted: includeTables !== null,
  };
}
