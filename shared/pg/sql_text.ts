/**
 * Identifier quoting for the few statements the data engine composes itself (COPY, LOCK,
 * TRUNCATE, count). postgres.js's `sql(name)` cannot be used for these names: it treats a dot
 * inside a name as a schema separator, and table names may contain dots.
 *
 * @module
 */

/** Always-quoted identifier: `"Order Items"`, `"a.b"`, `"x""y"`. */
export function quoteIdent(name: string): string {
  if (name.includes("\0")) throw new Error(`Identifier ${JSON.stringify(name)} contains a NUL`);
  return `"${name.replaceAll('"', '""')}"`;
}

/** `"schema"."name"`. */
export function qualifiedName(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

/** `"a", "b", "c"` for a column list. */
export function columnList(columns: readonly string[]): string {
  return columns.map(quoteIdent).join(", ");
}

/** The `schema.name` label used in options, manifests and messages (unquoted). */
export function tableLabel(table: { schema: string; name: string }): string {
  return `${table.schema}.${table.name}`;
}
