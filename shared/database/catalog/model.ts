/**
 * The shapes that the catalog reader hands to the rest of the engine.
 *
 * @module
 */
import type { KeyColumn } from "../../pg/slices.ts";

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
   * On Supabase, also dump the project's own hooks on the managed tables whose data is
   * dumped: triggers whose function is in a dumped schema (the usual `on_auth_user_created`
   * on auth.users) and the policies on those tables (storage.objects access rules). Off by
   * default: then nothing of the managed schemas but their rows is dumped, as with
   * `supabase db dump`.
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
   * open each section), `SCHEMA`, `EXTENSION`, `TYPE`, `DOMAIN`, `FUNCTION`, `PROCEDURE`,
   * `SEQUENCE`, `SEQUENCE OWNED BY`, `TABLE` (also a table's column settings, identity and
   * FORCE ROW LEVEL SECURITY that follow its CREATE), `TABLE ATTACH`, `VIEW`, `DEFAULT`,
   * `MATERIALIZED VIEW`, `OWNER` (guarded: runs only if the role exists and the restoring user
   * is a member of it), `COMMENT`, `CONSTRAINT`, `CHECK CONSTRAINT` (NOT VALID ones),
   * `FK CONSTRAINT`, `INDEX`, `INDEX ATTACH`, `CLUSTER`, `REPLICA IDENTITY`, `STATISTICS`,
   * `RULE`, `TRIGGER`, `POLICY`, `ROW SECURITY`, `PUBLICATION`, `PUBLICATION TABLE`,
   * `PUBLICATION TABLES IN SCHEMA`, `SEQUENCE SET`, `ACL` (one GRANT or REVOKE each),
   * `DEFAULT ACL`, `MATERIALIZED VIEW DATA`, `EVENT TRIGGER`.
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
}

// Defined with the key-range reads that use it (`pg/slices.ts`), below the catalog.
export type { KeyColumn } from "../../pg/slices.ts";

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
  /** Roles the statements refer to (owners, grants, policies); a restore needs them to exist. */
  roles: string[];
  /** Objects in scope that are not reproduced (unsupported kinds), as human-readable notes. */
  warnings: string[];
}
