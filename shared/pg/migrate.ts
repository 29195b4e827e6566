/**
 * Applies `supabase/migrations/*.sql` in file-name order, each once, as `supabase db push`
 * does: every file runs in its own transaction and is recorded in
 * `supabase_migrations.schema_migrations` (the table the Supabase CLI keeps).
 *
 * @module
 */
import { clientSql } from "./connect.ts";

/** The repository's migrations folder. */
export const MIGRATIONS_DIR = new URL("../../supabase/migrations/", import.meta.url);

/** One migration file. */
export interface Migration {
  version: string;
  name: string;
  sql: string;
}

/** Reads the migrations folder, sorted by file name. */
export async function readMigrations(dir: URL = MIGRATIONS_DIR): Promise<Migration[]> {
  const migrations: Migration[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || !entry.name.endsWith(".sql")) continue;
    const match = /^(\d+)_(.+)\.sql$/.exec(entry.name);
    if (!match) {
      throw new Error(`Migration file "${entry.name}" must be named <timestamp>_<name>.sql`);
    }
    const sql = await Deno.readTextFile(new URL(entry.name, dir));
    migrations.push({ version: match[1], name: match[2], sql });
  }
  return migrations.sort((a, b) => a.version.localeCompare(b.version));
}

/** Applies the migrations not yet recorded; returns the versions applied now. */
export async function applyMigrations(
  databaseUrl: string,
  options: { dir?: URL } = {},
): Promise<string[]> {
  const migrations = await readMigrations(options.dir);
  const sql = clientSql(databaseUrl, { max: 1 });
  const applied: string[] = [];
  try {
    await sql.unsafe(`
      create schema if not exists supabase_migrations;
      create table if not exists supabase_migrations.schema_migrations (
        version text primary key, statements text[], name text
      );`);
    const done = new Set(
      (await sql`select version from supabase_migrations.schema_migrations`).map((r) => r.version),
    );
    for (const migration of migrations) {
      if (done.has(migration.version)) continue;
      await sql.begin(async (tx) => {
        try {
          await tx.unsafe(migration.sql);
        } catch (error) {
          const reason = error instanceof Error ? error.message : String(error);
          throw new Error(`Migration ${migration.version}_${migration.name} failed: ${reason}`);
        }
        await tx`insert into supabase_migrations.schema_migrations (version, name, statements)
                 values (${migration.version}, ${migration.name}, ${[migration.sql]})`;
      });
      applied.push(migration.version);
    }
  } finally {
    await sql.end();
  }
  return applied;
}
