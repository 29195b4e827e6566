/**
 * Renders statements as a plain SQL script, for restores through `psql -f`.
 *
 * @module
 */
import type { SchemaStatement, Section } from "./model.ts";

/**
 * One SQL script for a section (or both, in order), each statement under a pg_dump-like
 * `-- Name: …; Type: …; Schema: …` header. Run it with `psql -v ON_ERROR_STOP=1 -f`.
 */
export function renderScript(statements: SchemaStatement[], section?: Section): string {
  const chosen = section === undefined
    ? statements
    : statements.filter((s) => s.section === section);
  const parts = ["--\n-- Sauvegarde schema dump" + (section ? ` (${section})` : "") + "\n--\n"];
  for (const s of chosen) {
    parts.push(
      `--\n-- Name: ${s.name}; Type: ${s.kind}; Schema: ${s.schema ?? "-"}\n--\n\n${s.sql}\n`,
    );
  }
  return parts.join("\n");
}
