/**
 * A Supabase project's own hooks on the platform's tables (see `DumpScope.managedTableHooks`):
 * its triggers whose function is dumped (the usual `on_auth_user_created` on auth.users), its
 * policies (storage.objects, realtime.messages) and row security turned on. The platform
 * creates the tables; a restore runs after the platform's DDL, so each hook is guarded: it is
 * skipped where the table is missing (an older project), or where a trigger or policy of that
 * name is already there (a project the app's migrations already ran on), and row security is
 * only turned on where it is off (the platform's own tables are not the restoring role's to
 * alter).
 *
 * @module
 */
import type { ReadContext } from "./context.ts";
import { type DumpNode, PRIORITY, ref } from "./graph.ts";
import { dollarQuote, quoteLiteral } from "./quote.ts";
import type { RelationRow } from "./relations_query.ts";

/** The platform tables whose hooks are dumped, by oid. */
export function hookedTables(
  ctx: ReadContext,
  rows: readonly RelationRow[],
  enabled: boolean,
): Set<string> {
  const hooked = new Set<string>();
  if (!enabled) return hooked;
  for (const row of rows) {
    if (row.kind !== "r" && row.kind !== "p") continue;
    if (ctx.members.has(ref("pg_class", row.oid))) continue;
    if (ctx.filter.managedHooks(row.schema, row.name)) hooked.add(row.oid);
  }
  return hooked;
}

function regclass(ctx: ReadContext, schema: string, table: string): string {
  return `pg_catalog.to_regclass(${quoteLiteral(ctx.quoter.qualified(schema, table))})`;
}

function guard(condition: string, sql: string): string {
  const body = `BEGIN\n  IF ${condition} THEN\n    ${
    sql.replaceAll("\n", "\n    ")
  }\n  END IF;\nEND`;
  return `DO ${dollarQuote(body)};`;
}

/**
 * Guards a trigger's or policy's node on a platform table: created only where the table exists
 * and has none of that name; its comments only where the table exists.
 */
export function guardHook(
  ctx: ReadContext,
  node: DumpNode,
  options: { schema: string; table: string; catalog: "pg_trigger" | "pg_policy"; name: string },
): void {
  const table = regclass(ctx, options.schema, options.table);
  const [relid, column] = options.catalog === "pg_trigger"
    ? ["tgrelid", "tgname"]
    : ["polrelid", "polname"];
  const none = `NOT EXISTS (SELECT FROM pg_catalog.${options.catalog} WHERE ${relid} = ${table} ` +
    `AND ${column} = ${quoteLiteral(options.name)})`;
  node.sql = guard(`${table} IS NOT NULL AND ${none}`, node.sql);
  for (const statement of node.after) {
    statement.sql = guard(`${table} IS NOT NULL`, statement.sql);
  }
}

/** Adds row security on (and forced) for the platform tables where the source has it. */
export function addManagedRowSecurity(
  ctx: ReadContext,
  rows: readonly RelationRow[],
  hooked: ReadonlySet<string>,
): void {
  const q = ctx.quoter;
  for (const row of rows) {
    if (!hooked.has(row.oid)) continue;
    const qualified = q.qualified(row.schema, row.name);
    const table = regclass(ctx, row.schema, row.name);
    const states: Array<[boolean, string, string]> = [
      [row.rowSecurity, "relrowsecurity", "ENABLE"],
      [row.forceRowSecurity, "relforcerowsecurity", "FORCE"],
    ];
    const sql = states.filter(([on]) => on).map(([, column, what]) =>
      guard(
        `${table} IS NOT NULL AND NOT (SELECT ${column} FROM pg_catalog.pg_class ` +
          `WHERE oid = ${table})`,
        `ALTER TABLE ${qualified} ${what} ROW LEVEL SECURITY;`,
      )
    );
    if (sql.length === 0) continue;
    ctx.graph.add({
      id: `rls:${row.oid}`,
      section: "post-data",
      kind: "ROW SECURITY",
      schema: row.schema,
      name: row.name,
      sql: sql.join("\n"),
      priority: PRIORITY.rowSecurity,
    });
  }
}
