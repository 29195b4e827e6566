/**
 * Session settings every engine connection uses, so that COPY text is read and written the
 * same way whatever the server's or role's defaults are (as pg_dump and pg_restore do).
 *
 * @module
 */
import type postgres from "postgres";

/** Any postgres.js handle that can run a query (pool, reserved connection, transaction). */
export type Queryable = postgres.Sql | postgres.ReservedSql | postgres.TransactionSql;

/** The settings every engine connection reads and writes COPY text with, in order. */
export const SESSION_SETTINGS: ReadonlyArray<readonly [name: string, value: string]> = [
  ["DateStyle", "ISO"],
  ["IntervalStyle", "postgres"],
  ["extra_float_digits", "3"],
  ["bytea_output", "hex"],
  ["statement_timeout", "0"],
  ["lock_timeout", "0"],
  ["idle_in_transaction_session_timeout", "0"],
  ["client_min_messages", "warning"],
  ["row_security", "off"],
];

/**
 * One statement setting {@link SESSION_SETTINGS}: for the session, or (`local`) for the
 * current transaction only, the form that holds through a transaction-mode pooler.
 */
export function sessionSettingsStatement(options: { local: boolean }): string {
  const calls = SESSION_SETTINGS.map(([name, value]) =>
    `pg_catalog.set_config('${name}', '${value}', ${options.local})`
  );
  return `select ${calls.join(", ")}`;
}

/**
 * Fixes the settings that change COPY's text format or could interrupt a long copy:
 * ISO dates, postgres intervals, exact floats, hex bytea, no statement, lock or idle timeouts,
 * and row security off (a COPY that row-level security would filter fails instead of silently
 * copying part of a table, as with pg_dump).
 *
 * `local`: for the current transaction only (`set_config(…, true)`), which `sql` must be in.
 * Session settings do not survive a transaction through a transaction-mode pooler (and would
 * stay behind on a server connection other clients then get), so every engine caller inside a
 * transaction passes it.
 */
export async function prepareSession(
  sql: Queryable,
  options: { searchPath?: string; local?: boolean } = {},
): Promise<void> {
  const local = options.local ?? false;
  // Constant text without parameters: one round trip, nothing prepared.
  await sql.unsafe(sessionSettingsStatement({ local }));
  if (options.searchPath !== undefined) {
    await sql`select pg_catalog.set_config('search_path', ${options.searchPath}, ${local})`;
  }
}
