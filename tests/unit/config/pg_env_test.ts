/**
 * Which database a CLI command connects to without a password on its command line: libpq's
 * password-file rules, and the order --db, SUPABASE_DB_URL, PG* variables, password file.
 * (The CLI itself, against a cluster that checks passwords: `cli_database_env_test.ts`.)
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import {
  matchPasswordFile,
  PasswordFileError,
  readPasswordFile,
} from "../../../shared/config/pgpass.ts";
import { DatabaseSettingsError, resolveDatabase } from "../../../shared/config/pg_env.ts";

const key = { host: "db.example.test", port: "5432", database: "app", user: "operator" };

Deno.test("a password file line matches field by field, with * for a whole field, first match winning", () => {
  const text = [
    "# comment: db.example.test:5432:app:operator:not-this",
    "",
    "other.example.test:5432:app:operator:wrong-host",
    "db.example.test:5433:app:operator:wrong-port",
    "db.example.test:5432:*:operator:first",
    "*:*:*:*:second",
  ].join("\n");
  assert.equal(matchPasswordFile(text, key), "first");
  assert.equal(matchPasswordFile(text, { ...key, user: "someone" }), "second");
  assert.equal(matchPasswordFile("db.example.test:5432:app:operator:x\r\n", key), "x");
  assert.equal(matchPasswordFile("db.example.test:5432:app:other:x", key), undefined);
  assert.equal(matchPasswordFile("too:few:fields", key), undefined);
  // A star is a wildcard only as the whole field; an escaped one is a literal star.
  assert.equal(matchPasswordFile("db*:5432:app:operator:x", key), undefined);
  assert.equal(matchPasswordFile("\\*:5432:app:operator:x", key), undefined);
  assert.equal(matchPasswordFile("\\*:5432:app:operator:x", { ...key, host: "*" }), "x");
  // localhost is not 127.0.0.1: hosts are compared as given, as libpq does.
  assert.equal(
    matchPasswordFile("localhost:5432:app:operator:x", { ...key, host: "127.0.0.1" }),
    undefined,
  );
});

Deno.test("backslash escapes colons and backslashes in every field, and the password ends at its first bare colon", () => {
  const text = "db.example.test:5432:my\\:db:operator:pa\\:ss\\\\word:ignored";
  assert.equal(matchPasswordFile(text, { ...key, database: "my:db" }), "pa:ss\\word");
  assert.equal(matchPasswordFile(text, { ...key, database: "my\\:db" }), undefined);
});

Deno.test("a password file others may read is refused with what to do; a missing one is no password", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/pgpass`;
    await Deno.writeTextFile(path, "*:*:*:*:s3cret-from-file\n");
    await Deno.chmod(path, 0o644);
    await assert.rejects(readPasswordFile(path, key), (error: Error) => {
      assert.ok(error instanceof PasswordFileError);
      assert.match(error.message, /has group or world access \(mode 0644\).*chmod 0600/);
      assert.ok(!error.message.includes("s3cret-from-file"));
      return true;
    });
    await Deno.chmod(path, 0o600);
    assert.equal(await readPasswordFile(path, key), "s3cret-from-file");
    assert.equal(await readPasswordFile(`${dir}/absent`, key), undefined);
    assert.equal(await readPasswordFile(dir, key), undefined, "a directory is not a password file");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--db comes first, then SUPABASE_DB_URL, then the PG variables; nothing at all is a clear error", async () => {
  const env = {
    SUPABASE_DB_URL: "postgres://supa:supa-pw@supa.example.test:6543/postgres",
    PGHOST: "pg.example.test",
    PGUSER: "pguser",
    PGPASSWORD: "pg-pw",
    PGDATABASE: "pgdb",
  };
  const flag = await resolveDatabase("postgres://cli:cli-pw@cli.example.test/clidb", env);
  assert.equal(flag.source, "--db");
  assert.equal(flag.url, "postgres://cli:cli-pw@cli.example.test/clidb");
  const supa = await resolveDatabase(undefined, env);
  assert.equal(supa.source, "SUPABASE_DB_URL");
  assert.equal(supa.url, env.SUPABASE_DB_URL);
  const pg = await resolveDatabase(undefined, { ...env, SUPABASE_DB_URL: "" });
  assert.equal(pg.source, "PG variables");
  assert.equal(pg.url, "postgres://pguser:pg-pw@pg.example.test/pgdb");
  assert.equal(pg.password, "PGPASSWORD");
  assert.equal(pg.label, "pg.example.test:5432/pgdb");
  await assert.rejects(
    resolveDatabase(undefined, { PGPASSWORD: "alone-is-not-enough" }),
    (error: Error) =>
      error instanceof DatabaseSettingsError && /^Missing --db <postgres-url>/.test(error.message),
  );
});

Deno.test("what a URL leaves out comes from the PG variables, PGSSLMODE included, then the password file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/pgpass`;
    await Deno.writeTextFile(file, "db.example.test:6543:app:operator:p@ss\\:w%rd/x\n");
    await Deno.chmod(file, 0o600);
    const resolved = await resolveDatabase(undefined, {
      SUPABASE_DB_URL: "postgresql://operator@db.example.test/app",
      PGPORT: "6543",
      PGSSLMODE: "require",
      PGPASSFILE: file,
    });
    assert.equal(resolved.password, "password file");
    const url = new URL(resolved.url);
    assert.equal(url.port, "6543");
    assert.equal(url.searchParams.get("sslmode"), "require");
    // The URL names every part, so postgres.js, which fills missing parts from PG* variables
    // itself but knows neither PGSSLMODE nor the password file, connects to exactly this.
    const sql = postgres(resolved.url);
    try {
      assert.deepEqual(
        [sql.options.host, sql.options.port, sql.options.user, sql.options.database],
        [["db.example.test"], [6543], "operator", "app"],
      );
      assert.equal((sql.options as unknown as { pass: string }).pass, "p@ss:w%rd/x");
      assert.equal(sql.options.ssl, "require");
    } finally {
      await sql.end();
    }
    assert.ok(!resolved.label.includes("p@ss"), "the label has no password");
    // A password in the URL or PGPASSWORD wins over the file.
    const given = await resolveDatabase("postgres://operator:given@db.example.test:6543/app", {
      PGPASSFILE: file,
    });
    assert.equal(given.password, "url");
    // An sslmode in the URL wins over PGSSLMODE.
    const own = await resolveDatabase("postgres://h/d?sslmode=disable", { PGSSLMODE: "require" });
    assert.equal(new URL(own.url).searchParams.get("sslmode"), "disable");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("malformed database settings are refused naming the variable, never quoting a password", async () => {
  const cases: Array<[string | undefined, Record<string, string>, RegExp]> = [
    ["not a url with s3cret", {}, /^--db is not a valid URL/],
    ["mysql://u:s3cret@h/d", {}, /^--db must start with postgres:\/\//],
    [undefined, { SUPABASE_DB_URL: "http://u:s3cret@h/d" }, /^SUPABASE_DB_URL must start/],
    [undefined, { PGHOST: "h", PGPORT: "fifty" }, /^PGPORT must be a port number/],
    [undefined, { PGHOST: "/var/run/postgresql" }, /Unix socket directory/],
    [undefined, { PGHOST: "h", PGSSLMODE: "sometimes" }, /^PGSSLMODE must be one of/],
  ];
  for (const [flag, env, pattern] of cases) {
    await assert.rejects(resolveDatabase(flag, env), (error: Error) => {
      assert.ok(error instanceof DatabaseSettingsError, String(error));
      assert.match(error.message, pattern);
      assert.ok(!error.message.includes("s3cret"), error.message);
      assert.doesNotMatch(error.message, /\.$/);
      return true;
    });
  }
});
