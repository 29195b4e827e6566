/**
 * `deno task cli migrate [--db <postgres-url>]`: applies supabase/migrations, as `supabase db
 * push`. Without `--db` the database comes from SUPABASE_DB_URL or libpq's PG* variables and
 * password file (`shared/pg_env.ts`).
 *
 * @module
 */
import { applyMigrations } from "../../shared/pg/migrate.ts";
import { cliDatabase, parseCommandArgs } from "./backup.ts";

/** Runs the command; returns the exit code. */
export async function run(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(args, { db: { type: "string" } });
  const db = await cliDatabase(values.db);
  const applied = await applyMigrations(db.url);
  console.log(applied.length ? `Applied ${applied.join(", ")}` : "Already up to date");
  return 0;
}
