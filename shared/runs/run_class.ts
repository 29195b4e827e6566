/**
 * Which `backup_runs` rows stand for a full backup of the project (`database/backup_class.ts`):
 * a `database` run records its class in `details.class`; a run from before classes derives it
 * from the scope it was asked for (`details.scope`), and a restore test records the class of
 * the backup it restored. Freshness, size and restore-test checks, and prune's health gate,
 * count only these.
 *
 * @module
 */
import type postgres from "postgres";

/** A `details.scope` that leaves part of the database out (as `isPartialScope` reads it). */
const PARTIAL_SCOPE = "$.scope ? (@.schemaOnly == true || @.dataOnly == true || " +
  "@.includeSchemas.size() > 0 || @.excludeSchemas.size() > 0 || " +
  "@.includeTables.size() > 0 || @.excludeTables.size() > 0)";

/** An SQL condition on a `backup_runs` row: its backup is (or its test restored) a full one. */
export function fullBackupRun(sql: postgres.Sql): postgres.PendingQuery<postgres.Row[]> {
  return sql`coalesce(details ->> 'class', case
    when jsonb_path_exists(details, ${PARTIAL_SCOPE}::jsonpath) then 'partial' else 'full'
  end) = 'full'`;
}
