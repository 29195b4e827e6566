/**
 * The real Supabase CLI (the npm package `supabase`, pinned in deno.json and installed into
 * node_modules by `deno install`) pushes our migrations to a Supabase-like database, as a
 * project's owner would: `supabase db push --db-url <url>`. Every file of supabase/migrations
 * applies, the CLI records each, and the tables they create exist.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { MIGRATIONS_DIR, readMigrations } from "../../../shared/pg/migrate.ts";
import { startPostgres } from "../../../stack/postgres.ts";

const CLI = new URL("../../../node_modules/.bin/supabase", import.meta.url).pathname;
const CONFIG = new URL("../config.toml", MIGRATIONS_DIR);

/** Runs the CLI in a project folder of its own (it writes a `.temp` folder there). */
async function supabase(workdir: string, args: string[]) {
  try {
    await Deno.stat(CLI);
  } catch {
    throw new Error(`The Supabase CLI is not installed (no ${CLI}): run "deno install"`);
  }
  const out = await new Deno.Command(CLI, {
    args: ["--workdir", workdir, ...args],
    stdin: "null",
    env: { DO_NOT_TRACK: "1" },
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { code: out.code, text };
}

Deno.test("supabase db push applies every migration to a Supabase-like database", async () => {
  // Over TLS, as the CLI reaches a hosted project (it asks for TLS by default).
  const cluster = await startPostgres({ tls: true });
  const workdir = await Deno.makeTempDir({ prefix: "sauvegarde-cli-project-" });
  const sql = postgres(cluster.url, { max: 1, onnotice: () => {} });
  try {
    await Deno.mkdir(`${workdir}/supabase/migrations`, { recursive: true });
    await Deno.copyFile(CONFIG, `${workdir}/supabase/config.toml`);
    const migrations = await readMigrations();
    for (const migration of migrations) {
      const name = `${migration.version}_${migration.name}.sql`;
      await Deno.copyFile(new URL(name, MIGRATIONS_DIR), `${workdir}/supabase/migrations/${name}`);
    }

    const version = await supabase(workdir, ["--version"]);
    assert.equal(version.text.trim(), "2.117.0");

    const push = await supabase(workdir, ["db", "push", "--db-url", cluster.url, "--yes"]);
    assert.equal(push.code, 0, push.text);
    for (const migration of migrations) {
      assert.match(push.text, new RegExp(`Applying migration ${migration.version}_`));
    }
    const recorded = await sql<{ version: string }[]>`
      select version from supabase_migrations.schema_migrations order by version`;
    assert.deepEqual(recorded.map((row) => row.version), migrations.map((m) => m.version));

    const [tables] = await sql<Record<string, boolean>[]>`
      select to_regclass('public.backup_runs') is not null as backup_runs,
        to_regclass('public.alert_state') is not null as alert_state,
        to_regclass('public.notification_log') is not null as notification_log,
        to_regclass('public.sauvegarde_schedules') is not null as sauvegarde_schedules`;
    assert.deepEqual(tables, {
      backup_runs: true,
      alert_state: true,
      notification_log: true,
      sauvegarde_schedules: true,
    });
    const jobs = await sql`select jobname from cron.job where jobname like 'sauvegarde-%'`;
    assert.ok(jobs.length > 0, "the schedules are in pg_cron");

    // A second push has nothing left to apply.
    const again = await supabase(workdir, ["db", "push", "--db-url", cluster.url, "--yes"]);
    assert.equal(again.code, 0, again.text);
    assert.doesNotMatch(again.text, /Applying migration/);
  } finally {
    await sql.end();
    await cluster.stop();
    await Deno.remove(workdir, { recursive: true }).catch(() => {});
  }
});
