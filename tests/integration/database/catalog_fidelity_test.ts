/**
 * Fidelity of the catalog reader: the DDL it produces, restored into an empty database, must
 * give the same `pg_dump --schema-only` as the source (owners and privileges included; only
 * pg_dump's `\restrict` / `\unrestrict` lines are ignored).
 */
import assert from "node:assert/strict";
import { pipeline } from "node:stream/promises";
import postgres from "postgres";
import {
  type DatabaseSchema,
  type DumpScope,
  readSchema,
  renderScript,
  type SchemaStatement,
} from "../../../shared/database/catalog/mod.ts";
import { applySqlFile, type PostgresCluster, startPostgres } from "../../../stack/postgres.ts";
import {
  assertSameDump,
  pgDump,
  pgTool,
  queryRows,
  readSchemaAt,
} from "../../support/pg_oracle.ts";

const FIXTURE = new URL("../../fixtures/hard_schema.sql", import.meta.url);

/** Loads the hard schema fixture with psql, as a user would. */
async function loadFixture(url: string): Promise<void> {
  await pgTool("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", FIXTURE.pathname]);
}

/** `pg_dump --schema-only`, without the per-run `\restrict` / `\unrestrict` lines. */
function schemaDump(url: string, extra: string[] = []): Promise<string> {
  return pgDump(url, "--schema-only", ...extra);
}

function assertSameText(source: string, restored: string, options: { what: string }): void {
  assertSameDump(source, restored, options.what);
}

const read = (url: string, scope: DumpScope = {}) => readSchemaAt(url, { scope });

/** Applies statements one by one on one connection, as the restore engine does. */
async function applyStatements(url: string, statements: SchemaStatement[]): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    for (const statement of statements) {
      try {
        await sql.unsafe(statement.sql);
      } catch (error) {
        throw new Error(
          `${statement.kind} ${statement.schema ?? ""}.${statement.name} failed: ` +
            `${(error as Error).message}\n${statement.sql}`,
        );
      }
    }
  } finally {
    await sql.end();
  }
}

const query = queryRows;

async function withCluster(
  options: { supabase: boolean },
  body: (cluster: PostgresCluster) => Promise<void>,
): Promise<void> {
  const cluster = await startPostgres({ supabase: options.supabase });
  try {
    await body(cluster);
  } finally {
    await cluster.stop();
  }
}

const SEQUENCE_STATE = `
  select format('%I.%I', schemaname, sequencename) as name, last_value::text as last_value,
    start_value::text as start_value, increment_by::text as increment_by
  from pg_sequences order by 1`;

// --- Failure and edge cases first ----------------------------------------------------------

Deno.test("a scope that is both schema-only and data-only is rejected", async () => {
  await withCluster({ supabase: false }, async (cluster) => {
    await assert.rejects(
      () => read(cluster.url, { schemaOnly: true, dataOnly: true }),
      /cannot be both schema-only and data-only/,
    );
  });
});

Deno.test("a table named without its schema is rejected", async () => {
  await withCluster({ supabase: false }, async (cluster) => {
    await assert.rejects(
      () => read(cluster.url, { includeTables: ["orders"] }),
      /must be given as schema\.table/,
    );
  });
});

Deno.test("an empty database yields only the settings and no tables", async () => {
  await withCluster({ supabase: false }, async (cluster) => {
    const url = await cluster.createDatabase("empty");
    const schema = await read(url);
    assert.equal(schema.isSupabase, false);
    assert.deepEqual(schema.tables, []);
    assert.deepEqual(schema.statements.map((s) => s.kind), ["SET", "SET"]);
    assert.deepEqual(schema.schemas, ["public"]);
  });
});

Deno.test("readSchema puts the transaction's search_path back and works from a pool", async () => {
  await withCluster({ supabase: false }, async (cluster) => {
    const url = await cluster.createDatabase("paths");
    await query(url, "create schema app; create table app.t (id int)");
    const sql = postgres(url, { max: 2, onnotice: () => {} });
    try {
      const path = await sql.begin("isolation level repeatable read read only", async (tx) => {
        await tx`select set_config('search_path', 'app, public', true)`;
        await readSchema(tx, {});
        const [row] = await tx`select current_setting('search_path') as path`;
        return row.path;
      });
      assert.equal(path, "app, public");
      const fromPool = await readSchema(sql, {});
      assert.deepEqual(fromPool.tables.map((t) => `${t.schema}.${t.name}`), ["app.t"]);
    } finally {
      await sql.end();
    }
  });
});

Deno.test("an owner missing from the destination leaves the object to the restoring user", async () => {
  await withCluster({ supabase: false }, async (cluster) => {
    const source = await cluster.createDatabase("source");
    await query(
      source,
      `create role gone_owner nologin;
       create schema kept;
       create table kept.t (id int);
       alter table kept.t owner to gone_owner;`,
    );
    const schema = await read(source);
    const owner = schema.statements.find((s) => s.kind === "OWNER" && s.name === "TABLE t");
    assert.ok(owner?.sql.includes("ALTER TABLE kept.t OWNER TO gone_owner;"));
    assert.ok(schema.roles.includes("gone_owner"));
    await query(source, "reassign owned by gone_owner to postgres; drop role gone_owner");
    const target = await cluster.createDatabase("target");
    await applyStatements(target, schema.statements);
    const [row] = await query<{ owner: string }>(
      target,
      "select pg_get_userbyid(relowner) as owner from pg_class where oid = 'kept.t'::regclass",
    );
    assert.equal(row.owner, "postgres");
  });
});

// --- Fidelity ------------------------------------------------------------------------------

Deno.test("the hard schema restored statement by statement dumps identically", async () => {
  await withCluster({ supabase: false }, async (cluster) => {
    const source = await cluster.createDatabase("source");
    await loadFixture(source);
    const schema = await read(source);
    assert.deepEqual(schema.warnings, []);
    const target = await cluster.createDatabase("target");
    const pre = schema.statements.filter((s) => s.section === "pre-data");
    const post = schema.statements.filter((s) => s.section === "post-data");
    assert.ok(schema.statements.indexOf(post[0]) > schema.statements.indexOf(pre.at(-1)!));
    await applyStatements(target, pre);
    await applyStatements(target, post);
    assertSameText(await schemaDump(source), await schemaDump(target), {
      what: "pg_dump --schema-only",
    });
    // SEQUENCE SET restores the sequences' state (the target holds no rows).
    assert.deepEqual(await query(target, SEQUENCE_STATE), await query(source, SEQUENCE_STATE));
    assert.deepEqual(schema.roles, ["app_owner", "app_reader", "app_writer", "postgres"]);
  });
});

Deno.test("the rendered scripts restored with psql dump identically", async () => {
  await withCluster({ supabase: false }, async (cluster) => {
    const source = await cluster.createDatabase("source");
    await loadFixture(source);
    const schema = await read(source);
    const target = await cluster.createDatabase("target");
    const dir = await Deno.makeTempDir({ prefix: "sauvegarde-catalog-" });
    try {
      for (const section of ["pre-data", "post-data"] as const) {
        const file = `${dir}/${section}.sql`;
        await Deno.writeTextFile(file, renderScript(schema.statements, section));
        await pgTool("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", target, "-f", file]);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
    assertSameText(await schemaDump(source), await schemaDump(target), {
      what: "pg_dump --schema-only",
    });
  });
});

Deno.test("data copied with the listed columns between sections gives the same rows", async () => {
  await withCluster({ supabase: false }, async (cluster) => {
    const source = await cluster.createDatabase("source");
    await loadFixture(source);
    const schema = await read(source);
    const target = await cluster.createDatabase("target");
    await applyStatements(target, schema.statements.filter((s) => s.section === "pre-data"));
    const from = postgres(source, { max: 1, onnotice: () => {} });
    const to = postgres(target, { max: 1, onnotice: () => {} });
    try {
      for (const table of schema.tables) {
        const source = from`copy (select ${from(table.columns)} from ${from(table.schema)}.${
          from(table.name)
        }) to stdout`;
        const stream = await source.readable();
        const sink = await to`copy ${to(table.schema)}.${to(table.name)} (${
          to(table.columns)
        }) from stdin`.writable();
        await pipeline(stream, sink);
      }
    } finally {
      await from.end();
      await to.end();
    }
    await applyStatements(target, schema.statements.filter((s) => s.section === "post-data"));
    for (const table of schema.tables) {
      const text = `select * from ${JSON.stringify(table.schema)}.${
        JSON.stringify(table.name)
      } order by 1`;
      assert.deepEqual(await query(target, text), await query(source, text), table.name);
    }
    assertSameText(await schemaDump(source), await schemaDump(target), {
      what: "pg_dump --schema-only",
    });
    assert.deepEqual(await query(target, SEQUENCE_STATE), await query(source, SEQUENCE_STATE));
    // Materialized views are refreshed after the data and the privileges.
    const revenue = `select * from "Reporting Ünits".daily_revenue order by 1`;
    await query(source, `refresh materialized view "Reporting Ünits".daily_revenue`);
    assert.deepEqual(await query(target, revenue), await query(source, revenue));
    assert.equal((await query(target, revenue)).length, 1);
  });
});

// --- Scope ---------------------------------------------------------------------------------

Deno.test("partitions are copied leaf by leaf and generated columns are not copied", async () => {
  await withCluster({ supabase: false }, async (cluster) => {
    const source = await cluster.createDatabase("source");
    await loadFixture(source);
    const schema = await read(source);
    const names = schema.tables.map((t) => `${t.schema}.${t.name}`);
    assert.ok(!names.includes("shop.events"), "the partitioned parent holds no rows");
    assert.ok(!names.includes("shop.metrics") && !names.includes("shop.metrics_eu"));
    const leaves = [
      "shop.events_2024",
      "shop.events_2025",
      "shop.events_2026",
      "shop.events_default",
      "shop.metrics_eu_2025",
      "shop.metrics_americas",
      "shop.buckets_0",
      "shop.buckets_1",
    ];
    for (const leaf of leaves) {
      const table = schema.tables.find((t) => `${t.schema}.${t.name}` === leaf);
      assert.equal(table?.kind, "partition", leaf);
    }
    const items = schema.tables.find((t) => t.name === "Order Items")!;
    assert.deepEqual(items.columns, ["order_id", "line", "product_id", "quantity", "unit_price"]);
    const product = schema.tables.find((t) => t.name === "prodüct")!;
    assert.ok(!product.columns.includes("search"));
    assert.ok(!names.some((n) => n.includes("order_summaries") || n.includes("daily_revenue")));
    assert.ok(schema.tables.every((t) => t.managed === false));
    const attach = schema.statements.filter((s) => s.kind === "TABLE ATTACH");
    assert.equal(attach.length, 9);
    const reordered = schema.tables.find((t) => t.name === "events_2024")!;
    assert.deepEqual(reordered.columns, ["kind", "payload", "happened_at", "id"]);
  });
});

Deno.test("schema-only lists no tables and data-only emits only sequence settings", async () => {
  await withCluster({ supabase: false }, async (cluster) => {
    const source = await cluster.createDatabase("source");
    await loadFixture(source);
    const schemaOnly = await read(source, { schemaOnly: true });
    assert.deepEqual(schemaOnly.tables, []);
    assert.ok(!schemaOnly.statements.some((s) => s.kind === "SEQUENCE SET"));
    const dataOnly = await read(source, { dataOnly: true });
    assert.ok(dataOnly.tables.length > 10);
    assert.ok(dataOnly.statements.length > 0);
    assert.ok(dataOnly.statements.every((s) => s.kind === "SEQUENCE SET"));
    assert.ok(
      dataOnly.statements.some((s) =>
        s.sql === `SELECT pg_catalog.setval('shop.countdown', 3, false);`
      ),
    );
  });
});

Deno.test("include and exclude lists narrow both the statements and the tables", async () => {
  await withCluster({ supabase: false }, async (cluster) => {
    const source = await cluster.createDatabase("source");
    await loadFixture(source);
    const onlyReporting = await read(source, { includeSchemas: ["Reporting Ünits"] });
    assert.deepEqual(onlyReporting.schemas, ["Reporting Ünits"]);
    assert.deepEqual(onlyReporting.tables, []);
    assert.ok(onlyReporting.statements.every((s) => s.schema !== "shop"));
    assert.ok(onlyReporting.statements.some((s) => s.kind === "MATERIALIZED VIEW"));
    assert.ok(!onlyReporting.statements.some((s) => s.kind === "EXTENSION"));

    const noShop = await read(source, { excludeSchemas: ["shop"] });
    assert.deepEqual(noShop.schemas, ["Reporting Ünits", "public"]);
    assert.deepEqual(noShop.tables.map((t) => t.name), ["settings"]);
    assert.ok(noShop.statements.some((s) => s.kind === "EXTENSION"));

    const tables = await read(source, {
      includeTables: ["shop.orders", "shop.events"],
      excludeTables: ["shop.events_default"],
    });
    assert.deepEqual(
      tables.tables.map((t) => t.name),
      ["events_2024", "events_2025", "events_2026", "orders"],
    );
    const created = tables.statements.filter((s) => s.kind === "TABLE").map((s) => s.name);
    assert.deepEqual([...new Set(created)].sort(), ["events", "orders"]);
    // A serial column's sequence comes with its table.
    assert.ok(tables.statements.some((s) => s.kind === "SEQUENCE" && s.name === "orders_id_seq"));
    assert.ok(
      tables.statements.some((s) => s.kind === "SEQUENCE SET" && s.name === "orders_id_seq"),
    );
    assert.ok(!tables.statements.some((s) => s.kind === "SCHEMA" || s.kind === "FUNCTION"));

    const missing = await read(source, {
      includeSchemas: ["shop", "nowhere"],
      includeTables: ["shop.orders", "shop.nothing"],
    });
    assert.deepEqual(missing.warnings, [
      "Schema nowhere does not exist",
      "Table shop.nothing does not exist",
    ]);

    const excluded = await read(source, { excludeTables: ["shop.audit_log"] });
    assert.ok(!excluded.tables.some((t) => t.name === "audit_log"));
    assert.ok(!excluded.statements.some((s) => s.name === "audit_log"));
  });
});

Deno.test("a plain database with an auth schema is not taken for Supabase", async () => {
  await withCluster({ supabase: false }, async (cluster) => {
    const url = await cluster.createDatabase("lookalike");
    await query(url, "create schema auth; create table auth.users (id int)");
    const schema = await read(url);
    assert.equal(schema.isSupabase, false);
    assert.deepEqual(schema.tables.map((t) => `${t.schema}.${t.name}:${t.managed}`), [
      "auth.users:false",
    ]);
  });
});

Deno.test("a Supabase project dumps its user schemas and only the data of managed tables", async () => {
  await withCluster({ supabase: true }, async (cluster) => {
    await query(
      cluster.url,
      `create table public.profiles (
         id uuid primary key references auth.users (id) on delete cascade,
         username text unique
       );
       alter table public.profiles enable row level security;
       create policy own_profile on public.profiles for all to authenticated
         using (id = auth.uid());
       create function public.handle_new_user() returns trigger language plpgsql
         security definer set search_path = '' as $$
       begin
         insert into public.profiles (id) values (new.id);
         return new;
       end $$;
       create trigger on_auth_user_created after insert on auth.users
         for each row execute function public.handle_new_user();
       create policy avatars_read on storage.objects for select to authenticated
         using (bucket_id = 'avatars');`,
    );
    // With the hooks turned off, nothing of the platform's schemas but their rows.
    const schema = await read(cluster.url, { managedTableHooks: false });
    assert.equal(schema.isSupabase, true);
    assert.deepEqual(schema.schemas, ["public"]);
    const managed = schema.tables.filter((t) => t.managed).map((t) => `${t.schema}.${t.name}`);
    // The baseline's sessions and refresh tokens are left out.
    assert.deepEqual(managed, [
      "auth.custom_oauth_providers",
      "auth.identities",
      "auth.mfa_factors",
      "auth.oauth_clients",
      "auth.oauth_consents",
      "auth.users",
      "auth.webauthn_credentials",
      "storage.buckets",
      "storage.buckets_analytics",
      "storage.buckets_vectors",
      "storage.objects",
      "storage.s3_multipart_uploads",
      "storage.s3_multipart_uploads_parts",
      "storage.vector_indexes",
      "supabase_functions.hooks",
    ]);
    assert.deepEqual(schema.tables.filter((t) => !t.managed).map((t) => t.name), ["profiles"]);
    const managedSchemas = ["auth", "storage", "extensions", "realtime", "supabase_functions"];
    for (const statement of schema.statements) {
      if (statement.kind === "SEQUENCE SET") continue; // a copied table's sequence: data
      assert.ok(!managedSchemas.includes(statement.schema ?? ""), statement.sql);
      assert.ok(!/CREATE (TABLE|FUNCTION|SCHEMA) (auth|storage|extensions)\./.test(statement.sql));
    }

    // Restored into a fresh Supabase-like database, the user schema dumps identically.
    const target = await cluster.createDatabase("target");
    await applySqlFile(target, "supabase_baseline.sql");
    await applyStatements(target, schema.statements);
    assertSameText(
      await schemaDump(cluster.url, ["--schema=public"]),
      await schemaDump(target, ["--schema=public"]),
      { what: "pg_dump --schema-only --schema=public" },
    );

    // By default, the project's own trigger and policy on managed tables come along (and the
    // platform's row security, turned on again only where it is off).
    const hooks = await read(cluster.url);
    const managedDdl = hooks.statements.filter((s) =>
      managedSchemas.includes(s.schema ?? "") && s.kind !== "ROW SECURITY" &&
      s.kind !== "SEQUENCE SET"
    );
    assert.deepEqual(managedDdl.map((s) => `${s.kind} ${s.schema}.${s.name}`), [
      "TRIGGER auth.users on_auth_user_created",
      "POLICY storage.objects avatars_read",
    ]);
    const hooked = await cluster.createDatabase("hooked");
    await applySqlFile(hooked, "supabase_baseline.sql");
    await applyStatements(hooked, hooks.statements);
    const [found] = await query<{ triggers: number; policies: number }>(
      hooked,
      `select (select count(*) from pg_trigger where tgname = 'on_auth_user_created')::int
         as triggers,
       (select count(*) from pg_policy where polname = 'avatars_read')::int as policies`,
    );
    assert.deepEqual(found, { triggers: 1, policies: 1 });

    const onlyAuth = await read(cluster.url, { includeSchemas: ["auth"] });
    assert.deepEqual(onlyAuth.tables.map((t) => t.name), [
      "custom_oauth_providers",
      "identities",
      "mfa_factors",
      "oauth_clients",
      "oauth_consents",
      "users",
      "webauthn_credentials",
    ]);
    assert.ok(onlyAuth.statements.every((s) => s.kind === "SET"));
  });
});

// --- Performance ---------------------------------------------------------------------------

Deno.test("a schema of three hundred tables is read in under a second", async () => {
  await withCluster({ supabase: false }, async (cluster) => {
    const url = await cluster.createDatabase("wide");
    await query(
      url,
      `create schema wide;
       do $$
       begin
         for i in 1..300 loop
           execute format('create table wide.t%s (id bigint generated always as identity primary key,
             parent bigint, name text not null default ''x'', payload jsonb,
             created_at timestamptz default now(), check (name <> ''''))', i);
           execute format('create index on wide.t%s (name)', i);
           if i > 1 then
             execute format('alter table wide.t%s add foreign key (parent) references wide.t%s (id)',
               i, i - 1);
           end if;
           execute format('create view wide.v%s as select id, name from wide.t%s', i, i);
           execute format('comment on table wide.t%s is ''table %s''', i, i);
         end loop;
       end $$;`,
    );
    // The best of three reads (the first warms the catalog caches, as a second backup finds
    // them), so a busy test machine does not decide the outcome.
    let elapsed = Infinity;
    let schema: DatabaseSchema | undefined;
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      schema = await read(url);
      elapsed = Math.min(elapsed, performance.now() - started);
    }
    assert.ok(schema);
    assert.equal(schema.tables.length, 300);
    assert.ok(elapsed < 1000, `readSchema took ${elapsed.toFixed(0)} ms`);
    console.log(`readSchema: ${schema.statements.length} statements in ${elapsed.toFixed(0)} ms`);
    const target = await cluster.createDatabase("wide_copy");
    await applyStatements(target, schema.statements);
    assertSameText(await schemaDump(url), await schemaDump(target), {
      what: "pg_dump --schema-only",
    });
  });
});
