/**
 * Database backup and restore against real PostgreSQL: the hard schema and awkward rows make a
 * round trip that pg_dump must find identical; scopes, modes, refusals, safety backups, and the
 * CLI's contract (one JSON object on the last stdout line, clear errors, non-zero exits).
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { backupDatabase } from "../../../shared/database/backup/mod.ts";
import { listDatabaseBackupIds, loadDatabaseManifest } from "../../../shared/database/manifest.ts";
import { restoreDatabase, RestoreError } from "../../../shared/database/restore/mod.ts";
import { runDatabaseSteps } from "../../support/database_steps.ts";
import { Repository } from "../../../shared/repository/mod.ts";
import { FileTarget } from "../../../shared/targets/file_target.ts";
import { pgDump } from "../../support/pg_oracle.ts";
import { PG_BIN, type PostgresCluster, startPostgres } from "../../../stack/postgres.ts";

const FIXTURES = new URL("../../fixtures/", import.meta.url);
const ROOT = new URL("../../../", import.meta.url);

interface Stack {
  pg: PostgresCluster;
  /** A database holding the hard schema and data. */
  source: string;
  dir: string;
  repository: Repository;
  empty(name: string): Promise<string>;
}

async function psqlFile(url: string, file: string): Promise<void> {
  const out = await new Deno.Command(`${PG_BIN}/psql`, {
    args: ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", file],
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
}

async function withStack(
  fn: (stack: Stack) => Promise<void>,
  options: { supabase?: boolean; data?: boolean } = {},
): Promise<void> {
  const pg = await startPostgres({ supabase: options.supabase ?? false });
  const dir = await Deno.makeTempDir({ prefix: "sauvegarde-db-test-" });
  try {
    const source = await pg.createDatabase("source");
    if (options.supabase) {
      await psqlFile(
        source,
        new URL("../../../stack/sql/supabase_baseline.sql", import.meta.url).pathname,
      );
    }
    await psqlFile(source, new URL("hard_schema.sql", FIXTURES).pathname);
    if (options.data ?? true) await psqlFile(source, new URL("hard_data.sql", FIXTURES).pathname);
    const repository = new Repository(new FileTarget(dir), { compression: "zstd" });
    await fn({
      pg,
      source,
      dir,
      repository,
      empty: async (name) => {
        const url = await pg.createDatabase(name);
        if (options.supabase) {
          await psqlFile(
            url,
            new URL("../../../stack/sql/supabase_baseline.sql", import.meta.url).pathname,
          );
        }
        return url;
      },
    });
  } finally {
    await pg.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

async function query<T>(url: string, fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await fn(sql);
  } finally {
    await sql.end();
  }
}

async function tableCount(url: string): Promise<number> {
  return await query(url, async (sql) => {
    const [{ n }] = await sql<{ n: number }[]>`
      select count(*)::int as n from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema')
        and n.nspname not like 'pg_toast%'`;
    return n;
  });
}

async function cli(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("cli/main.ts", ROOT).pathname, ...args],
    cwd: ROOT.pathname,
    env: { SAUVEGARDE_COMPRESSION: "zstd", ...env },
    stdin: "null",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  const last = stdout.trim().split("\n").at(-1) ?? "";
  return { code: out.code, stdout, stderr, last };
}

// ---- Refusals and errors first ---------------------------------------------------------------

Deno.test("restore refuses a destination that already has the backup's tables and changes nothing", async () => {
  await withStack(async ({ source, repository }) => {
    const backup = await backupDatabase({ db: source, repository });
    const before = await pgDump(source);
    await assert.rejects(
      restoreDatabase({
        allowUnauthenticated: true,
        repository,
        backupId: backup.backupId,
        db: source,
        safetyBackup: false,
      }),
      (error: Error) => {
        assert.ok(error instanceof RestoreError);
        assert.equal(error.applied, false);
        assert.match(error.message, /already has .*shop\./);
        return true;
      },
    );
    assert.equal(await pgDump(source), before);
  });
});

Deno.test("data-only restore refuses tables that hold rows unless asked to truncate them, after a safety backup", async () => {
  await withStack(async ({ source, repository, empty }) => {
    const backup = await backupDatabase({ db: source, repository });
    const target = await empty("target");
    await restoreDatabase({
      allowUnauthenticated: true,
      repository,
      backupId: backup.backupId,
      db: target,
    });
    await query(target, (sql) => sql`update shop.attachments set name = 'changed' where id = 1`);
    await assert.rejects(
      restoreDatabase({
        allowUnauthenticated: true,
        repository,
        backupId: backup.backupId,
        db: target,
        dataOnly: true,
      }),
      /already hold rows: empty them first, or ask for them to be truncated/,
    );
    const restored = await restoreDatabase({
      allowUnauthenticated: true,
      repository,
      backupId: backup.backupId,
      db: target,
      dataOnly: true,
      truncate: true,
    });
    assert.ok(restored.safetyBackupId, "a safety backup was taken of the non-empty destination");
    const safety = await loadDatabaseManifest(repository, restored.safetyBackupId!);
    assert.equal(safety.purpose, "safety");
    assert.equal(
      (await loadDatabaseManifest(repository, "latest")).backupId,
      backup.backupId,
      '"latest" skips safety backups',
    );
    // Rows reloaded over deleted ones may sit in another physical order: compare as sets.
    const sorted = async (url: string) => (await pgDump(url, "--data-only")).split("\n").sort();
    assert.deepEqual(await sorted(target), await sorted(source));
  });
});

Deno.test("restore of an unknown or malformed backup id fails clearly", async () => {
  await withStack(async ({ repository, empty }) => {
    const target = await empty("target");
    await assert.rejects(
      restoreDatabase({ allowUnauthenticated: true, repository, backupId: "latest", db: target }),
      /no database backup yet/,
    );
    await assert.rejects(
      restoreDatabase({
        allowUnauthenticated: true,
        repository,
        backupId: "20260101T000000Z-abcdef",
        db: target,
      }),
      /No database backup 20260101T000000Z-abcdef/,
    );
    await assert.rejects(
      restoreDatabase({ allowUnauthenticated: true, repository, backupId: "../etc", db: target }),
      /is not a backup id/,
    );
  }, { data: false });
});

Deno.test("backup of an unreachable database fails clearly and writes no manifest", async () => {
  await withStack(async ({ pg, repository }) => {
    await assert.rejects(
      backupDatabase({ db: pg.urlFor("no_such_database"), repository }),
      /Could not connect to the database at 127\.0\.0\.1:\d+\/no_such_database/,
    );
    await assert.rejects(
      backupDatabase({ db: "mysql://nope", repository }),
      /must start with postgres:\/\//,
    );
    assert.deepEqual(await listDatabaseBackupIds(repository), []);
  }, { data: false });
});

// ---- Round trips ----------------------------------------------------------------------------

Deno.test("a round trip of the hard schema and data is identical under pg_dump", async () => {
  await withStack(async ({ source, repository, empty }) => {
    const backup = await backupDatabase({ db: source, repository, parallel: 3 });
    assert.match(backup.backupId, /^\d{8}T\d{6}Z-[0-9a-z]{6}$/);
    assert.equal(backup.manifest.snapshots, 1);
    assert.equal(backup.manifest.formatVersion, 1);
    const orders = backup.manifest.tables.find((t) => t.name === "orders")!;
    assert.equal(orders.rows, 30002);
    assert.ok(
      backup.manifest.tables.some((t) => t.blobs.length > 1),
      "a table spans several blobs",
    );
    assert.ok(backup.manifest.tables.some((t) => t.kind === "partition" && t.rows > 0));
    const target = await empty("target");
    const restored = await restoreDatabase({
      allowUnauthenticated: true,
      repository,
      backupId: "latest",
      db: target,
    });
    assert.equal(restored.rows, backup.rows);
    assert.equal(restored.safetyBackupId, null, "an empty destination needs no safety backup");
    assert.equal(await pgDump(target, "--data-only"), await pgDump(source, "--data-only"));
    assert.equal(await pgDump(target, "--schema-only"), await pgDump(source, "--schema-only"));
  });
});

Deno.test("a second backup of unchanged data stores no new blob", async () => {
  await withStack(async ({ source, repository, dir }) => {
    const first = await backupDatabase({ db: source, repository });
    const files = async () => {
      let count = 0;
      for await (const _ of repository.listBlobs()) count++;
      return count;
    };
    const before = await files();
    const second = await backupDatabase({ db: source, repository });
    assert.notEqual(second.backupId, first.backupId);
    assert.equal(
      second.reusedBlobs,
      second.manifest.tables.reduce((n, t) => n + t.blobs.length, 0),
    );
    assert.equal(await files(), before);
    assert.ok(dir);
  });
});

Deno.test("schema-only then data-only restores compose to the whole database", async () => {
  await withStack(async ({ source, repository, empty }) => {
    const schema = await backupDatabase({ db: source, repository, scope: { schemaOnly: true } });
    assert.equal(schema.manifest.tables.length, 0);
    const data = await backupDatabase({ db: source, repository, scope: { dataOnly: true } });
    assert.ok(data.rows > 0);
    const target = await empty("target");
    await restoreDatabase({
      allowUnauthenticated: true,
      repository,
      backupId: schema.backupId,
      db: target,
    });
    assert.equal(await pgDump(target, "--schema-only"), await pgDump(source, "--schema-only"));
    await assert.rejects(
      restoreDatabase({
        allowUnauthenticated: true,
        repository,
        backupId: schema.backupId,
        db: target,
        dataOnly: true,
      }),
      /holds no data/,
    );
    await restoreDatabase({
      allowUnauthenticated: true,
      repository,
      backupId: data.backupId,
      db: target,
      dataOnly: true,
    });
    assert.equal(await pgDump(target, "--data-only"), await pgDump(source, "--data-only"));
  });
});

Deno.test("include and exclude lists choose which tables a backup holds", async () => {
  await withStack(async ({ source, repository }) => {
    const included = await backupDatabase({
      db: source,
      repository,
      scope: { includeTables: ["shop.orders", "shop.customers"] },
    });
    assert.deepEqual(included.manifest.tables.map((t) => t.name), ["customers", "orders"]);
    const excluded = await backupDatabase({
      db: source,
      repository,
      scope: { excludeTables: ["shop.attachments"], excludeSchemas: ["Reporting Ünits"] },
    });
    const names = excluded.manifest.tables.map((t) => t.name);
    assert.ok(!names.includes("attachments"));
    assert.ok(names.includes("orders"));
    assert.deepEqual(excluded.manifest.options.scope, {
      excludeSchemas: ["Reporting Ünits"],
      excludeTables: ["shop.attachments"],
    });
  });
});

Deno.test("chosen tables restore into existing empty tables and move their sequences past the rows", async () => {
  await withStack(async ({ source, repository, empty }) => {
    const backup = await backupDatabase({ db: source, repository });
    const target = await empty("target");
    await restoreDatabase({
      allowUnauthenticated: true,
      repository,
      backupId: backup.backupId,
      db: target,
      schemaOnly: true,
    });
    await assert.rejects(
      restoreDatabase({
        allowUnauthenticated: true,
        repository,
        backupId: backup.backupId,
        db: target,
        tables: ["shop.nope"],
      }),
      /has no table shop\.nope/,
    );
    const restored = await restoreDatabase({
      allowUnauthenticated: true,
      repository,
      backupId: backup.backupId,
      db: target,
      tables: ["shop.customers", "shop.orders"],
      safetyBackup: false,
    });
    assert.equal(restored.tables, 2);
    const counts = await query(target, async (sql) => {
      const [row] = await sql<{ orders: number; items: number; next: string }[]>`
        select (select count(*)::int from shop.orders) as orders,
               (select count(*)::int from shop."Order Items") as items,
               (select max(id) from shop.orders)::text as next`;
      const [{ id }] = await sql<{ id: string }[]>`
        insert into shop.orders (customer_id, "order") values (1000, 999999) returning id::text as id`;
      return { ...row, inserted: id };
    });
    assert.equal(counts.orders, 30002);
    assert.equal(counts.items, 0);
    assert.ok(BigInt(counts.inserted) > BigInt(counts.next), "the sequence moved past the rows");
  });
});

Deno.test("a Supabase backup restores platform tables as data only into a fresh project", async () => {
  await withStack(async ({ source, repository, empty }) => {
    await query(
      source,
      (sql) =>
        sql`insert into auth.users (id, email) values ('00000000-0000-0000-0000-00000000000a', 'a@example.com')`,
    );
    const backup = await backupDatabase({ db: source, repository });
    assert.ok(backup.manifest.source.isSupabase);
    const users = backup.manifest.tables.find((t) => t.schema === "auth" && t.name === "users")!;
    assert.equal(users.managed, true);
    const target = await empty("target");
    const restored = await restoreDatabase({
      allowUnauthenticated: true,
      repository,
      backupId: backup.backupId,
      db: target,
    });
    assert.deepEqual(restored.skippedTables, []);
    assert.equal(await pgDump(target, "--data-only"), await pgDump(source, "--data-only"));
    assert.equal(await pgDump(target, "--schema-only"), await pgDump(source, "--schema-only"));
  }, { supabase: true });
});

Deno.test("a backup run in budgeted steps resumes from its checkpoint and restores whole", async () => {
  await withStack(async ({ source, dir, repository, empty }) => {
    const saved: Record<string, unknown>[] = [];
    const { result, steps } = await runDatabaseSteps({
      databaseUrl: source,
      dir,
      // One table's worth of bytes per step: every step stops after its first table.
      limits: { bytes: 1 },
      onSave: (value) => saved.push(JSON.parse(JSON.stringify(value))),
      afterStep: async (result) => {
        if (!result.done) {
          assert.deepEqual(
            await listDatabaseBackupIds(repository),
            [],
            "no manifest before the end",
          );
        }
      },
    });
    assert.ok(steps > 3, `the run took several steps (${steps})`);
    assert.ok(saved.length >= steps);
    const manifest = await loadDatabaseManifest(repository, result.backupId!);
    assert.equal(manifest.snapshots, steps, "each step read in its own snapshot");
    const target = await empty("target");
    await restoreDatabase({
      allowUnauthenticated: true,
      repository,
      backupId: manifest.backupId,
      db: target,
    });
    assert.equal(await pgDump(target, "--data-only"), await pgDump(source, "--data-only"));
  });
});

// ---- CLI contract ---------------------------------------------------------------------------

Deno.test("the CLI fails clearly on a bad URL, a missing --db and an unknown backup", async () => {
  await withStack(async ({ pg, dir }) => {
    const missing = await cli(["backup", "--to", dir, "--json"]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /Missing --db/);
    const bad = await cli(["backup", "--db", "not a url", "--to", dir, "--json"]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--db is not a valid URL/);
    assert.doesNotMatch(bad.stderr, /^\s+at /m, "no stack trace");
    const unknown = await cli([
      "restore",
      "--from",
      dir,
      "--backup",
      "20260101T000000Z-abcdef",
      "--db",
      pg.urlFor("postgres"),
      "--yes",
    ]);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /No database backup 20260101T000000Z-abcdef/);
    const unconfirmed = await cli(["restore", "--from", dir, "--backup", "latest", "--db", pg.url]);
    assert.notEqual(unconfirmed.code, 0);
    assert.match(unconfirmed.stderr, /pass --yes/);
  }, { data: false });
});

Deno.test("the CLI backs up (in worker threads), lists and restores, printing one JSON object last", async () => {
  await withStack(async ({ source, dir, empty }) => {
    const backup = await cli([
      "backup",
      "--db",
      source,
      "--to",
      `file://${dir}`,
      "--workers",
      "--json",
    ]);
    assert.equal(backup.code, 0, backup.stderr);
    const summary = JSON.parse(backup.last);
    assert.deepEqual(Object.keys(summary).sort(), [
      "backupId",
      "bytes",
      "class",
      "complete",
      "rows",
      "seconds",
      "tables",
      "warnings",
    ]);
    assert.equal(summary.complete, true);
    assert.deepEqual(summary.warnings, []);
    assert.ok(summary.rows > 70000);
    const list = await cli(["list", "--from", dir, "--json"]);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(JSON.parse(list.last).backups.map((b: { backupId: string }) => b.backupId), [
      summary.backupId,
    ]);
    const target = await empty("target");
    const restore = await cli([
      "restore",
      "--from",
      dir,
      "--backup",
      "latest",
      "--db",
      target,
      "--allow-unauthenticated",
      "--yes",
      "--json",
    ]);
    assert.equal(restore.code, 0, restore.stderr);
    const restored = JSON.parse(restore.last);
    assert.equal(restored.backupId, summary.backupId);
    assert.equal(restored.rows, summary.rows);
    assert.equal(await pgDump(target, "--data-only"), await pgDump(source, "--data-only"));
    assert.ok(await tableCount(target) > 10);
  });
});
