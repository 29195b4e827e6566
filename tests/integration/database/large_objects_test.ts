/**
 * Large objects: their definitions (owner, comment, privileges) and contents come back from a
 * backup as pg_dump has them, through the engine's restore and through the exported script; a
 * destination that already has one of them is refused, and a damaged contents blob stops the
 * restore before anything changes.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import postgres from "postgres";
import {
  backupDatabase,
  copyPendingTables,
  finishBackupRun,
  startBackupRun,
} from "../../../shared/database/backup/mod.ts";
import { openConnection } from "../../../shared/pg/connect.ts";
import {
  type ExportedSnapshot,
  openExportedSnapshot,
} from "../../../shared/pg/exported_snapshot.ts";
import { restoreDatabase, RestoreError } from "../../../shared/database/restore/mod.ts";
import { blobKey, Repository } from "../../../shared/repository/mod.ts";
import { checkLargeObjects } from "../../../shared/restore_test/large_objects_check.ts";
import { runRestoreTest } from "../../../shared/restore_test/restore_test.ts";
import { FileTarget } from "../../../shared/targets/file_target.ts";
import { assertRoundTrip, type OracleCluster, withOracleCluster } from "../../support/pg_oracle.ts";

/** Roles are cluster-wide: created once, whichever case runs first. */
const ROLES = `
do $$ begin
  create role lo_alice;
exception when duplicate_object then null;
end $$;
do $$ begin
  create role lo_bob;
exception when duplicate_object then null;
end $$;
`;

/**
 * Three thousand small objects (five hundred owned by another role), one of about 6 MB, an
 * empty one, comments, privileges granted, revoked from the owner and granted by a grantee.
 */
const LARGE_OBJECTS = `${ROLES}
create table public.docs (id int primary key, body oid);
select pg_catalog.lo_from_bytea(50000 + i, convert_to('small object ' || i, 'UTF8'))
from generate_series(1, 3000) i;
do $$ begin
  for i in 50001..50500 loop
    execute format('alter large object %s owner to lo_alice', i);
  end loop;
end $$;
insert into public.docs
select 1, pg_catalog.lo_from_bytea(0, decode(string_agg(md5(i::text), ''), 'hex'))
from generate_series(1, 400000) i;
select pg_catalog.lo_create(60000);
comment on large object 50001 is 'the first, owned by lo_alice';
comment on large object 60000 is 'empty';
grant select on large object 50002 to lo_bob;
grant select, update on large object 50600 to lo_bob with grant option;
revoke all on large object 50003 from lo_alice;
grant select on large object 50700 to public;
set role lo_bob;
grant select on large object 50600 to lo_alice;
reset role;
`;

async function query<T>(url: string, fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await fn(sql);
  } finally {
    await sql.end();
  }
}

/** Every large object's oid, size and MD5, read through `lo_get`. */
function contents(url: string) {
  return query(url, (sql) =>
    sql<{ oid: string; size: number; md5: string }[]>`
      select oid::text as oid, length(lo_get(oid)) as size, md5(lo_get(oid)) as md5
      from pg_largeobject_metadata order by oid`.then((rows) => rows.map((row) => ({ ...row }))));
}

async function withRepository(fn: (repository: Repository, dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "sauvegarde-lo-" });
  try {
    await fn(new Repository(new FileTarget(dir), { compression: "zstd" }), dir);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

async function source(cluster: OracleCluster, setup: string): Promise<string> {
  const url = await cluster.database("source");
  await query(url, (sql) => sql.unsafe(setup));
  return url;
}

Deno.test("large objects come back as pg_dump dumps them, through the engine and the exported script", async () => {
  await withOracleCluster(async (cluster) => {
    const trip = await assertRoundTrip(cluster, LARGE_OBJECTS);
    const expected = await contents(trip.source);
    assert.equal(expected.length, 3002);
    assert.deepEqual(await contents(trip.restored), expected);
    const recorded = trip.backup.manifest.largeObjects!;
    assert.equal(recorded.count, 3002);
    assert.equal(recorded.bytes, expected.reduce((sum, object) => sum + object.size, 0));
    assert.ok(recorded.bytes > 6_000_000);
    // 3000 small pieces, none for the empty object, 7 of at most 1 MiB for the large one.
    assert.equal(recorded.rows, 3000 + 7);
    assert.equal(trip.restore.largeObjects, 3002);
    assert.deepEqual(trip.backup.manifest.warnings, []);
  });
});

Deno.test("an unchanged large object is referenced by the next backup, not stored again", async () => {
  await withOracleCluster(async (cluster) => {
    const db = await source(cluster, LARGE_OBJECTS);
    await withRepository(async (repository) => {
      const first = await backupDatabase({ db, repository });
      await query(db, (sql) => sql`select lo_from_bytea(70000, 'one more')`);
      const second = await backupDatabase({ db, repository });
      const before = new Set(first.manifest.largeObjects!.blobs.map((blob) => blob.id));
      const after = second.manifest.largeObjects!.blobs;
      assert.equal(second.manifest.largeObjects!.count, 3003);
      // The new object is last in oid order: every blob before its own is the same.
      assert.ok(after.slice(0, -1).every((blob) => before.has(blob.id)));
      assert.ok(second.reusedBlobs >= after.length - 1);
    });
  });
});

Deno.test("large objects copied in worker threads are the same as copied in this one", async () => {
  await withOracleCluster(async (cluster) => {
    const db = await source(cluster, LARGE_OBJECTS);
    await withRepository(async (repository, dir) => {
      const here = await backupDatabase({ db, repository });
      const there = await backupDatabase({
        db,
        repository,
        workers: { name: "local", url: dir, config: { compression: "zstd", s3: {} } },
      });
      assert.deepEqual(
        { ...there.manifest.largeObjects, snapshotTime: "" },
        { ...here.manifest.largeObjects, snapshotTime: "" },
      );
    });
  });
});

Deno.test("large objects copied in a later snapshot than their definitions must be the same objects", async () => {
  await withOracleCluster(async (cluster) => {
    const db = await source(cluster, LARGE_OBJECTS);
    await withRepository(async (repository) => {
      const connection = openConnection(db, { max: 2 });
      const inSnapshot = async <T>(fn: (snapshot: ExportedSnapshot) => Promise<T>) => {
        const snapshot = await openExportedSnapshot(connection.sql);
        try {
          return await fn(snapshot);
        } finally {
          await snapshot.close();
        }
      };
      try {
        // A budgeted step that read the schema, then ran out of time: contents copied later.
        const started = await inSnapshot((snapshot) => startBackupRun(snapshot, repository));
        const copied = await inSnapshot((snapshot) =>
          copyPendingTables(started, snapshot, repository)
        );
        assert.equal(copied.snapshots, 2);
        const manifest = await finishBackupRun(copied, repository);
        assert.equal(manifest.largeObjects!.count, 3002);
        const target = await cluster.database("target");
        await restoreDatabase({
          repository,
          backupId: manifest.backupId,
          db: target,
          allowUnauthenticated: true,
        });
        assert.deepEqual(await contents(target), await contents(db));

        // An object created between the steps: its definition was not read, so the backup fails.
        const next = await inSnapshot((snapshot) => startBackupRun(snapshot, repository));
        await query(db, (sql) => sql`select lo_from_bytea(70000, 'late')`);
        await assert.rejects(
          inSnapshot((snapshot) => copyPendingTables(next, snapshot, repository)),
          /The large objects changed since the backup read the schema \(3002 objects .* 3003 of/,
        );
      } finally {
        await connection.close();
      }
    });
  });
});

Deno.test("a restore into a database that already has one of the backup's large objects is refused, changing nothing", async () => {
  await withOracleCluster(async (cluster) => {
    const db = await source(cluster, LARGE_OBJECTS);
    await withRepository(async (repository) => {
      const backup = await backupDatabase({ db, repository });
      const target = await cluster.database("target");
      await query(target, (sql) => sql`select lo_from_bytea(50002, 'already here')`);
      await assert.rejects(
        restoreDatabase({
          repository,
          backupId: backup.backupId,
          db: target,
          allowUnauthenticated: true,
        }),
        (error: Error) => {
          assert.ok(error instanceof RestoreError);
          assert.equal(error.applied, false);
          assert.match(error.message, /already has large object 50002 that the backup creates/);
          return true;
        },
      );
      assert.deepEqual(await contents(target), [contentsOf("already here", "50002")]);
      const tables = await query(target, (sql) => sql`select from pg_class where relname = 'docs'`);
      assert.equal(tables.length, 0);
    });
  });
});

/** What {@link contents} reads for one object holding `text`. */
function contentsOf(text: string, oid: string) {
  const bytes = new TextEncoder().encode(text);
  return { oid, size: bytes.length, md5: md5Hex(bytes) };
}

function md5Hex(bytes: Uint8Array): string {
  // node:crypto has MD5; Web Crypto does not.
  return createHash("md5").update(bytes).digest("hex");
}

Deno.test("a damaged blob of the large objects' contents stops the restore before anything changes", async () => {
  await withOracleCluster(async (cluster) => {
    const db = await source(cluster, LARGE_OBJECTS);
    await withRepository(async (repository, dir) => {
      const backup = await backupDatabase({ db, repository });
      const victim = backup.manifest.largeObjects!.blobs.at(-1)!;
      const path = `${dir}/${blobKey(victim.id)}`;
      const bytes = await Deno.readFile(path);
      bytes[Math.floor(bytes.length / 2)] ^= 0x40;
      await Deno.writeFile(path, bytes);
      const target = await cluster.database("target");
      await assert.rejects(
        restoreDatabase({
          repository,
          backupId: backup.backupId,
          db: target,
          allowUnauthenticated: true,
        }),
        (error: Error) => {
          assert.ok(error instanceof RestoreError);
          assert.equal(error.applied, false);
          assert.match(error.message, new RegExp(`damaged, nothing was restored: .*${victim.id}`));
          return true;
        },
      );
      assert.deepEqual(await contents(target), []);
    });
  });
});

Deno.test("schema-only restores leave large objects out and data-only ones bring them, as pg_dump", async () => {
  await withOracleCluster(async (cluster) => {
    const db = await source(cluster, LARGE_OBJECTS);
    await withRepository(async (repository) => {
      const backup = await backupDatabase({ db, repository });
      const target = await cluster.database("target");
      await restoreDatabase({
        repository,
        backupId: backup.backupId,
        db: target,
        schemaOnly: true,
        allowUnauthenticated: true,
      });
      assert.deepEqual(await contents(target), []);
      const result = await restoreDatabase({
        repository,
        backupId: backup.backupId,
        db: target,
        dataOnly: true,
        safetyBackup: false,
        allowUnauthenticated: true,
      });
      assert.equal(result.largeObjects, 3002);
      assert.deepEqual(await contents(target), await contents(db));
      const owners = (url: string) =>
        query(
          url,
          (sql) =>
            sql`select oid::text, pg_get_userbyid(lomowner) as owner, lomacl::text as acl,
                obj_description(oid, 'pg_largeobject') as comment
              from pg_largeobject_metadata order by oid`.then((rows) =>
              rows.map((row) => ({ ...row }))
            ),
        );
      assert.deepEqual(await owners(target), await owners(db));
    });
  });
});

Deno.test("a restore test reads the large objects back and compares them with the backup", async () => {
  await withOracleCluster(async (cluster) => {
    const db = await source(cluster, LARGE_OBJECTS);
    await withRepository(async (repository) => {
      const backup = await backupDatabase({ db, repository });
      const report = await runRestoreTest(repository, {
        serverUrl: cluster.pg.url,
        allowUnauthenticated: true,
      });
      assert.equal(report.ok, true, JSON.stringify(report.mismatches));
      // A changed byte in one object is what the check is for.
      const expected = backup.manifest.largeObjects!;
      assert.equal(await query(db, (sql) => checkLargeObjects(sql, expected)), undefined);
      await query(db, (sql) => sql`select lo_put(50010, 3, 'X')`);
      const mismatch = await query(db, (sql) => checkLargeObjects(sql, expected));
      assert.match(mismatch!.problem, /^The large objects differ: 3002 objects/);
    });
  });
});
