/**
 * The schema half of a database backup: reads the catalogs over an ordinary connection and
 * produces the DDL as statements in pg_dump's sections and in dependency order, plus the
 * tables whose rows to copy.
 *
 * ```ts
 * const schema = await sql.begin("isolation level repeatable read read only", (tx) =>
 *   readSchema(tx, { excludeSchemas: ["scratch"] }));
 * const preData = renderScript(schema.statements, "pre-data");
 * ```
 *
 * @module
 */
export type {
  DatabaseSchema,
  DumpScope,
  KeyColumn,
  SchemaStatement,
  Section,
  TableToCopy,
} from "./model.ts";
export { readSchema } from "./read_schema.ts";
export { renderScript } from "./render.ts";
export { RESTORE_SETTINGS } from "./preamble.ts";
export {
  isSupabaseManagedSchema,
  isSystemSchema,
  SUPABASE_MANAGED_DATA_TABLES,
  SUPABASE_MANAGED_SCHEMA_PREFIXES,
  SUPABASE_MANAGED_SCHEMAS,
} from "./scope.ts";
export type { Queryable } from "./db.ts";
