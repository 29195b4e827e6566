/**
 * Quoting of identifiers and literals for generated DDL, matching the server's `quote_ident`.
 *
 * @module
 */

/** Quotes identifiers the way the server's `quote_ident` does, given its keyword list. */
export interface Quoter {
  /** `"Order Items"` for `Order Items`, `users` for `users`, `"select"` for `select`. */
  ident(name: string): string;
  /** `schema.name`, each part quoted. */
  qualified(schema: string, name: string): string;
}

const SIMPLE = /^[a-z_][a-z0-9_$]*$/;

/**
 * Makes a quoter from the server's non-unreserved keywords
 * (`select word from pg_get_keywords() where catcode <> 'U'`).
 */
export function makeQuoter(keywords: Iterable<string>): Quoter {
  const reserved = new Set(keywords);
  const ident = (name: string) =>
    SIMPLE.test(name) && !reserved.has(name) ? name : `"${name.replaceAll('"', '""')}"`;
  return { ident, qualified: (schema, name) => `${ident(schema)}.${ident(name)}` };
}

/** A string literal for a script that runs with `standard_conforming_strings = on`. */
export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** A dollar-quoted string whose delimiter does not occur in the value. */
export function dollarQuote(value: string): string {
  let tag = "$$";
  for (let i = 0; value.includes(tag); i++) tag = `$q${i === 0 ? "" : i}$`;
  return `${tag}${value}${tag}`;
}
