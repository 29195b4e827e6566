import assert from "node:assert/strict";
import { backupDatabase } from "../../../shared/database/backup/mod.ts";
import { Repository } from "../../../shared/repository/mod.ts";
import { FileTarget } from "../../../shared/targets/file_target.ts";
import { PG_BIN, startPostgres } from "../../../stack/postgres.ts";
import { pgDump } from "../../support/pg_oracle.ts";

const FIXTURES = new URL("../../fixtures/", import.meta.url);

async function psql(url: string, file: string): Promise<void> {
  const out = await new Deno.Command(`${PG_BIN}/psql`, {
    args: ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", file],
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
}

/** Runs `cli export-sql` as an operator would. */
function exportSql(repo: string, backup: string, out: string) {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../../../cli/main.ts", import.meta.url).pathname,
      "export-sql",
      "--from",
      repo,
      "--backup",
      backup,
      "--out",
      out,
      // The repository has no keys: the operator vouches for it.
      "--allow-unauthenticated",
    ],
  }).output();
}

const dump = (url: string, flag: string) => pgDump(url, flag);

Deno.test("a backup exported as plain SQL restores with psql alone, identical to the source", async () => {
  const pg = await startPostgres({ supabase: false });
  const dir = await Deno.makeTempDir({ prefix: "sauvegarde-export-" });
  try {
    const source = await pg.createDatabase("source");
    await psql(source, new URL("hard_schema.sql", FIXTURES).pathname);
    await psql(source, new URL("hard_data.sql", FIXTURES).pathname);
    const repository = new Repository(new FileTarget(`${dir}/repo`), { compression: "zstd" });
    await backupDatabase({ db: source, repository });

    const missing = await exportSql(`${dir}/repo`, "20990101T000000Z-nope", `${dir}/x.sql`);
    assert.notEqual(missing.code, 0);
    assert.match(new TextDecoder().decode(missing.stderr), /Error: /);
    await assert.rejects(Deno.stat(`${dir}/x.sql`), "no half-written script is left behind");

    const exported = await exportSql(`${dir}/repo`, "latest", `${dir}/backup.sql`);
    assert.equal(exported.code, 0, new TextDecoder().decode(exported.stderr));

    const restored = await pg.createDatabase("restored");
    await psql(restored, `${dir}/backup.sql`);
    assert.equal(await dump(restored, "--data-only"), await dump(source, "--data-only"));
    assert.equal(await dump(restored, "--schema-only"), await dump(source, "--schema-only"));
  } finally {
    await pg.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
