/**
 * Extension configuration tables and sequences (`pg_extension_config_dump`): the rows an
 * extension's condition selects and the sequences' values come back as pg_dump has them —
 * PostGIS's custom SRIDs, PostGIS topology's topologies and layers (a configuration table
 * referencing another), pg_cron's jobs and job id sequence — through the engine's restore and
 * through the exported script.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { exportSql } from "../../../shared/database/export_sql.ts";
import { backupDatabase } from "../../../shared/database/backup/mod.ts";
import { loadSection } from "../../../shared/database/sections.ts";
import { restoreDatabase, RestoreError } from "../../../shared/database/restore/mod.ts";
import { Repository } from "../../../shared/repository/mod.ts";
import { runRestoreTest } from "../../../shared/restore_test/restore_test.ts";
import { FileTarget } from "../../../shared/targets/file_target.ts";
import { startPostgres } from "../../../stack/postgres.ts";
import {
  assertRoundTrip,
  assertSameDump,
  pgDump,
  pgTool,
  psqlScript,
  withOracleCluster,
} from "../../support/pg_oracle.ts";

async function query<T>(url: string, fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await fn(sql);
  } finally {
    await sql.end();
  }
}

async function withRepository(fn: (repository: Repository, dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "sauvegarde-extconfig-" });
  try {
    await fn(new Repository(new FileTarget(dir), { compression: "zstd" }), dir);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Two custom SRIDs (one in a gap of PostGIS's ranges) and a table of points in one. */
const POSTGIS = `
create extension postgis;
insert into public.spatial_ref_sys (srid, auth_name, auth_srid, srtext, proj4text) values
  (990001, 'sauvegarde', 990001, 'LOCAL_CS["city grid"]', '+proj=longlat +datum=WGS84'),
  (2218, 'sauvegarde', 2218, '', '');
create table public.places (id int primary key, name text, geom public.geometry(Point, 990001));
insert into public.places
select i, 'place ' || i, public.st_setsrid(public.st_makepoint(i, i * 2), 990001)
from generate_series(1, 50) i;
`;

Deno.test("PostGIS's custom spatial_ref_sys rows come back, and only those, beside a geometry table", async () => {
  await withOracleCluster(async (cluster) => {
    const trip = await assertRoundTrip(cluster, POSTGIS);
    const srs = trip.backup.manifest.tables.find((table) => table.name === "spatial_ref_sys")!;
    assert.equal(srs.rows, 2);
    assert.equal(srs.extension?.name, "postgis");
    assert.match(srs.extension!.condition, /^WHERE NOT \(\nsrid BETWEEN 2000 AND 2217/);
    assert.deepEqual(srs.extension!.loadAfter, []);
    const count = (url: string) =>
      query(url, (sql) => sql`select count(*)::int as n from public.spatial_ref_sys`);
    assert.deepEqual(await count(trip.restored), await count(trip.source));

    // Into a database that has PostGIS and the tables already, data only: the custom rows are
    // appended beside PostGIS's own, which are never emptied, even when asked to truncate.
    await withRepository(async (repository) => {
      const backup = await backupDatabase({ db: trip.source, repository });
      const target = await cluster.database("target");
      const restore = (options: { schemaOnly?: boolean; dataOnly?: boolean }) =>
        restoreDatabase({
          repository,
          backupId: backup.backupId,
          db: target,
          safetyBackup: false,
          truncate: true,
          allowUnauthenticated: true,
          ...options,
        });
      await restore({ schemaOnly: true });
      await restore({ dataOnly: true });
      assertSameDump(
        await pgDump(trip.source, "--data-only"),
        await pgDump(target, "--data-only"),
        "Data dumps",
      );
      assert.deepEqual(await count(target), await count(trip.source));

      // A restore test reads spatial_ref_sys back with the scratch database's own condition.
      const report = await runRestoreTest(repository, {
        serverUrl: cluster.pg.url,
        backupId: backup.backupId,
        allowUnauthenticated: true,
      });
      assert.equal(report.ok, true, JSON.stringify([report.mismatches, report.objectMismatches]));
    });
  });
});

/** A topology (a row of topology.topology) and a layer of it (topology.layer references it). */
const TOPOLOGY = `
create extension postgis;
create extension postgis_topology;
select topology.createtopology('city_topo', 4326, 0);
create table public.roads (id int primary key, name text);
select topology.addtopogeometrycolumn('city_topo', 'public', 'roads', 'topo', 'LINE');
`;

Deno.test("PostGIS topology's configuration tables come back in their foreign keys' order", async () => {
  await withOracleCluster(async (cluster) => {
    const trip = await assertRoundTrip(cluster, TOPOLOGY);
    const layer = trip.backup.manifest.tables.find((table) =>
      table.schema === "topology" && table.name === "layer"
    )!;
    assert.equal(layer.rows, 1);
    assert.deepEqual(layer.extension, {
      name: "postgis_topology",
      condition: "",
      loadAfter: ["topology.topology"],
    });
  });
});

/** Two jobs scheduled, one unscheduled: the job id sequence is past the rows. */
const CRON = `
create extension pg_cron;
select cron.schedule('nightly-vacuum', '0 3 1 1 *', 'vacuum');
select cron.schedule('yearly-report', '0 4 1 1 *', $$select 'report'$$);
select cron.unschedule('yearly-report');
select cron.schedule('january-noop', '0 5 1 1 *', 'select 1');
`;

Deno.test("pg_cron's jobs and job id sequence come back as is, through the engine and the exported script", async () => {
  // pg_cron lives in the database its server names, `postgres`: one cluster per database.
  const [source, restored, exported] = await Promise.all(
    [0, 1, 2].map(() => startPostgres({ supabase: false })),
  );
  try {
    await psqlScript(source.url, CRON);
    await withRepository(async (repository, dir) => {
      const backup = await backupDatabase({ db: source.url, repository });
      const job = backup.manifest.tables.find((table) => tableName(table) === "cron.job")!;
      assert.equal(job.rows, 2);
      assert.equal(job.extension?.name, "pg_cron");
      assert.ok(
        backup.manifest.tables.some((table) => tableName(table) === "cron.job_run_details"),
      );
      const post = await loadSection(repository, backup.manifest.sections.postData);
      assert.ok(
        post.some((statement) =>
          statement.sql === "SELECT pg_catalog.setval('cron.jobid_seq', 3, true);"
        ),
        "the job id sequence is set past the jobs",
      );

      await restoreDatabase({
        repository,
        backupId: backup.backupId,
        db: restored.url,
        allowUnauthenticated: true,
      });
      const file = `${dir}/export.sql`;
      const out = await Deno.open(file, { write: true, create: true, truncate: true });
      await exportSql(repository, {
        backupId: backup.backupId,
        out: out.writable,
        allowUnauthenticated: true,
      });
      await pgTool("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", exported.url, "-f", file]);
      for (const [what, url] of [["Restored", restored.url], ["Exported", exported.url]]) {
        for (const flag of ["--schema-only", "--data-only"]) {
          assertSameDump(
            await pgDump(source.url, flag),
            await pgDump(url, flag),
            `${what} ${flag} dumps`,
          );
        }
      }
      // A new job in the restored database takes the next id, after the restored ones.
      const [{ id }] = await query(
        restored.url,
        (sql) =>
          sql<
            { id: string }[]
          >`select cron.schedule('another', '0 6 1 1 *', 'select 2')::text as id`,
      );
      assert.equal(id, "4");

      // The restored database's jobs are its own now: another restore refuses to mix them,
      // unless asked to replace them.
      const again = () =>
        restoreDatabase({
          repository,
          backupId: backup.backupId,
          db: restored.url,
          dataOnly: true,
          safetyBackup: false,
          allowUnauthenticated: true,
        });
      await assert.rejects(again(), (error: Error) => {
        assert.ok(error instanceof RestoreError);
        assert.equal(error.applied, false);
        assert.match(error.message, /cron\.job already hold rows/);
        return true;
      });
      await restoreDatabase({
        repository,
        backupId: backup.backupId,
        db: restored.url,
        dataOnly: true,
        truncate: true,
        safetyBackup: false,
        allowUnauthenticated: true,
      });
      assertSameDump(
        await pgDump(source.url, "--data-only"),
        await pgDump(restored.url, "--data-only"),
        "Data dumps after a truncating restore",
      );

      // A restore test cannot create pg_cron in a scratch database: the extension and its
      // configuration are left out, and the rest must still match.
      const report = await runRestoreTest(repository, {
        serverUrl: source.url,
        backupId: backup.backupId,
        allowUnauthenticated: true,
      });
      assert.deepEqual(report.leftOut, ["EXTENSION pg_cron"]);
      assert.equal(report.ok, true, JSON.stringify([report.mismatches, report.objectMismatches]));
    });
  } finally {
    await Promise.all([source, restored, exported].map((pg) => pg.stop()));
  }
});

Deno.test("a scope's include and exclude lists choose configuration tables as pg_dump's do", async () => {
  await withOracleCluster(async (cluster) => {
    const db = await cluster.database("source");
    await psqlScript(db, POSTGIS + "create schema other; create table other.t (id int);");
    await withRepository(async (repository) => {
      const names = async (scope: Parameters<typeof backupDatabase>[0]["scope"]) => {
        const backup = await backupDatabase({ db, repository, scope });
        return backup.manifest.tables.map(tableName).sort();
      };
      assert.deepEqual(await names({}), ["other.t", "public.places", "public.spatial_ref_sys"]);
      assert.deepEqual(await names({ excludeTables: ["public.spatial_ref_sys"] }), [
        "other.t",
        "public.places",
      ]);
      // Schemas chosen: extensions are not dumped, their configuration only in those schemas.
      assert.deepEqual(await names({ includeSchemas: ["other"] }), ["other.t"]);
      assert.deepEqual(await names({ includeSchemas: ["public"] }), [
        "public.places",
        "public.spatial_ref_sys",
      ]);
      assert.deepEqual(await names({ includeTables: ["public.spatial_ref_sys"] }), [
        "public.spatial_ref_sys",
      ]);
      assert.deepEqual(await names({ schemaOnly: true }), []);
    });
  });
});

function tableName(table: { schema: string; name: string }): string {
  return `${table.schema}.${table.name}`;
}
