/**
 * The restore test's comparison of every kind of object, and of rows as sets: a restored
 * database missing a trigger, holding a changed collation or an extra grant is named kind by
 * kind; the same rows in another physical order are the same table, other rows are not.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { readSchema } from "../../../shared/database/catalog/mod.ts";
import { compareObjects } from "../../../shared/restore_test/object_check.ts";
import { rowSetDigest } from "../../../shared/restore_test/table_checksum.ts";
import { psqlScript, withOracleCluster } from "../../support/pg_oracle.ts";

const SCHEMA = `
  do $$ begin create role shop_reader; exception when duplicate_object then null; end $$;
  create collation public.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
  create table public.items (id int primary key, label text collate public.ci);
  create function public.touch() returns trigger language plpgsql as $f$ begin return new; end $f$;
  create trigger items_touch before insert on public.items for each row execute function public.touch();
  create text search configuration public.simple_fr (copy = simple);`;

Deno.test("the object comparison names each kind that was not restored as recorded", async () => {
  await withOracleCluster(async (cluster) => {
    const source = await cluster.database("source");
    await psqlScript(source, SCHEMA);
    // A faithful copy: the same script run into another database.
    const copy = await cluster.database("restored");
    await psqlScript(copy, SCHEMA);
    const read = postgres(source, { max: 1, onnotice: () => {} });
    const restored = postgres(copy, { max: 1, onnotice: () => {} });
    try {
      const recorded = (await readSchema(read)).statements;
      // It compares equal, every kind counted.
      const same = await compareObjects(restored, recorded, {});
      assert.deepEqual(same.mismatches, []);
      for (
        const kind of ["COLLATION", "TABLE", "FUNCTION", "TRIGGER", "TEXT SEARCH CONFIGURATION"]
      ) {
        assert.ok((same.counts[kind] ?? 0) > 0, `${kind} counted`);
      }
      // A trigger lost, a configuration changed, a grant added: each kind is named.
      await restored.unsafe(`drop trigger items_touch on public.items;
        alter text search configuration public.simple_fr drop mapping for asciiword;
        grant select on public.items to shop_reader;`);
      const found = await compareObjects(restored, recorded, {});
      const kinds = Object.fromEntries(found.mismatches.map((m) => [m.kind, m]));
      assert.deepEqual(kinds.TRIGGER?.missing, ["TRIGGER public.items items_touch"]);
      assert.ok(kinds["TEXT SEARCH CONFIGURATION"], JSON.stringify(found.mismatches));
      assert.equal(kinds.ACL?.unexpected.length, 1, JSON.stringify(kinds.ACL));
      assert.deepEqual(kinds.ACL?.missing, []);
    } finally {
      await read.end();
      await restored.end();
    }
  });
});

async function* pieces(...parts: string[]): AsyncIterable<Uint8Array> {
  for (const part of parts) yield new TextEncoder().encode(part);
}

Deno.test("rows compare as sets: another order is the same table, another row is not", async () => {
  const stored = await rowSetDigest(pieces("1\ta\n2\tb", "\n3\tc\n"));
  const reordered = await rowSetDigest(pieces("3\tc\n1", "\ta\n2\tb\n"));
  const changed = await rowSetDigest(pieces("3\tc\n1\ta\n2\tB\n"));
  const duplicated = await rowSetDigest(pieces("1\ta\n1\ta\n3\tc\n"));
  assert.equal(stored.rows, 3);
  assert.equal(reordered.digest, stored.digest);
  assert.notEqual(changed.digest, stored.digest);
  assert.notEqual(duplicated.digest, stored.digest);
});
