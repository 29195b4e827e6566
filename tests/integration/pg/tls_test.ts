/**
 * The engine over TLS, as hosted Supabase is reached (`sslmode=require`: encrypted, the
 * certificate not checked), against a cluster that refuses unencrypted connections: backups
 * and restores give pg_dump-identical databases, the rows are read off the wire by the COPY
 * tap (in this thread and in worker threads), the socket stops being read while the consumer
 * is behind, and a connection cut mid-COPY fails the backup without a manifest.
 *
 * The source has rows far larger than a TLS record (PostgreSQL sends 8 KB ones) and than a
 * socket read, many rows per record split at every place, multi-byte text, tabs, backslashes
 * and newlines that COPY escapes, bytea and NULLs.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { backupDatabase } from "../../../shared/database/backup/mod.ts";
import { listDatabaseBackupIds } from "../../../shared/database/manifest.ts";
import { restoreDatabase } from "../../../shared/database/restore/mod.ts";
import { engineSql } from "../../../shared/pg/connect.ts";
import {
  type CopyCounter,
  copyOut,
  type CopyPath,
  copyPathCounts,
} from "../../../shared/pg/copy_out.ts";
import { tapOf } from "../../../shared/pg/wire_socket.ts";
import { Repository } from "../../../shared/repository/mod.ts";
import { FileTarget } from "../../../shared/targets/file_target.ts";
import type {
  LoadOptions,
  ObjectInfo,
  SavedObject,
  SaveOptions,
  StorageTarget,
} from "../../../shared/targets/target.ts";
import { type PostgresCluster, startPostgres } from "../../../stack/postgres.ts";
import { assertSameDump, pgDump, psqlScript } from "../../support/pg_oracle.ts";

const SOURCE = `
  create schema shop;
  create table shop.wide (id int primary key, body text not null, raw bytea, note text);
  insert into shop.wide
    select i,
      repeat('é' || chr(9) || 'ü€𝄞 ' || md5(i::text) || ' \\ ', 1 + i % 60),
      case when i % 11 = 0 then null else decode(repeat(md5(i::text), 1 + i % 50), 'hex') end,
      case when i % 7 = 0 then null else 'line ' || i || chr(10) || 'and a second' end
    from generate_series(1, 24000) i;
  -- Rows of megabytes: each spans hundreds of TLS records and several socket reads.
  insert into shop.wide
    select 100000 + i, repeat('ß∂ƒ©漢字', 60000 * i), decode(repeat('00ff7f', 40000 * i), 'hex'), null
    from generate_series(1, 3) i;
  create table shop.narrow (k bigint primary key, v text, at timestamptz);
  insert into shop.narrow
    select i, case when i % 5 = 0 then null else 'v' || i end,
      timestamptz '2026-01-01' + i * interval '1 minute'
    from generate_series(1, 150000) i;
  create table shop.empty (id int);
  create index narrow_v_idx on shop.narrow (v);
  analyze;`;

/** One TLS-only cluster for the file, its source database, a counter for fresh names. */
interface Fixture {
  pg: PostgresCluster;
  source: string;
  fresh(prefix: string): Promise<string>;
}

let fixture: Promise<Fixture> | undefined;
let databases = 0;

function shared(): Promise<Fixture> {
  fixture ??= (async () => {
    const pg = await startPostgres({ supabase: false, tls: "required" });
    const fresh = (prefix: string) => pg.createDatabase(`${prefix}_${++databases}`);
    const source = await fresh("source");
    await psqlScript(source, SOURCE);
    return { pg, source, fresh };
  })();
  return fixture;
}

async function stopShared(): Promise<void> {
  if (!fixture) return;
  const { pg } = await fixture;
  fixture = undefined;
  await pg.stop();
}

async function query<T>(url: string, fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await fn(sql);
  } finally {
    await sql.end();
  }
}

/** COPYs read each way since `before`. */
function pathsSince(before: Readonly<Record<CopyPath, number>>): Record<CopyPath, number> {
  const now = copyPathCounts();
  return {
    tap: now.tap - before.tap,
    "tap-tls": now["tap-tls"] - before["tap-tls"],
    stream: now.stream - before.stream,
  };
}

/** Backs `source` up over TLS, restores it into a fresh database, compares pg_dumps. */
async function roundTrip(
  { source, fresh }: Fixture,
  options: { workers: boolean },
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sauvegarde-tls-" });
  try {
    const repository = new Repository(new FileTarget(dir), { compression: "zstd" });
    const before = copyPathCounts();
    const backup = await backupDatabase({
      db: source,
      repository,
      parallel: 2,
      workers: options.workers
        ? { name: "local", url: `file://${dir}`, config: { s3: {}, compression: "zstd" } }
        : undefined,
    });
    const copied = backup.manifest.tables.filter((table) => table.schema === "shop");
    assert.equal(copied.length, 3);
    const paths = pathsSince(before);
    assert.equal(paths["tap-tls"], copied.length, "every table read off the wire by the tap");
    assert.equal(paths.stream, 0, "none through postgres.js's stream");
    assert.equal(paths.tap, 0, "none over a plain connection");
    const wide = copied.find((table) => table.name === "wide")!;
    assert.equal(wide.rows, 24003);
    assert.ok(wide.bytes > 30_000_000, `wide holds ${wide.bytes} bytes of COPY text`);
    assert.ok(wide.blobs.length > 3, "several blobs");

    const restored = await fresh("restored");
    const restore = await restoreDatabase({
      repository,
      backupId: backup.backupId,
      db: restored,
      allowUnauthenticated: true,
    });
    assert.equal(restore.rows, backup.rows);
    assertSameDump(
      await pgDump(source, "--schema-only"),
      await pgDump(restored, "--schema-only"),
      "Schema dumps",
    );
    assertSameDump(
      await pgDump(source, "--data-only"),
      await pgDump(restored, "--data-only"),
      "Data dumps",
    );
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

Deno.test("the cluster refuses unencrypted connections and engine connections reach it over TLS", async () => {
  const { pg, source } = await shared();
  assert.equal(pg.tls, "required");
  assert.match(source, /sslmode=require/);
  await assert.rejects(
    query(source.replace("?sslmode=require", ""), (sql) => sql`select 1`),
    /no encryption/,
  );
  const sql = engineSql(source, { max: 1 });
  try {
    const tx = await sql.reserve();
    try {
      const [row] = await tx<{ ssl: boolean; version: string }[]>`
        select ssl, version from pg_stat_ssl where pid = pg_backend_pid()`;
      assert.equal(row.ssl, true);
      assert.match(row.version, /^TLSv1\.[23]$/);
      const tap = await tapOf(tx);
      assert.notEqual(tap, null, "the TLS connection carries a tap");
      assert.equal(tap!.encrypted, true);
    } finally {
      tx.release();
    }
  } finally {
    await sql.end();
  }
});

Deno.test("a backup and a restore over TLS give pg_dump-identical databases, rows read by the tap", async () => {
  await roundTrip(await shared(), { workers: false });
});

Deno.test("a backup in worker threads over TLS reads its rows by the tap too, and restores identically", async () => {
  await roundTrip(await shared(), { workers: true });
});

Deno.test("a consumer that falls behind stops the TLS socket being read, and the rows all arrive after", async () => {
  const { source } = await shared();
  const sql = engineSql(source, { max: 1 });
  const watcher = postgres(source, { max: 1, onnotice: () => {} });
  try {
    const tx = await sql.reserve();
    try {
      const [{ pid }] = await tx<{ pid: number }[]>`select pg_backend_pid() as pid`;
      const counter: CopyCounter = { rows: 0, bytes: 0 };
      const pieces = copyOut(tx, {
        schema: "shop",
        name: "wide",
        columns: ["id", "body", "raw", "note"],
      }, { counter, pieceSize: 64 * 1024 });
      const first = await pieces.next();
      assert.equal(first.done, false);
      // Not reading on: the server must be left blocked writing, its COPY unfinished (were the
      // socket read regardless, the client would hold the whole table within moments).
      let state: { state: string; wait_event: string | null } | undefined;
      for (let i = 0; i < 20; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        [state] = await watcher<{ state: string; wait_event: string | null }[]>`
          select state, wait_event from pg_stat_activity where pid = ${pid}`;
        if (state?.wait_event === "ClientWrite") break;
      }
      assert.equal(state?.state, "active");
      assert.equal(state?.wait_event, "ClientWrite");
      let bytes = first.value!.length;
      for await (const piece of pieces) bytes += piece.length;
      assert.equal(counter.rows, 24003);
      assert.equal(counter.path, "tap-tls");
      assert.equal(bytes, counter.bytes);
      const [{ n }] = await tx<{ n: number }[]>`select count(*)::int as n from shop.wide`;
      assert.equal(n, 24003, "the connection is usable after the COPY");
    } finally {
      tx.release();
    }
  } finally {
    // Closed at once: were the socket never read again, the COPY would never end.
    await sql.end({ timeout: 1 });
    await watcher.end();
  }
});

/** Passes everything to `inner`, calling `onSave` before each save. */
class HookedTarget implements StorageTarget {
  readonly kind: "file" | "s3";
  readonly location: string;
  constructor(
    readonly inner: StorageTarget,
    readonly onSave: (key: string) => Promise<void>,
  ) {
    this.kind = inner.kind;
    this.location = inner.location;
  }
  async save(
    key: string,
    body: ReadableStream<Uint8Array> | Uint8Array,
    options?: SaveOptions,
  ): Promise<SavedObject> {
    await this.onSave(key);
    return await this.inner.save(key, body, options);
  }
  load(key: string, options?: LoadOptions): Promise<ReadableStream<Uint8Array>> {
    return this.inner.load(key, options);
  }
  stat(key: string): Promise<ObjectInfo> {
    return this.inner.stat(key);
  }
  list(prefix: string, options?: { signal?: AbortSignal }): AsyncIterable<ObjectInfo> {
    return this.inner.list(prefix, options);
  }
  remove(key: string): Promise<void> {
    return this.inner.remove(key);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Terminates the first backend seen running a COPY of `table` for the engine. */
function cutCopyOf(url: string, table: string): { stop(): Promise<number> } {
  let running = true;
  const cut = query(url, async (sql) => {
    while (running) {
      const rows = await sql`
        select pg_terminate_backend(pid) from pg_stat_activity
        where application_name = 'sauvegarde' and state = 'active'
          and query ilike 'copy %' and query like ${"%" + table + "%"}`;
      if (rows.length > 0) return rows.length;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return 0;
  });
  return {
    stop: () => {
      running = false;
      return cut;
    },
  };
}

for (const workers of [false, true]) {
  Deno.test(`a TLS connection cut mid-COPY fails the backup${workers ? " in worker threads" : ""} and writes no manifest`, async () => {
    const { source } = await shared();
    const dir = await Deno.makeTempDir({ prefix: "sauvegarde-tls-fault-" });
    try {
      // Blobs stored slowly keep the COPY streaming (held back by the socket) while its
      // backend is terminated: the server ends the session and drops the TLS connection.
      const target = new HookedTarget(
        new FileTarget(dir),
        (key) => new Promise((resolve) => setTimeout(resolve, key.startsWith("blobs/") ? 50 : 0)),
      );
      const repository = new Repository(target, { compression: "zstd" });
      const cutter = cutCopyOf(source, '"shop"."wide"');
      await assert.rejects(
        backupDatabase({
          db: source,
          repository,
          parallel: 2,
          workers: workers
            ? { name: "local", url: `file://${dir}`, config: { s3: {}, compression: "zstd" } }
            : undefined,
        }),
        (error: Error) => {
          assert.match(error.message, /Could not back up table shop\.wide:/);
          assert.match(error.message, /connection|terminat/i);
          return true;
        },
      );
      assert.equal(await cutter.stop(), 1, "the COPY was streaming when its connection was cut");
      assert.deepEqual(await listDatabaseBackupIds(new Repository(new FileTarget(dir))), []);
      const left = await query(source, async (sql) =>
        (await sql<{ n: number }[]>`
          select count(*)::int as n from pg_stat_activity where application_name = 'sauvegarde'`)[0]
          .n);
      assert.equal(left, 0, "no engine connection left open");
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  });
}

Deno.test("stop the shared cluster", async () => {
  await stopShared();
});
