/**
 * Database backups and restores under faults: a target failing midway (an injected failure
 * and a real S3 server killed), the database connection dropped during COPY, a corrupted blob
 * or manifest at restore. A failed backup writes no manifest and leaves no connection behind;
 * a damaged backup changes nothing in the destination.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { backupDatabase } from "../../../shared/database/backup/mod.ts";
import { listDatabaseBackupIds } from "../../../shared/database/manifest.ts";
import { restoreDatabase, RestoreError } from "../../../shared/database/restore/mod.ts";
import { blobKey, Repository } from "../../../shared/repository/mod.ts";
import { FileTarget } from "../../../shared/targets/file_target.ts";
import { openTarget } from "../../../shared/targets/open_target.ts";
import type {
  LoadOptions,
  ObjectInfo,
  SavedObject,
  SaveOptions,
  StorageTarget,
} from "../../../shared/targets/target.ts";
import { TargetError } from "../../../shared/util/errors.ts";
import { PG_BIN, type PostgresCluster, startPostgres } from "../../../stack/postgres.ts";
import { startS3Server } from "../../../stack/s3_server.ts";

const FIXTURES = new URL("../../fixtures/", import.meta.url);

async function psqlFile(url: string, file: string): Promise<void> {
  const out = await new Deno.Command(`${PG_BIN}/psql`, {
    args: ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", file],
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
}

async function withDatabase(
  fn: (pg: PostgresCluster, source: string, dir: string) => Promise<void>,
): Promise<void> {
  const pg = await startPostgres({ supabase: false });
  const dir = await Deno.makeTempDir({ prefix: "sauvegarde-faults-" });
  try {
    const source = await pg.createDatabase("source");
    await psqlFile(source, new URL("hard_schema.sql", FIXTURES).pathname);
    await psqlFile(source, new URL("hard_data.sql", FIXTURES).pathname);
    await fn(pg, source, dir);
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

/** Our connections still open on the cluster (a failed backup must leave none). */
async function engineConnections(url: string): Promise<number> {
  return await query(url, async (sql) => {
    const [{ n }] = await sql<{ n: number }[]>`
      select count(*)::int as n from pg_stat_activity where application_name = 'sauvegarde'`;
    return n;
  });
}

/** Adds a big table, so a COPY is still running while its first blobs are stored. */
async function addBigTable(url: string): Promise<void> {
  await query(url, (sql) =>
    sql`create table shop.big as
        select i as id, md5(i::text) || repeat(md5((i * 7)::text), 6) as payload
        from generate_series(1, 400000) i`);
}

/** Passes everything to `inner`, calling `onSave` before each save (which may throw). */
class HookedTarget implements StorageTarget {
  readonly kind: "file" | "s3";
  readonly location: string;
  saves = 0;
  constructor(
    readonly inner: StorageTarget,
    readonly onSave: (key: string, count: number) => Promise<void> | void,
  ) {
    this.kind = inner.kind;
    this.location = inner.location;
  }
  async save(
    key: string,
    body: ReadableStream<Uint8Array> | Uint8Array,
    options?: SaveOptions,
  ): Promise<SavedObject> {
    await this.onSave(key, ++this.saves);
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

async function userTables(url: string): Promise<string[]> {
  return await query(url, async (sql) =>
    (await sql<{ name: string }[]>`
      select n.nspname || '.' || c.relname as name from pg_class c
      join pg_namespace n on n.oid = c.relnamespace
      where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%'
        and c.relkind in ('r', 'p', 'v', 'm', 'S')`).map((row) => row.name));
}

Deno.test("a target failing midway fails the backup clearly, writes no manifest and leaves no connection", async () => {
  await withDatabase(async (pg, source, dir) => {
    const target = new HookedTarget(new FileTarget(dir), (key, count) => {
      if (key.startsWith("blobs/") && count > 5) {
        throw new TargetError("Injected failure: the target is unavailable");
      }
    });
    const repository = new Repository(target, { compression: "zstd" });
    await assert.rejects(
      backupDatabase({ db: source, repository, parallel: 2 }),
      /Could not back up table shop\..+: Injected failure: the target is unavailable/,
    );
    assert.deepEqual(await listDatabaseBackupIds(new Repository(new FileTarget(dir))), []);
    assert.equal(await engineConnections(pg.url), 0);
  });
});

Deno.test("an S3 server killed midway fails the backup and no manifest appears once it is back", async () => {
  await withDatabase(async (pg, source) => {
    await addBigTable(source);
    const server = await startS3Server({ buckets: ["backups"] });
    try {
      const credentials = {
        endpoint: server.endpoint,
        region: server.region,
        accessKeyId: server.accessKeyId,
        secretAccessKey: server.secretAccessKey,
        forcePathStyle: true,
      };
      const s3 = openTarget("s3://backups/db", { s3: credentials });
      let killed: Promise<void> | undefined;
      const target = new HookedTarget(s3, async (key) => {
        if (key.startsWith("blobs/") && target.saves === 3) {
          killed = server.kill();
          await killed;
        }
      });
      const repository = new Repository(target, { compression: "zstd" });
      await assert.rejects(
        backupDatabase({ db: source, repository, parallel: 2 }),
        /Could not back up table/,
      );
      await killed;
      assert.equal(await engineConnections(pg.url), 0);
      await server.restart();
      const fresh = openTarget("s3://backups/db", { s3: credentials });
      try {
        assert.deepEqual(await listDatabaseBackupIds(new Repository(fresh)), []);
      } finally {
        await fresh.close();
      }
      await s3.close();
    } finally {
      await server.stop();
    }
  });
});

Deno.test("a database connection dropped during COPY fails the backup and writes no manifest", async () => {
  await withDatabase(async (pg, source, dir) => {
    await addBigTable(source);
    let terminated = 0;
    let started = false;
    const target = new HookedTarget(new FileTarget(dir), async (key) => {
      if (!key.startsWith("blobs/") || started) return;
      started = true;
      terminated += await query(source, async (sql) =>
        (await sql`
          select pg_terminate_backend(pid) from pg_stat_activity
          where application_name = 'sauvegarde' and query ilike 'copy%' and state = 'active'`)
          .length);
    });
    const repository = new Repository(target, { compression: "zstd" });
    await assert.rejects(
      backupDatabase({ db: source, repository, parallel: 2 }),
      (error: Error) => {
        assert.match(
          error.message,
          /Could not back up table shop\.\S+: the database connection was lost/,
        );
        return true;
      },
    );
    assert.ok(terminated > 0, "a COPY was running when its connection was terminated");
    assert.deepEqual(await listDatabaseBackupIds(repository), []);
    assert.equal(await engineConnections(pg.url), 0);
  });
});

Deno.test("a corrupted blob stops the restore before anything is applied to the destination", async () => {
  await withDatabase(async (pg, source, dir) => {
    const repository = new Repository(new FileTarget(dir), { compression: "zstd" });
    const backup = await backupDatabase({ db: source, repository });
    const victim = backup.manifest.tables.find((table) => table.name === "orders")!.blobs[0];
    const path = `${dir}/${blobKey(victim.id)}`;
    const bytes = await Deno.readFile(path);
    bytes[Math.floor(bytes.length / 2)] ^= 0x40;
    await Deno.writeFile(path, bytes);
    const target = await pg.createDatabase("target");
    await assert.rejects(
      restoreDatabase({
        allowUnauthenticated: true,
        repository,
        backupId: backup.backupId,
        db: target,
      }),
      (error: Error) => {
        assert.ok(error instanceof RestoreError);
        assert.equal(error.applied, false);
        assert.match(error.message, new RegExp(`damaged, nothing was restored: .*${victim.id}`));
        return true;
      },
    );
    assert.deepEqual(await userTables(target), []);
    const schemas = await query(
      target,
      (sql) => sql`select nspname from pg_namespace where nspname = 'shop'`,
    );
    assert.equal(schemas.length, 0);
  });
});

Deno.test("a missing blob or a tampered manifest stops the restore with a clear error", async () => {
  await withDatabase(async (pg, source, dir) => {
    const repository = new Repository(new FileTarget(dir), { compression: "zstd" });
    const backup = await backupDatabase({ db: source, repository });
    const target = await pg.createDatabase("target");
    const manifestPath = `${dir}/manifests/database/${backup.backupId}.json`;
    const original = await Deno.readTextFile(manifestPath);
    const tampered = JSON.parse(original);
    tampered.tables[0].rows = -1;
    await Deno.writeTextFile(manifestPath, JSON.stringify(tampered));
    await assert.rejects(
      restoreDatabase({
        allowUnauthenticated: true,
        repository,
        backupId: backup.backupId,
        db: target,
      }),
      /Manifest of backup .* is not valid: tables\.0\.rows/,
    );
    await Deno.writeTextFile(manifestPath, original);
    const victim = backup.manifest.tables.find((table) => table.blobs.length > 0)!.blobs[0];
    await Deno.remove(`${dir}/${blobKey(victim.id)}`);
    await assert.rejects(
      restoreDatabase({
        allowUnauthenticated: true,
        repository,
        backupId: backup.backupId,
        db: target,
      }),
      new RegExp(`Blob ${victim.id} is missing`),
    );
    assert.deepEqual(await userTables(target), []);
  });
});

Deno.test("a cancelled backup stops promptly and writes no manifest", async () => {
  await withDatabase(async (pg, source, dir) => {
    await addBigTable(source);
    const repository = new Repository(new FileTarget(dir), { compression: "zstd" });
    const controller = new AbortController();
    const backup = backupDatabase({
      db: source,
      repository,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.bytes > 0) controller.abort(new Error("Stopped by the operator"));
      },
    });
    await assert.rejects(backup, /cancelled|Stopped by the operator/);
    assert.deepEqual(await listDatabaseBackupIds(repository), []);
    assert.equal(await engineConnections(pg.url), 0);
  });
});
