/**
 * Foreign keys at restore. A full restore of a backup read in one snapshot adds them to the
 * empty tables and loads the rows with triggers off ("trusted"): the restored keys are the
 * source's (valid, enforced, `pg_dump` identical). A backup assembled from several snapshots
 * (budgeted steps) can hold a child whose parent it missed: its keys are checked after loading,
 * and such a backup fails on the key it breaks instead of restoring with the key broken.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { backupDatabase } from "../../../shared/database/backup/mod.ts";
import { planEarlyForeignKeys, splitPostData } from "../../../shared/database/restore/ddl.ts";
import { loadDatabaseManifest, type ManifestStatement } from "../../../shared/database/manifest.ts";
import { restoreDatabase, RestoreError } from "../../../shared/database/restore/mod.ts";
import { runDatabaseSteps } from "../../support/database_steps.ts";
import { Repository } from "../../../shared/repository/mod.ts";
import { FileTarget } from "../../../shared/targets/file_target.ts";
import { startPostgres } from "../../../stack/postgres.ts";
import { pgDump } from "../../support/pg_oracle.ts";

const SCHEMA = `
  create schema shop;
  create table shop.categories (
    id int primary key, parent int references shop.categories (id), code text not null unique);
  create table shop.orders (id bigint primary key, note text);
  create table shop.items (
    order_id bigint not null, line int not null, sku text,
    primary key (order_id, line),
    constraint items_order_fk foreign key (order_id) references shop.orders (id)
      deferrable initially deferred);
  create table shop."Products" (
    id int primary key, category_code text references shop.categories (code) on delete set null);
  create index on shop.items (sku);
  -- The largest table, so that a budgeted backup (two tables a step, largest first) copies it
  -- with orders, and items in a later step.
  create table shop.audit (id int primary key, body text);
  insert into shop.audit select i, repeat('a', 2000) from generate_series(1, 1000) i;
  insert into shop.categories values (1, null, 'root'), (2, 1, 'shoes'), (3, 2, 'boots');
  insert into shop.orders select i, repeat('o', 400) from generate_series(1, 3000) i;
  insert into shop.items select 1 + i / 3, i % 3, 'sku-' || i from generate_series(0, 8999) i;
  insert into shop."Products" select i, (array['root','shoes','boots'])[1 + i % 3]
    from generate_series(1, 500) i;`;

/** pg_dump without owners (the oracle's, `tests/support/pg_oracle.ts`). */
function dumpWithoutOwners(url: string, ...flags: string[]): Promise<string> {
  return pgDump(url, "--no-owner", ...flags);
}

async function withSource(
  fn: (
    ctx: {
      source: string;
      repository: Repository;
      dir: string;
      empty: (name: string) => Promise<string>;
    },
  ) => Promise<void>,
): Promise<void> {
  const pg = await startPostgres({ supabase: false });
  const dir = await Deno.makeTempDir({ prefix: "sauvegarde-fk-" });
  try {
    const source = await pg.createDatabase("source");
    const sql = postgres(source, { max: 1, onnotice: () => {} });
    await sql.unsafe(SCHEMA);
    await sql.end();
    await fn({
      source,
      dir,
      repository: new Repository(new FileTarget(dir), { compression: "zstd" }),
      empty: (name) => pg.createDatabase(name),
    });
  } finally {
    await pg.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a one-snapshot backup restores its foreign keys before the rows, valid and enforced", async () => {
  await withSource(async ({ source, repository, empty }) => {
    const backup = await backupDatabase({ db: source, repository });
    assert.equal(backup.manifest.snapshots, 1);
    const target = await empty("target");
    const result = await restoreDatabase({
      allowUnauthenticated: true,
      repository,
      backupId: backup.backupId,
      db: target,
    });
    assert.equal(result.foreignKeys, "trusted");
    assert.equal(
      await dumpWithoutOwners(target, "--schema-only"),
      await dumpWithoutOwners(source, "--schema-only"),
    );
    assert.equal(
      await dumpWithoutOwners(target, "--data-only"),
      await dumpWithoutOwners(source, "--data-only"),
    );
    const sql = postgres(target, { max: 1, onnotice: () => {} });
    try {
      const keys = await sql<{ name: string; validated: boolean }[]>`
        select conname as name, convalidated as validated from pg_constraint
        where contype = 'f' order by conname`;
      assert.equal(keys.length, 3);
      assert.ok(keys.every((key) => key.validated), JSON.stringify(keys));
      await assert.rejects(
        sql`insert into shop.items values (999999, 1, 'orphan')`,
        /items_order_fk/,
        "the key is enforced",
      );
      await assert.rejects(sql`delete from shop.categories where id = 1`, /foreign key/);
    } finally {
      await sql.end();
    }
  });
});

Deno.test("a backup read in several snapshots has its foreign keys checked, and fails on a broken one", async () => {
  await withSource(async ({ source, dir, repository, empty }) => {
    const sql = postgres(source, { max: 1, onnotice: () => {} });
    let result;
    try {
      ({ result } = await runDatabaseSteps({
        databaseUrl: source,
        dir,
        limits: { bytes: 1 }, // one table per step
        // Between steps an order is placed and an old one removed, each with its items: the
        // table read later sees an item whose order the table read earlier did not have.
        afterStep: async (_result, steps) => {
          const placed = 100_000 + steps;
          await sql.begin((tx) => [
            tx`insert into shop.orders values (${placed}, 'late')`,
            tx`insert into shop.items values (${placed}, 1, 'late')`,
            tx`delete from shop.items where order_id = ${steps}`,
            tx`delete from shop.orders where id = ${steps}`,
          ]);
        },
      }));
    } finally {
      await sql.end();
    }
    const manifest = await loadDatabaseManifest(repository, result.backupId!);
    assert.ok(manifest.snapshots > 1);
    const stepOf = (name: string) => manifest.tables.find((table) => table.name === name)!;
    assert.notEqual(stepOf("orders").snapshotTime, stepOf("items").snapshotTime);
    const target = await empty("target");
    await assert.rejects(
      restoreDatabase({
        allowUnauthenticated: true,
        repository,
        backupId: manifest.backupId,
        db: target,
      }),
      (error: unknown) => {
        assert.ok(error instanceof RestoreError);
        assert.match(error.message, /items_order_fk/);
        return true;
      },
    );
  });
});

Deno.test("early foreign keys are planned only over plain tables, after the keys they need", () => {
  const statement = (kind: string, sql: string): ManifestStatement =>
    ({ section: "post-data", kind, schema: "s", name: kind, sql }) as ManifestStatement;
  const post = splitPostData([
    statement("CONSTRAINT", "ALTER TABLE ONLY s.a\n    ADD CONSTRAINT a_pkey PRIMARY KEY (id);"),
    statement("INDEX", "CREATE INDEX a_x ON s.a USING btree (x);"),
    statement("INDEX", "CREATE UNIQUE INDEX a_code ON s.a USING btree (code);"),
    statement("CONSTRAINT", "ALTER TABLE ONLY s.b\n    ADD CONSTRAINT b_pkey PRIMARY KEY (id);"),
    statement(
      "FK CONSTRAINT",
      "ALTER TABLE ONLY s.b\n    ADD CONSTRAINT b_a FOREIGN KEY (a) REFERENCES s.a(id);",
    ),
    statement(
      "TRIGGER",
      "CREATE TRIGGER t AFTER INSERT ON s.b FOR EACH ROW EXECUTE FUNCTION s.f();",
    ),
  ]);
  const early = planEarlyForeignKeys(post, new Set(["s.a", "s.b"]));
  assert.ok(early);
  assert.deepEqual(early.first.map((s) => s.sql.match(/a_pkey|a_code|b_a/)?.[0]), [
    "a_pkey",
    "a_code",
    "b_a",
  ]);
  assert.deepEqual(
    early.builds.map((group) => [group.table, group.statements.length]),
    [["s.a", 1], ["s.b", 1]],
    "the referenced table keeps its other index; the referencing table its own key",
  );
  assert.deepEqual(early.rest.map((s) => s.kind), ["TRIGGER"]);
  assert.equal(planEarlyForeignKeys(post, new Set(["s.b"])), undefined, "s.a is partitioned");
  assert.equal(planEarlyForeignKeys({ builds: post.builds, rest: [] }, new Set()), undefined);
});
