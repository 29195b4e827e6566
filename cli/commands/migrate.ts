/** `deno task cli migrate --db <postgres-url>`: applies supabase/migrations, as `supabase db push`. */
import { parseArgs } from "node:util";
import { applyMigrations } from "../../shared/migrate.ts";
import { CliError } from "../cli_error.ts";

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { db: { type: "string" } }, strict: true });
  if (!values.db) throw new CliError("Missing --db <postgres-url>", 2);
  const applied = await applyMigrations(values.db);
  console.log(applied.length ? `Applied ${applied.join(", ")}` : "Already up to date");
  return 0;
}
