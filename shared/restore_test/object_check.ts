/**
 * The restored schema compared with the backup's, object by object: the scratch database is
 * read back with the same catalog reader and scope the backup used, and each kind's statements
 * (tables, functions, collations, casts, policies, grants, sequence values, …) must be the
 * ones the manifest recorded. Rows are checked by `table_checksum.ts`; this catches what rows
 * cannot show: an index, a trigger, a grant or a text search configuration that did not come
 * back, or came back different.
 *
 * @module
 */
import type { DumpScope, SchemaStatement } from "../database/catalog/model.ts";
import { readSchema } from "../database/catalog/mod.ts";
import type { Queryable } from "../database/catalog/db.ts";

/** One kind whose restored statements differ from the recorded ones. */
export interface ObjectMismatch {
  kind: string;
  /** Recorded in the backup, absent (or different) in the restored database. */
  missing: string[];
  /** In the restored database, not recorded in the backup (or recorded differently). */
  unexpected: string[];
}

/** What {@link compareObjects} found. */
export interface ObjectComparison {
  /** Statements recorded per kind (the objects checked). */
  counts: Record<string, number>;
  mismatches: ObjectMismatch[];
}

function label(statement: SchemaStatement): string {
  return `${statement.kind} ${statement.schema ? `${statement.schema}.` : ""}${statement.name}`;
}

/** Counts each statement text per kind. */
function tally(
  statements: readonly SchemaStatement[],
): Map<string, Map<string, SchemaStatement[]>> {
  const byKind = new Map<string, Map<string, SchemaStatement[]>>();
  for (const statement of statements) {
    let texts = byKind.get(statement.kind);
    if (!texts) byKind.set(statement.kind, texts = new Map());
    const same = texts.get(statement.sql);
    if (same) same.push(statement);
    else texts.set(statement.sql, [statement]);
  }
  return byKind;
}

/**
 * Reads the restored database (`sql`, a pool on the scratch database) with `scope` and
 * compares its statements, kind by kind, with `recorded` (the backup's sections, less what the
 * scratch database could not take).
 */
export async function compareObjects(
  sql: Queryable,
  recorded: readonly SchemaStatement[],
  scope: DumpScope,
): Promise<ObjectComparison> {
  const restored = await readSchema(sql, scope);
  const want = tally(recorded);
  const have = tally(restored.statements);
  const counts: Record<string, number> = {};
  const mismatches: ObjectMismatch[] = [];
  for (const kind of [...new Set([...want.keys(), ...have.keys()])].sort()) {
    const expected = want.get(kind) ?? new Map();
    const actual = have.get(kind) ?? new Map();
    counts[kind] = [...expected.values()].reduce((sum, list) => sum + list.length, 0);
    const missing: string[] = [];
    const unexpected: string[] = [];
    for (const [text, list] of expected) {
      const found = actual.get(text)?.length ?? 0;
      for (const statement of list.slice(found)) missing.push(label(statement));
    }
    for (const [text, list] of actual) {
      const found = expected.get(text)?.length ?? 0;
      for (const statement of list.slice(found)) unexpected.push(label(statement));
    }
    if (missing.length || unexpected.length) mismatches.push({ kind, missing, unexpected });
  }
  return { counts, mismatches };
}

/** One sentence naming the kinds that differ and a few of their objects. */
export function describeObjectMismatches(mismatches: readonly ObjectMismatch[]): string {
  return mismatches.slice(0, 5).map((m) => {
    const parts = [];
    if (m.missing.length) {
      parts.push(`missing ${m.missing.slice(0, 3).join(", ")}${m.missing.length > 3 ? ", …" : ""}`);
    }
    if (m.unexpected.length) {
      parts.push(
        `different or extra ${m.unexpected.slice(0, 3).join(", ")}${
          m.unexpected.length > 3 ? ", …" : ""
        }`,
      );
    }
    return `${m.kind}: ${parts.join("; ")}`;
  }).join(" | ") + (mismatches.length > 5 ? ` (and ${mismatches.length - 5} more kinds)` : "");
}
