/**
 * The CLI connects without the password on its command line: the real `cli/main.ts` as a
 * subprocess against a cluster that checks the role's password (scram-sha-256), with the
 * connection only in the environment or only in a password file. The password never shows in
 * what the CLI prints.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { startPostgres } from "../../../stack/postgres.ts";

const MAIN = new URL("../../../cli/main.ts", import.meta.url).pathname;
const ROLE = "backup_operator";
// A colon and a backslash, so the password file's escaping is exercised too.
const PASSWORD = `pw:${crypto.randomUUID().slice(0, 8)}\\secret`;

// Sealed backups: a restore runs SQL only from a repository a key holder wrote.
const KEYS = `test:${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))}`;

/** Where Deno keeps its caches, so a subprocess with another HOME need not fetch anything. */
async function denoDir(): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).output();
  return JSON.parse(new TextDecoder().decode(out.stdout)).denoDir;
}

async function cli(args: string[], env: Record<string, string>) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      HOME: Deno.env.get("HOME") ?? "",
      SAUVEGARDE_ENCRYPTION_KEYS: KEYS,
      ...env,
    },
    clearEnv: true,
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  const stdout = decoder.decode(out.stdout);
  const stderr = decoder.decode(out.stderr);
  for (const secret of [PASSWORD, encodeURIComponent(PASSWORD), "secret"]) {
    assert.ok(!stdout.includes(secret) && !stderr.includes(secret), `password printed:\n${stderr}`);
  }
  return { code: out.code, stdout, stderr };
}

/** libpq's escaping of a password-file field. */
const escapeField = (text: string) => text.replaceAll("\\", "\\\\").replaceAll(":", "\\:");

Deno.test("backup and restore connect from the environment or a password file alone, never printing the password", async (t) => {
  const db = await startPostgres({ supabase: false });
  const work = await Deno.makeTempDir({ prefix: "sauvegarde-pgenv-" });
  const admin = postgres(db.url, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(
      `create role ${ROLE} login superuser password '${PASSWORD.replaceAll("'", "''")}'`,
    );
    await admin`create table public.widgets (id int primary key, name text)`;
    await admin`insert into public.widgets select i, 'w' || i from generate_series(1, 50) i`;
    await admin`create database restored`;
    // The cluster trusts everyone else; this role must give its password.
    const hba = `${db.dataDir}/pg_hba.conf`;
    await Deno.writeTextFile(
      hba,
      `host all ${ROLE} 127.0.0.1/32 scram-sha-256\n${await Deno.readTextFile(hba)}`,
    );
    await admin`select pg_reload_conf()`;

    const target = `file://${work}/target`;
    const pg = { PGHOST: "127.0.0.1", PGPORT: String(db.port), PGUSER: ROLE };
    const passfile = `${work}/pgpass`;
    await Deno.writeTextFile(
      passfile,
      `# operator's passwords\n127.0.0.1:${db.port}:*:${ROLE}:${escapeField(PASSWORD)}\n`,
    );
    await Deno.chmod(passfile, 0o600);

    await t.step("the cluster does check the password", async () => {
      const run = await cli(["backup", "--to", target, "--json"], {
        ...pg,
        PGDATABASE: "postgres",
        PGPASSWORD: "not-the-password",
      });
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, /password authentication failed for user "backup_operator"/);
      assert.ok(!run.stderr.includes("not-the-password"), run.stderr);
    });

    await t.step("SUPABASE_DB_URL alone", async () => {
      const url = `postgres://${ROLE}:${
        encodeURIComponent(PASSWORD)
      }@127.0.0.1:${db.port}/postgres`;
      const run = await cli(["backup", "--to", target, "--json"], { SUPABASE_DB_URL: url });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(JSON.parse(run.stdout.trim().split("\n").at(-1)!).tables, 1);
    });

    await t.step("PGHOST, PGPORT, PGUSER, PGDATABASE and PGPASSWORD alone", async () => {
      const run = await cli(["backup", "--to", target, "--json"], {
        ...pg,
        PGDATABASE: "postgres",
        PGPASSWORD: PASSWORD,
      });
      assert.equal(run.code, 0, run.stderr);
    });

    await t.step("the password only in PGPASSFILE: a restore into PGDATABASE", async () => {
      const run = await cli(["restore", "--from", target, "--backup", "latest", "--yes"], {
        ...pg,
        PGDATABASE: "restored",
        PGPASSFILE: passfile,
      });
      assert.equal(run.code, 0, run.stderr);
      const restored = postgres(db.urlFor("restored"), { max: 1, onnotice: () => {} });
      try {
        const [{ count }] = await restored`select count(*)::int as count from public.widgets`;
        assert.equal(count, 50);
      } finally {
        await restored.end();
      }
    });

    await t.step("the password only in ~/.pgpass, the user in SUPABASE_DB_URL", async () => {
      const home = `${work}/home`;
      await Deno.mkdir(home);
      await Deno.copyFile(passfile, `${home}/.pgpass`);
      await Deno.chmod(`${home}/.pgpass`, 0o600);
      const run = await cli(["backup", "--to", target, "--json"], {
        HOME: home,
        DENO_DIR: await denoDir(),
        SUPABASE_DB_URL: `postgres://${ROLE}@127.0.0.1:${db.port}/postgres`,
      });
      assert.equal(run.code, 0, run.stderr);
    });

    await t.step("a password file others can read is refused with what to do", async () => {
      await Deno.chmod(passfile, 0o644);
      const run = await cli(["backup", "--to", target], {
        ...pg,
        PGDATABASE: "postgres",
        PGPASSFILE: passfile,
      });
      assert.equal(run.code, 2, run.stderr);
      assert.match(
        run.stderr,
        /^Error: The password file .*pgpass has group or world access \(mode 0644\).*chmod 0600/m,
      );
    });

    await t.step("no database named anywhere", async () => {
      const run = await cli(["backup", "--to", target], {});
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /^Error: Missing --db <postgres-url>: or set SUPABASE_DB_URL/m);
    });
  } finally {
    await admin.end();
    await db.stop();
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
});
