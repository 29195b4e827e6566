/**
 * Foreign data wrappers, servers, user mappings, foreign tables, procedural languages, access
 * methods and transforms: each backed up, restored and exported, and compared with pg_dump
 * (see `assertRoundTrip`). A user mapping's password is dumped, as pg_dump dumps it, but never
 * shows in a warning or an error.
 */
import assert from "node:assert/strict";
import { backupDatabase } from "../../../shared/database/backup/mod.ts";
import type { DatabaseSchema } from "../../../shared/database/catalog/mod.ts";
import { restoreDatabase, RestoreError } from "../../../shared/database/restore/mod.ts";
import { Repository } from "../../../shared/repository/mod.ts";
import { FileTarget } from "../../../shared/targets/file_target.ts";
import {
  assertRoundTrip,
  psqlScript,
  queryRows,
  readSchemaAt,
  withOracleCluster,
} from "../../support/pg_oracle.ts";

/** Cluster-wide roles, created only when missing. */
const ROLES = `
  do $$ begin
    if not exists (select from pg_roles where rolname = 'app_owner') then
      create role app_owner;
    end if;
    if not exists (select from pg_roles where rolname = 'Reader Role') then
      create role "Reader Role";
    end if;
    if not exists (select from pg_roles where rolname = 'fdw_admin') then
      create role fdw_admin superuser;
    end if;
  end $$;
`;

const SERVER = `
  create extension postgres_fdw;
  create server "legacy shop" foreign data wrapper postgres_fdw
    options (host 'localhost', dbname 'x', port '5432');
`;

/** Read as `user` (the superuser by default). */
const read = (url: string, user?: string) => readSchemaAt(url, { user });

const query = queryRows;

/** The first statement of each name of one kind (the CREATE), as `name` → SQL. */
function statementsOf(schema: DatabaseSchema, kind: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of schema.statements) {
    if (s.kind === kind && !out.has(s.name)) out.set(s.name, s.sql);
  }
  return out;
}

function assertNoWarningAbout(schema: DatabaseSchema, ...words: string[]): void {
  for (const warning of schema.warnings) {
    for (const word of words) {
      assert.ok(!warning.includes(word), `unexpected warning: ${warning}`);
    }
  }
}

Deno.test("foreign data wrappers, with or without an extension's functions, restore like pg_dump's", async () => {
  await withOracleCluster(async (cluster) => {
    const setup = `${ROLES}
      create extension postgres_fdw;
      create foreign data wrapper dummy options (debug 'true', "Mixed Case" 'it''s');
      create foreign data wrapper "My FDW" handler public.postgres_fdw_handler
        validator public.postgres_fdw_validator;
      alter foreign data wrapper "My FDW" owner to fdw_admin;
      comment on foreign data wrapper "My FDW" is 'postgres_fdw, built by hand';
      grant usage on foreign data wrapper "My FDW" to "Reader Role" with grant option;
      -- The extension's own wrapper: only the privilege granted since is dumped.
      grant usage on foreign data wrapper postgres_fdw to app_owner;
      create server on_my_fdw foreign data wrapper "My FDW";
      create server on_dummy foreign data wrapper dummy;
    `;
    const { source } = await assertRoundTrip(cluster, setup);
    const schema = await read(source);
    const wrappers = statementsOf(schema, "FOREIGN DATA WRAPPER");
    assert.deepEqual([...wrappers.keys()].sort(), ["My FDW", "dummy"]);
    assert.equal(
      wrappers.get("My FDW"),
      'CREATE FOREIGN DATA WRAPPER "My FDW" HANDLER public.postgres_fdw_handler ' +
        "VALIDATOR public.postgres_fdw_validator;",
    );
    assert.ok(
      schema.statements.some((s) =>
        s.sql === "GRANT ALL ON FOREIGN DATA WRAPPER postgres_fdw TO app_owner;"
      ),
    );
    assertNoWarningAbout(schema, "FOREIGN DATA WRAPPER");
  });
});

Deno.test("foreign servers with type, version, options, owner, comment and grants restore like pg_dump's", async () => {
  await withOracleCluster(async (cluster) => {
    const setup = `${ROLES}${SERVER}
      alter server "legacy shop" owner to app_owner;
      comment on server "legacy shop" is 'the shop before the rewrite';
      grant usage on foreign server "legacy shop" to "Reader Role";
      create server "select" type 'postgres' version '15.1' foreign data wrapper postgres_fdw
        options (host 'db.internal', "fetch_size" '500', updatable 'false');
      revoke all on foreign server "select" from postgres;
      grant usage on foreign server "select" to public;
      create foreign table public.remote_items (id int) server "select";
    `;
    const { source } = await assertRoundTrip(cluster, setup);
    const schema = await read(source);
    const servers = statementsOf(schema, "SERVER");
    assert.equal(
      servers.get("select"),
      `CREATE SERVER "select" TYPE 'postgres' VERSION '15.1' FOREIGN DATA WRAPPER postgres_fdw ` +
        "OPTIONS (\n    fetch_size '500',\n    host 'db.internal',\n    updatable 'false'\n);",
    );
    assertNoWarningAbout(schema, "SERVER");
  });
});

Deno.test("user mappings for a role and for PUBLIC restore with their options", async () => {
  await withOracleCluster(async (cluster) => {
    const setup = `${ROLES}${SERVER}
      create user mapping for app_owner server "legacy shop"
        options (user 'reader', password 'S3cret''pw');
      create user mapping for public server "legacy shop" options (user 'anon');
      create user mapping for "Reader Role" server "legacy shop";
    `;
    const { source, restored } = await assertRoundTrip(cluster, setup);
    const schema = await read(source);
    const mappings = statementsOf(schema, "USER MAPPING");
    assert.deepEqual([...mappings.keys()].sort(), [
      "Reader Role SERVER legacy shop",
      "app_owner SERVER legacy shop",
      "public SERVER legacy shop",
    ]);
    // pg_dump dumps the password too; the restored mapping must hold it.
    assert.equal(
      mappings.get("app_owner SERVER legacy shop"),
      `CREATE USER MAPPING FOR app_owner SERVER "legacy shop" OPTIONS (\n` +
        `    password 'S3cret''pw',\n    "user" 'reader'\n);`,
    );
    const [row] = await query<{ options: string[] }>(
      restored,
      "select umoptions as options from pg_user_mappings where usename = 'app_owner'",
    );
    assert.deepEqual([...row.options].sort(), ["password=S3cret'pw", "user=reader"]);
    assertNoWarningAbout(schema, "USER MAPPING", "S3cret");
  });
});

Deno.test("foreign tables restore with their server, options, columns, inheritance and partitions", async () => {
  await withOracleCluster(async (cluster) => {
    const setup = `${ROLES}${SERVER}
      create user mapping for app_owner server "legacy shop"
        options (user 'reader', password 'secret');
      create schema shop;
      create foreign table public.legacy_orders (
        id int options (column_name 'order_id') not null,
        total numeric(10,2) default 0 check (total >= 0),
        "Note" text options (column_name 'note') collate "C",
        placed_at timestamptz default now()
      ) server "legacy shop" options (schema_name 'public', table_name 'orders');
      alter foreign table public.legacy_orders owner to app_owner;
      alter foreign table public.legacy_orders alter column total set statistics 200;
      comment on foreign table public.legacy_orders is 'orders of the old shop';
      comment on column public.legacy_orders.total is 'with tax';
      grant select on public.legacy_orders to "Reader Role";
      grant select (id) on public.legacy_orders to public;
      create view public.recent_orders as
        select id, total from public.legacy_orders where placed_at > now() - interval '1 day';
      create table shop.items (id int not null, label text default 'item');
      insert into shop.items values (1, 'kept');
      create foreign table shop.remote_items (extra int) inherits (shop.items)
        server "legacy shop" options (table_name 'items');
      alter foreign table shop.remote_items alter column label set default 'remote';
      create table shop.regions (id int, region text) partition by list (region);
      create table shop.regions_eu partition of shop.regions for values in ('eu');
      insert into shop.regions values (1, 'eu');
      create foreign table shop.regions_us partition of shop.regions for values in ('us')
        server "legacy shop" options (table_name 'regions_us');
      -- A wrapper that checks no option, for options with awkward names and values.
      create foreign data wrapper loose;
      create server anywhere foreign data wrapper loose;
      create foreign table shop."Odd Items" (
        "Label" text options ("Odd Option" 'it''s', "select" 'x') not null default 'none'
      ) server anywhere options ("Where" 'over "there"', path 'C:\\temp');
      create function shop.stamp() returns trigger language plpgsql as
        $$ begin return new; end $$;
      create trigger stamp before insert on public.legacy_orders
        for each row execute function shop.stamp();
    `;
    const { source, backup } = await assertRoundTrip(cluster, setup);
    const schema = await read(source);
    const tables = statementsOf(schema, "FOREIGN TABLE");
    assert.ok(
      tables.get("legacy_orders")?.includes(
        `\nSERVER "legacy shop"\nOPTIONS (\n    schema_name 'public',\n    table_name 'orders'\n);`,
      ),
      tables.get("legacy_orders"),
    );
    // pg_dump never dumps a foreign table's rows: only the local tables are copied.
    assert.deepEqual(
      backup.manifest.tables.map((t) => `${t.schema}.${t.name}`).sort(),
      ["shop.items", "shop.regions_eu"],
    );
    assertNoWarningAbout(schema, "oreign table", "FOREIGN TABLE", "SERVER");
  });
});

Deno.test("procedural languages of the user restore, and extensions' languages keep only their grants", async () => {
  await withOracleCluster(async (cluster) => {
    const setup = `${ROLES}
      -- On plpgsql's own handlers (pg_dump writes a bare CREATE OR REPLACE LANGUAGE for it).
      create trusted language "My PL" handler plpgsql_call_handler
        inline plpgsql_inline_handler validator plpgsql_validator;
      alter language "My PL" owner to app_owner;
      comment on language "My PL" is 'plpgsql under another name';
      revoke usage on language "My PL" from public;
      grant usage on language "My PL" to "Reader Role" with grant option;
      create function public.answer() returns int language "My PL" as
        $$ begin return 42; end $$;
      -- On handlers of its own, in a schema, and untrusted.
      create schema handlers;
      create function handlers.call() returns language_handler language c
        as '$libdir/plpgsql', 'plpgsql_call_handler';
      create function handlers."inline"(internal) returns void language c strict
        as '$libdir/plpgsql', 'plpgsql_inline_handler';
      create function handlers.validate(oid) returns void language c strict
        as '$libdir/plpgsql', 'plpgsql_validator';
      create language untrusted_pl handler handlers.call inline handlers."inline"
        validator handlers.validate;
      comment on language untrusted_pl is 'superusers only';
      create function public.twice(x int) returns int language untrusted_pl as
        $$ begin return x * 2; end $$;
      -- An extension's language: only the privileges changed since are dumped.
      revoke usage on language plpgsql from public;
      grant usage on language plpgsql to app_owner;
    `;
    const { source, restored } = await assertRoundTrip(cluster, setup);
    const schema = await read(source);
    const languages = statementsOf(schema, "PROCEDURAL LANGUAGE");
    assert.equal(
      languages.get("My PL"),
      'CREATE TRUSTED PROCEDURAL LANGUAGE "My PL" HANDLER pg_catalog.plpgsql_call_handler ' +
        "INLINE pg_catalog.plpgsql_inline_handler VALIDATOR pg_catalog.plpgsql_validator;",
    );
    assert.deepEqual([...languages.keys()].sort(), ["My PL", "untrusted_pl"]);
    assert.ok(
      schema.statements.some((s) => s.sql === "REVOKE ALL ON LANGUAGE plpgsql FROM PUBLIC;"),
    );
    const [row] = await query<{ answer: number; twice: number }>(
      restored,
      "select public.answer() as answer, public.twice(21) as twice",
    );
    assert.deepEqual(row, { answer: 42, twice: 42 });
    assertNoWarningAbout(schema, "LANGUAGE");
  });
});

Deno.test("access methods restore before the tables and materialized views that use them", async () => {
  await withOracleCluster(async (cluster) => {
    const setup = `
      create access method "Heap Again" type table handler heap_tableam_handler;
      comment on access method "Heap Again" is 'heap under another name';
      create access method my_btree type index handler bthandler;
      comment on access method my_btree is 'no operator classes yet';
      create table public.events (id int primary key, body text) using "Heap Again";
      insert into public.events values (1, 'a'), (2, 'b');
      create table public.plain (id int);
      insert into public.plain values (3);
      create materialized view public.event_ids using "Heap Again" as
        select id from public.events;
      create table public.logs (id int, at date) partition by range (at);
      create table public.logs_2026 partition of public.logs
        for values from ('2026-01-01') to ('2027-01-01') using "Heap Again";
      insert into public.logs values (1, '2026-05-01');
    `;
    const { source, restored } = await assertRoundTrip(cluster, setup);
    const schema = await read(source);
    const methods = statementsOf(schema, "ACCESS METHOD");
    assert.equal(
      methods.get("Heap Again"),
      'CREATE ACCESS METHOD "Heap Again" TYPE TABLE HANDLER pg_catalog.heap_tableam_handler;',
    );
    assert.equal(
      statementsOf(schema, "TABLE").get("events"),
      'SET default_table_access_method = "Heap Again";\nCREATE TABLE public.events (\n' +
        "    id integer NOT NULL,\n    body text\n);\nSET default_table_access_method = heap;",
    );
    const rows = await query<{ name: string; am: string }>(
      restored,
      `select c.relname as name, a.amname as am from pg_class c join pg_am a on a.oid = c.relam
       where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'm') order by 1`,
    );
    assert.deepEqual(rows.map((r) => `${r.name} ${r.am}`), [
      "event_ids Heap Again",
      "events Heap Again",
      "logs_2026 Heap Again",
      "plain heap",
    ]);
    assertNoWarningAbout(schema, "ACCESS METHOD");
  });
});

Deno.test("transforms made by hand restore, and an extension's transform comes with it", async () => {
  await withOracleCluster(async (cluster) => {
    const setup = `
      create extension hstore;
      create extension plpython3u;
      create extension jsonb_plpython3u;
      create function public.hstore_to_py(internal) returns internal
        language c strict immutable as '$libdir/hstore_plpython3', 'hstore_to_plpython';
      create function public.py_to_hstore(internal) returns public.hstore
        language c strict immutable as '$libdir/hstore_plpython3', 'plpython_to_hstore';
      create transform for public.hstore language plpython3u (
        from sql with function public.hstore_to_py(internal),
        to sql with function public.py_to_hstore(internal));
      comment on transform for public.hstore language plpython3u is 'hstore as a dict';
      create function public.keys_of(h public.hstore) returns text
        transform for type public.hstore language plpython3u
        as $$ return ','.join(sorted(h.keys())) $$;
    `;
    const { source, restored } = await assertRoundTrip(cluster, setup);
    const schema = await read(source);
    const transforms = statementsOf(schema, "TRANSFORM");
    assert.deepEqual([...transforms.values()], [
      "CREATE TRANSFORM FOR public.hstore LANGUAGE plpython3u (FROM SQL WITH FUNCTION " +
      "public.hstore_to_py(internal), TO SQL WITH FUNCTION public.py_to_hstore(internal));",
    ]);
    const [row] = await query<{ keys: string }>(
      restored,
      "select public.keys_of('b=>2, a=>1') as keys",
    );
    assert.equal(row.keys, "a,b");
    assertNoWarningAbout(schema, "TRANSFORM");
  });
});

Deno.test("a subscription is still only a warning", async () => {
  await withOracleCluster(async (cluster) => {
    const source = await cluster.database("subscription");
    await psqlScript(
      source,
      `create subscription "Shop Feed" connection 'host=/nonexistent dbname=x password=Sub5ecret'
         publication shop with (connect = false);`,
    );
    const schema = await read(source);
    assert.ok(
      schema.warnings.includes("SUBSCRIPTION Shop Feed is not dumped"),
      schema.warnings.join("\n"),
    );
    assert.ok(!schema.warnings.some((w) => w.includes("Sub5ecret")));
    assert.ok(!schema.statements.some((s) => s.sql.includes("Sub5ecret")));
  });
});

Deno.test("a user mapping's password never reaches warnings or a failed restore's error", async () => {
  await withOracleCluster(async (cluster) => {
    const password = "Pa55-never-logged";
    const source = await cluster.database("secret");
    await psqlScript(
      source,
      `${ROLES}${SERVER}
       do $$ begin
         if not exists (select from pg_roles where rolname = 'backup_reader') then
           create role backup_reader login;
         end if;
         if not exists (select from pg_roles where rolname = 'leaving_role') then
           create role leaving_role;
         end if;
       end $$;
       create user mapping for app_owner server "legacy shop"
         options (user 'reader', password '${password}');
       create user mapping for leaving_role server "legacy shop"
         options (password '${password}');`,
    );
    const leaks = (text: string) => text.includes(password);

    // Read by a role that may not see the options: a warning, naming no value.
    const hidden = await read(source, "backup_reader");
    assert.ok(
      hidden.warnings.includes(
        "USER MAPPING app_owner SERVER legacy shop: its options are not visible to the " +
          "reading role and are not dumped",
      ),
      hidden.warnings.join("\n"),
    );
    assert.ok(!hidden.statements.some((s) => leaks(s.sql)));
    const full = await read(source);
    assert.ok(full.statements.some((s) => leaks(s.sql)), "the superuser dumps the password");
    for (const warning of [...hidden.warnings, ...full.warnings]) assert.ok(!leaks(warning));

    const dir = await Deno.makeTempDir({ prefix: "sauvegarde-secret-" });
    try {
      const repository = new Repository(new FileTarget(dir), { compression: "zstd" });
      const backup = await backupDatabase({ db: source, repository });
      assert.ok(!backup.manifest.warnings.some(leaks));
      // The role is gone from the destination: its mapping is skipped with a warning.
      await psqlScript(
        source,
        `drop user mapping for leaving_role server "legacy shop"; drop role leaving_role;`,
      );
      const skipped = await cluster.database("skipped");
      const restore = await restoreDatabase({
        repository,
        backupId: backup.backupId,
        db: skipped,
        allowUnauthenticated: true,
      });
      assert.ok(
        restore.warnings.some((w) =>
          w.startsWith("Skipped USER MAPPING leaving_role SERVER legacy shop:")
        ),
        restore.warnings.join("\n"),
      );
      assert.ok(!restore.warnings.some(leaks));

      // A destination that refuses the mapping itself: the error names it, without its SQL.
      const refusing = await cluster.database("refusing");
      await psqlScript(
        refusing,
        `create function public.no_mappings() returns event_trigger language plpgsql as
           $$ begin raise exception 'user mappings are not allowed here'; end $$;
         create event trigger no_mappings on ddl_command_start
           when tag in ('CREATE USER MAPPING') execute function public.no_mappings();
         -- Also while the restore runs as a replica (session_replication_role).
         alter event trigger no_mappings enable always;`,
      );
      const error = await restoreDatabase({
        repository,
        backupId: backup.backupId,
        db: refusing,
        allowUnauthenticated: true,
        safetyBackup: false,
      }).then(() => undefined, (e: unknown) => e);
      assert.ok(error instanceof RestoreError, String(error));
      assert.match(
        error.message,
        /Could not apply USER MAPPING app_owner SERVER legacy shop: user mappings are not allowed/,
      );
      for (let e: unknown = error; e instanceof Error; e = e.cause) {
        assert.ok(!leaks(e.message), e.message);
        assert.ok(!leaks(String(e.stack)));
      }
      assert.ok(!leaks(Deno.inspect(error, { depth: 10 })), "the inspected error names no value");
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  });
});
