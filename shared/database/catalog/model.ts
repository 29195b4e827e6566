/**
 * The shapes that the catalog reader hands to the rest of the engine.
 *
 * @module
 */
import type { KeyColumn } from "../../pg/slices.ts";
import type { LargeObjectCensus } from "../../pg/large_objects.ts";

/** Which schemas and tables a dump covers, and which halves (DDL, data) it produces. */
export interface DumpScope {
  /** Only these schemas (DDL and data). Default: every schema in scope for the database. */
  includeSchemas?: string[];
  /** Never these schemas. */
  excludeSchemas?: string[];
  /** Only these tables, as `"schema.table"` (unquoted). Applies to data and table DDL. */
  includeTables?: string[];
  /** Never these tables, as `"schema.table"` (unquoted). */
  excludeTables?: string[];
  /** DDL only: no tables to copy. */
  schemaOnly?: boolean;
  /** Data only: no statements except `SEQUENCE SET`. */
  dataOnly?: boolean;
  /**
   * On Supabase, also dump the project's own hooks on the platform's tables (those of the
   * managed schemas the lists allow): triggers whose function is dumped (the usual
   * `on_auth_user_created` on auth.users), the policies (storage.objects and
   * realtime.messages access rules) and row security turned on or forced; restored after the
   * platform's DDL, each skipped where its table is missing or already has it
   * (`managed_hooks.ts`). On by default; false dumps nothing of the managed schemas but their
   * rows, as `supabase db dump` does.
   */
  managedTableHooks?: boolean;
}

/** A restore section, in the order a restore applies them. */
export type Section = "pre-data" | "post-data";

/** One complete DDL statement (or a few that belong together) of a schema dump. */
export interface SchemaStatement {
  /** `pre-data` runs before the data is loaded, `post-data` after it. */
  section: Section;
  /**
   * What it is, with pg_dump's names where pg_dump has one: `SET` (the session settings that
   * open each section), `ROLE` and `ROLE MEMBERSHIP` (a Supabase project's own roles, first in
   * pre-data, each created only where missing: `roles.ts`), `CRON RELOAD` (post-data, data:
   * pg_cron told its restored jobs are there: `cron_reload.ts`), `SCHEMA`, `PROCEDURAL LANGUAGE`, `COLLATION`, `TRANSFORM`, `EXTENSION`,
   * `SHELL TYPE` (a base type's `CREATE TYPE name;`, before its I/O functions), `TYPE`,
   * `DOMAIN`, `CAST` (database-wide, like pg_dump's), `FUNCTION`, `PROCEDURE`, `AGGREGATE`,
   * `OPERATOR`, `OPERATOR FAMILY` (also its loose members' `ALTER OPERATOR FAMILY … ADD`),
   * `OPERATOR CLASS`, `ACCESS METHOD`, `CONVERSION`, `TEXT SEARCH PARSER`, `TEXT SEARCH TEMPLATE`,
   * `TEXT SEARCH DICTIONARY`, `TEXT SEARCH CONFIGURATION` (with one `ADD MAPPING` per token
   * type), `FOREIGN DATA WRAPPER`, `SERVER`,
   * `USER MAPPING` (its options, passwords included, as pg_dump dumps them; never in a name),
   * `SEQUENCE`, `SEQUENCE OWNED BY`, `TABLE` (also a table's column settings, identity and
   * FORCE ROW LEVEL SECURITY that follow its CREATE), `FOREIGN TABLE` (likewise, with its
   * columns' OPTIONS), `TABLE ATTACH`, `VIEW`, `DEFAULT`,
   * `MATERIALIZED VIEW`, `OWNER` (guarded: runs only if the role exists and the restoring user
   * is a member of it), `COMMENT`, `CONSTRAINT`, `CHECK CONSTRAINT` (NOT VALID ones),
   * `FK CONSTRAINT`, `INDEX`, `INDEX ATTACH`, `CLUSTER`, `REPLICA IDENTITY`,
   * `INDEX STATISTICS` (an index column's `SET STATISTICS`), `STATISTICS`,
   * `RULE`, `TRIGGER`, `POLICY`, `ROW SECURITY`, `PUBLICATION`, `PUBLICATION TABLE`,
   * `PUBLICATION TABLES IN SCHEMA`, `SEQUENCE SET`, `ACL` (one GRANT or REVOKE each),
   * `DEFAULT ACL`, `MATERIALIZED VIEW DATA`, `EVENT TRIGGER`, `BLOB` (up to a thousand large
   * objects' `lo_create`, pre-data, with their owner, comments and privileges: data to
   * pg_dump, see `large_objects.ts`).
   *
   * `SEQUENCE SET` (pg_dump's data section) is post-data here: it runs after the rows are
   * loaded. Post-data ends like pg_restore: privileges, then default privileges, then
   * materialized view refreshes (they run with their owner's privileges), then event
   * triggers.
   */
  kind: string;
  /** The schema of the object, or null for schema-less objects (schemas, extensions, …). */
  schema: string | null;
  /** The object's name (for tables' sub-objects: `"table name"`, as pg_dump labels them). */
  name: string;
  /** Complete, `;`-terminated SQL, runnable as a simple-protocol script. */
  sql: string;
}

/** A table (or leaf partition) whose rows a data dump copies. */
export interface TableToCopy {
  schema: string;
  name: string;
  /** Unquoted column names to COPY, generated columns excluded, in attnum order. */
  columns: string[];
  /** `partition` for a leaf partition of a partitioned table. */
  kind: "table" | "partition";
  /** From pg_class.reltuples (0 when never analysed). */
  estimatedRows: number;
  /** From pg_table_size. */
  estimatedBytes: number;
  /** In a Supabase-managed schema (auth, storage): data only, its DDL is the platform's. */
  managed: boolean;
  /**
   * The key its rows can be read in order of, a key range at a time: the primary key, else a
   * unique index over NOT NULL columns (see `copy_keys.ts`). Absent: the table has none and is
   * always copied whole.
   */
  key?: KeyColumn[];
  /**
   * An extension's configuration table (`extension_config.ts`): the extension creates it, only
   * the rows its condition selects are copied, never in slices.
   */
  extension?: ExtensionConfigTable;
}

/** What makes a table an extension's configuration table (`pg_extension_config_dump`). */
export interface ExtensionConfigTable {
  /** The extension's name. */
  name: string;
  /** The extension's condition (`WHERE …`, SQL from the source's catalog), "" for all rows. */
  condition: string;
  /** Configuration tables (`schema.table`) its foreign keys reference: loaded before it. */
  loadAfter: string[];
}

// Defined with the key-range reads that use it (`pg/slices.ts`), below the catalog.
export type { KeyColumn } from "../../pg/slices.ts";
// Defined with the reads that take it (`pg/large_objects.ts`), below the catalog.
export type { LargeObjectCensus } from "../../pg/large_objects.ts";

/** Everything a backup needs to know about a database's schema. */
export interface DatabaseSchema {
  /** The database looks like a Supabase project (auth.users, storage.objects, service_role). */
  isSupabase: boolean;
  /** `server_version`, for example `15.8 (Debian 15.8-1.pgdg120+1)`. */
  serverVersion: string;
  /** The database's name. */
  database: string;
  /** Schemas whose DDL is dumped, sorted. */
  schemas: string[];
  /** DDL in restore order: every pre-data statement, then every post-data statement. */
  statements: SchemaStatement[];
  /** Tables whose data is dumped, sorted by schema and name. */
  tables: TableToCopy[];
  /**
   * The large objects whose contents are dumped, as of the snapshot (`large_objects.ts`);
   * absent when there are none or the dump holds none (schema-only, schemas or tables chosen).
   */
  largeObjects?: LargeObjectCensus;
  /**
   * Roles the statements refer to (owners, grants, policies); a restore needs them to exist.
   * Those a `ROLE` statement creates exist once pre-data has begun.
   */
  roles: string[];
  /** Objects in scope that are not reproduced (unsupported kinds), as human-readable notes. */
  warnings: string[];
}
