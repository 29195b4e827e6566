/**
 * Whole applications' schemas, written for these tests (`tests/fixtures/realistic/`), each
 * backed up and restored by the engine, exported as SQL and run by psql, and restore-tested:
 * pg_dump must see the same schema and data every time, and the restore test must find every
 * table and every kind of object as the backup recorded them.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { assertRoundTrip, withOracleCluster } from "../../support/pg_oracle.ts";

const FIXTURES = new URL("../../fixtures/realistic/", import.meta.url);
const fixture = (name: string) => Deno.readTextFile(new URL(name, FIXTURES));

async function scalar<T>(url: string, text: string): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql.unsafe(text);
    return Object.values(row)[0] as T;
  } finally {
    await sql.end();
  }
}

Deno.test("a French shop (accent-insensitive collation, French full-text search, euro casts and aggregates) restores identically", async () => {
  await withOracleCluster(async (cluster) => {
    const trip = await assertRoundTrip(cluster, await fixture("boutique.sql"), {
      restoreTest: true,
    });
    assert.deepEqual(trip.backup.manifest.warnings, []);
    for (const kind of ["COLLATION", "TEXT SEARCH CONFIGURATION", "CAST", "AGGREGATE"]) {
      assert.ok((trip.restoreTest!.objects[kind] ?? 0) > 0, `the restore test checked ${kind}`);
    }
    // The restored database behaves like the source: accent-free search, insensitive equality.
    const query = `select count(*)::int from boutique.produits
      where recherche @@ to_tsquery('boutique.francais_sans_accents', 'theiere')
        and nom = 'theiere emaillee N°1'`;
    assert.equal(await scalar(trip.restored, query), await scalar(trip.source, query));
    assert.equal(await scalar<number>(trip.restored, query), 1);
  });
});

Deno.test("a PostGIS delivery app with a custom spatial reference system restores identically", async () => {
  await withOracleCluster(async (cluster) => {
    const trip = await assertRoundTrip(cluster, await fixture("cartographie.sql"), {
      restoreTest: true,
    });
    assert.deepEqual(trip.backup.manifest.warnings, []);
    const srs = `select srtext from spatial_ref_sys where srid = 910001`;
    assert.match(await scalar<string>(trip.restored, srs), /Entrepôt local/);
    const zone = `select livraison.zone_de(2.15, 48.05)`;
    assert.equal(await scalar(trip.restored, zone), await scalar(trip.source, zone));
  });
});

Deno.test("an app reading a legacy database through postgres_fdw restores its servers, mappings and foreign tables identically", async () => {
  await withOracleCluster(async (cluster) => {
    const trip = await assertRoundTrip(cluster, await fixture("federation.sql"), {
      restoreTest: true,
    });
    assert.deepEqual(trip.backup.manifest.warnings, []);
    // pg_dump writes options sorted by name, and so do we: compare them as sets.
    const options = `select string_agg(o, ',' order by o) from pg_user_mappings,
      unnest(umoptions) o where usename = 'federation_app'`;
    assert.equal(await scalar(trip.restored, options), await scalar(trip.source, options));
  });
});

Deno.test("an invoicing app's large objects (empty, small, several MB) restore with their owners, comments and grants", async () => {
  await withOracleCluster(async (cluster) => {
    const trip = await assertRoundTrip(cluster, await fixture("documents.sql"), {
      restoreTest: true,
    });
    assert.deepEqual(trip.backup.manifest.warnings, []);
    const digest = `select md5(string_agg(f.numero || md5(lo_get(f.pdf)), ',' order by f.numero))
      from public.factures f`;
    assert.equal(await scalar(trip.restored, digest), await scalar(trip.source, digest));
  });
});
