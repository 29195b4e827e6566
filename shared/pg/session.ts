/**
 * Session settings every engine connection uses, so that COPY text is read and written the
 * same way whatever the server's or role's defaults are (as pg_dump and pg_restore do).
 *
 * @module
 */
import type postgres from "postgres";

/** Any postgres.js handle that can run a query (pool, reserved connection, transaction). */
export type Queryable = postgres.Sql | postgres.ReservedSql | postgres.TransactionSql;

/**
 * Fixes the settings that change COPY's text format or could interrupt a long copy:
 * ISO dates, postgres intervals, exact floats, hex bytea, no statement, lock or idle timeouts,
 * and row security off (a COPY that row-level security would filter fails instead of silently
 * copying part of a table, as with pg_dump).
 */
export async function prepareSession(
  sql: Queryable,
  options: { searchPath?: string } = {},
): Promise<void> {
  await sql`
    select set_config('DateStyle', 'ISO', false),
           set_config('IntervalStyle', 'postgres', false),
           set_config('extra_float_digits', '3', false),
           set_config('bytea_output', 'hex', false),
           set_config('statement_timeout', '0', false),
           set_config('lock_timeout', '0', false),
           set_config('idle_in_transaction_session_timeout', '0', false),
           set_config('client_min_messages', 'warning', false),
           set_config('row_security', 'off', false)`;
  if (options.searchPath !== undefined) {
    await sql`select set_config('search_path', ${options.searchPath}, false)`;
  }
}
