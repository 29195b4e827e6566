/**
 * Large tables copied in key-ordered slices across budgeted steps, against real PostgreSQL:
 * the restored data is the one-step backup's, whatever the key (bigint, text with awkward
 * values, composite, uuid, floats, bpchar, partitions, an inheritance parent); keyless tables
 * are still copied whole; the restore test checks sliced tables slice by slice and catches a
 * changed row; a step killed inside a table resumes from its last saved slice.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import {
  backupDatabase,
  type BackupRunState,
  copyPendingTables,
  finishBackupRun,
  rowsPerSlice,
  startBackupRun,
  TABLE_CHUNKING,
} from "../../../shared/database/backup/mod.ts";
import { openWorkerLanes, type RepositorySpec } from "../../../shared/pg/copy_lane.ts";
import { copyOut } from "../../../shared/pg/copy_out.ts";
import {
  type DatabaseManifest,
  loadDatabaseManifest,
  newBackupId,
  parseManifest,
  saveDatabaseManifest,
  slicesDigest,
} from "../../../shared/database/manifest.ts";
import { restoreDatabase } from "../../../shared/database/restore/mod.ts";
import { sliceBytesFor } from "../../../shared/steps/database.ts";
import { sliceSpacing } from "../../../shared/pg/slices.ts";
import { prepareSession } from "../../../shared/pg/session.ts";
import { openExportedSnapshot } from "../../../shared/pg/exported_snapshot.ts";
import { settleBackground } from "../../../shared/jobs/background.ts";
import { Budget } from "../../../shared/jobs/budget.ts";
import { executeUntilDone, PLAN_BUDGETS } from "../../../shared/jobs/mod.ts";
import { Repository } from "../../../shared/repository/mod.ts";
import { runDatabaseSteps } from "../../support/database_steps.ts";
import { openRepository } from "../../../shared/repository/open.ts";
import { runRestoreTest } from "../../../shared/restore_test/mod.ts";
import { checksumTable, compareTable } from "../../../shared/restore_test/table_checksum.ts";
import { FileTarget } from "../../../shared/targets/file_target.ts";
import { startLocalStack } from "../../../stack/local_stack.ts";
import { pauseContinueTick, untilClaimable } from "../../support/stale_run.ts";
import { startPostgres } from "../../../stack/postgres.ts";

/** Tables of every kind of key, each larger than a 32 KiB slice, inserted out of key order. */
const SOURCE_SQL = String.raw`
create schema shop;
create table shop.big (id bigint primary key, payload text not null, note text);
insert into shop.big
select i, repeat(md5(i::text), 3), case when i % 7 = 0 then null else E'tab\there \\ ' || i end
from generate_series(1, 6000) i order by md5(i::text);

create table shop."Awkward Keys" (
  region text, code text collate "C", seq integer, payload text,
  primary key (region, code, seq)
);
with v(s) as (values (''), (' '), ('a'), ('A'), ('a b'), (E'tab\tx'), (E'new\nline'),
  (E'back\\slash'), ('"quoted"'), ('''single'''), (E'\\N'), ('NULL'), ('é'), ('日本'),
  ('🦀'), (repeat('z', 300)), ('(1,2)'), ('{a,b}'), (','), (E'cr\rlf'))
insert into shop."Awkward Keys"
select r.s, c.s, n, md5(r.s || c.s || n) from v r, v c, generate_series(1, 6) n
order by md5(r.s || c.s || n);

create table shop.tokens (id uuid primary key, n integer not null, label varchar(40));
insert into shop.tokens select md5(i::text)::uuid, i, 'token ' || i
from generate_series(1, 4000) i;

create table shop.readings (
  at timestamptz, value double precision, amount numeric, note text,
  primary key (at, value, amount)
);
insert into shop.readings
select timestamptz '2026-01-01 00:00:00.000001+00' + make_interval(hours => i, secs => i / 7.0),
  f, a, 'reading ' || i
from generate_series(1, 60) i,
  unnest(array['NaN', 'Infinity', '-Infinity', '0.1', '1e-310', '1.7976931348623157e308',
    '0.30000000000000004', '-2.5']::float8[]) f,
  unnest(array['0', '-0.000000000000000001', '12345678901234567890.123456789', '1e-20',
    'NaN']::numeric[]) a
order by random();

create table shop.codes (code char(8) not null, region integer not null, body text);
create unique index codes_key on shop.codes (region, code);
insert into shop.codes select lpad(i::text, 5), i % 3, repeat('c', 40) || i
from generate_series(1, 3000) i order by random();

create table shop.measures (part integer, id integer, body text, primary key (part, id))
  partition by list (part);
create table shop.measures_a partition of shop.measures for values in (1);
create table shop.measures_b partition of shop.measures for values in (2);
insert into shop.measures select 1 + i % 2, i, repeat('m', 60) from generate_series(1, 4000) i;

create table shop.parents (id integer primary key, body text);
create table shop.children (extra text) inherits (shop.parents);
insert into shop.parents select i, repeat('p', 50) from generate_series(1, 2000) i;
insert into shop.children select i, repeat('q', 50), 'child' from generate_series(1, 500) i;

create table shop.log (at timestamptz, line text);
insert into shop.log select now(), repeat('l', 100) || i from generate_series(1, 2000) i;

create table shop.maybe (id integer unique, body text);
insert into shop.maybe select case when i % 10 = 0 then null else i end, repeat('n', 80)
from generate_series(1, 2000) i;
`;

const SLICE_BYTES = 32 * 1024;

interface Source {
  url: string;
  serverUrl: string;
  dir: string;
  repository: Repository;
  newDatabase(name: string): Promise<string>;
}

async function withSource(fn: (source: Source) => Promise<void>): Promise<void> {
  const pg = await startPostgres({ supabase: false });
  const dir = await Deno.makeTempDir({ prefix: "sauvegarde-slices-test-" });
  try {
    const url = await pg.createDatabase("source");
    await query(url, (sql) => sql.unsafe(SOURCE_SQL));
    const repository = new Repository(new FileTarget(dir), { compression: "zstd" });
    await fn({ url, serverUrl: pg.url, dir, repository, newDatabase: (n) => pg.createDatabase(n) });
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

/** Every table's own rows as text, sorted: the data, whatever its physical order. */
async function contents(url: string): Promise<Record<string, string[]>> {
  return await query(url, async (sql) => {
    const tables = await sql<{ name: string }[]>`
      select format('%I.%I', n.nspname, c.relname) as name from pg_class c
      join pg_namespace n on n.oid = c.relnamespace
      where c.relkind = 'r' and n.nspname = 'shop' order by 1`;
    const out: Record<string, string[]> = {};
    for (const { name } of tables) {
      const rows = await sql.unsafe(`select t::text as row from only ${name} t`);
      out[name] = rows.map((row) => row.row as string).sort();
    }
    return out;
  });
}

/** Runs the database step until done, each step with the given budget; returns the steps. */
async function runSteps(source: Source, limits: ConstructorParameters<typeof Budget>[0]) {
  let saves = 0;
  const { result, steps } = await runDatabaseSteps({
    databaseUrl: source.url,
    dir: source.dir,
    limits,
    maxSteps: 400,
    onSave: () => saves++,
  });
  const manifest = await loadDatabaseManifest(source.repository, result.backupId!);
  return { manifest, steps, saves };
}

function table(manifest: DatabaseManifest, name: string) {
  const found = manifest.tables.find((t) => `${t.schema}.${t.name}` === name);
  assert.ok(found, `the backup holds ${name}`);
  return found;
}

// ---- Units -------------------------------------------------------------------------------

Deno.test("slice sizes follow the budget: a sixteenth of it, at least 1 MiB, none without limits", () => {
  assert.equal(sliceBytesFor(PLAN_BUDGETS.worker), undefined);
  const free = sliceBytesFor(PLAN_BUDGETS.free)!;
  assert.ok(free > 4 * 1024 * 1024 && free < 16 * 1024 * 1024, `${free}`);
  assert.equal(sliceBytesFor({ bytes: 1 }), 1024 * 1024);
  assert.equal(sliceBytesFor({ bytes: 1, sliceBytes: 4096 }), 4096);
  assert.equal(sliceBytesFor({ cpuMs: 1600, sliceBytes: 0 }), undefined);
});

Deno.test("rows per slice come from the slices' width, growing at most fourfold", () => {
  const base = { schema: "s", name: "t", columns: ["a"], kind: "table" as const, managed: false };
  assert.equal(rowsPerSlice({ ...base, estimatedBytes: 0 }, 1024 * 100), 100);
  assert.equal(rowsPerSlice({ ...base, estimatedBytes: 8000, estimatedRows: 100 }, 8000), 100);
  const slice = { through: ["9"], sha256: "0".repeat(64), storedBytes: 1, blobs: [] };
  const slices = [{ ...slice, rows: 10, bytes: 500, snapshotTime: "2026-01-01T00:00:00Z" }];
  assert.equal(rowsPerSlice({ ...base, estimatedBytes: 0, slices }, 1_000_000), 56);
  const wide = [{ ...slice, rows: 100, bytes: 100_000, snapshotTime: "2026-01-01T00:00:00Z" }];
  assert.equal(rowsPerSlice({ ...base, estimatedBytes: 0, slices: wide }, 50_000), 50);
  assert.deepEqual([1, 3, 4, 7, 8, 300, 1000].map(sliceSpacing), [1, 1, 2, 2, 4, 128, 256]);
});

Deno.test("a manifest's sliced table must add up, and the plain shape is still valid", async () => {
  const slice = (through: string[] | null, rows: number) => ({
    through,
    rows,
    bytes: rows * 10,
    sha256: "a".repeat(64),
    storedBytes: 5,
    blobs: 1,
    snapshotTime: "2026-01-01T00:00:00.000Z",
  });
  const blob = { id: "b".repeat(64), size: 10, storedSize: 5 };
  const plain = {
    schema: "s",
    name: "t",
    columns: ["id"],
    kind: "table",
    managed: false,
    rows: 3,
    bytes: 30,
    sha256: "c".repeat(64),
    storedBytes: 10,
    blobs: [blob, blob],
    snapshotTime: "2026-01-01T00:00:00.000Z",
  };
  const manifest = (tables: unknown[]) => ({
    formatVersion: 1,
    kind: "database",
    backupId: newBackupId(),
    purpose: "backup",
    source: { serverVersion: "15", database: "d", isSupabase: false },
    startedAt: "2026-01-01T00:00:00.000Z",
    finishedAt: "2026-01-01T00:00:00.000Z",
    snapshotTime: "2026-01-01T00:00:00.000Z",
    snapshots: 2,
    options: { scope: {}, compression: "zstd", encryptionKeyId: null, copyFormat: "text" },
    roles: [],
    warnings: [],
    sections: { preData: { statements: [] }, postData: { statements: [] } },
    tables,
    totals: { tables: 1, rows: 3, bytes: 30, storedBytes: 10, blobs: 1, reusedBlobs: 0 },
  });
  parseManifest(manifest([plain]));
  const slices = [slice(["1"], 2), slice(null, 1)];
  const sliced = { ...plain, key: ["id"], slices, sha256: await slicesDigest(slices) };
  parseManifest(manifest([sliced]));
  for (
    const bad of [
      { ...sliced, key: undefined },
      { ...sliced, slices: [slice(["1"], 2), slice(["2"], 1)] },
      { ...sliced, slices: [slice(["1"], 1), slice(null, 1)] },
      { ...sliced, slices: [slice(["1", "x"], 2), slice(null, 1)] },
    ]
  ) {
    assert.throws(() => parseManifest(manifest([bad])), /slices/);
  }
});

// ---- Against PostgreSQL --------------------------------------------------------------------

Deno.test("large tables copied in slices across many steps restore the one-step backup's data", async () => {
  await withSource(async (source) => {
    // One slice per connection per step: every step stops after its first slice.
    const stepped = await runSteps(source, { bytes: 1, sliceBytes: SLICE_BYTES });
    const manifest = stepped.manifest;
    assert.ok(stepped.steps >= 10, `the run took ${stepped.steps} steps`);
    assert.equal(manifest.snapshots, stepped.steps, "each step read in its own snapshot");
    const slices = manifest.tables.reduce((sum, t) => sum + (t.slices?.length ?? 0), 0);
    assert.ok(stepped.saves >= slices, `a checkpoint after each of the ${slices} slices`);

    const big = table(manifest, "shop.big");
    assert.deepEqual(big.key, ["id"]);
    assert.ok(big.slices!.length >= 3, `shop.big in ${big.slices!.length} slices`);
    const times = new Set(big.slices!.map((slice) => slice.snapshotTime));
    assert.ok(times.size >= 3, `shop.big read in ${times.size} snapshots`);
    assert.equal(big.rows, 6000);
    assert.equal(big.sha256, await slicesDigest(big.slices!));
    assert.deepEqual(table(manifest, "shop.Awkward Keys").key, ["region", "code", "seq"]);
    assert.deepEqual(table(manifest, "shop.readings").key, ["at", "value", "amount"]);
    assert.deepEqual(table(manifest, "shop.codes").key, ["region", "code"]);
    for (const name of ["shop.Awkward Keys", "shop.tokens", "shop.readings", "shop.codes"]) {
      assert.ok((table(manifest, name).slices?.length ?? 0) >= 3, `${name} is sliced`);
    }
    for (const name of ["shop.measures_a", "shop.measures_b", "shop.parents"]) {
      assert.ok(table(manifest, name).slices, `${name} is sliced`);
    }
    assert.equal(table(manifest, "shop.parents").rows, 2000, "the parent's own rows only");
    for (const name of ["shop.log", "shop.maybe"]) {
      const keyless = table(manifest, name);
      assert.equal(keyless.slices, undefined, `${name} has no usable key: copied whole`);
      assert.equal(keyless.rows, 2000);
    }

    const oneStep = await backupDatabase({ db: source.url, repository: source.repository });
    assert.equal(oneStep.manifest.snapshots, 1);
    assert.ok(oneStep.manifest.tables.every((t) => t.slices === undefined), "no slices unbudgeted");

    const fromSlices = await source.newDatabase("from_slices");
    const fromOneStep = await source.newDatabase("from_one_step");
    await restoreDatabase({
      allowUnauthenticated: true,
      repository: source.repository,
      backupId: manifest.backupId,
      db: fromSlices,
    });
    await restoreDatabase({
      allowUnauthenticated: true,
      repository: source.repository,
      backupId: oneStep.backupId,
      db: fromOneStep,
    });
    const expected = await contents(source.url);
    assert.deepEqual(await contents(fromSlices), expected);
    assert.deepEqual(await contents(fromOneStep), expected);

    // The restore test passes on the sliced backup.
    const report = await runRestoreTest(source.repository, {
      allowUnauthenticated: true,
      serverUrl: source.serverUrl,
      backupId: manifest.backupId,
    });
    assert.equal(report.ok, true, JSON.stringify(report.mismatches));
    assert.equal(report.rows, manifest.totals.rows);
  });
});

Deno.test("slices are cut by content: unchanged ranges are cut the same way, stored once", async () => {
  await withSource(async (source) => {
    const budget = { bytes: 1, sliceBytes: SLICE_BYTES };
    const first = (await runSteps(source, budget)).manifest;
    // The catalog's estimates change (the first slice is sized from them), the rows do not.
    await query(source.url, (sql) => sql`analyze`);
    const second = (await runSteps(source, budget)).manifest;
    await query(source.url, (sql) => sql`delete from shop.big where id = 3000`);
    const third = (await runSteps(source, budget)).manifest;

    const sliced = first.tables.filter((t) => t.slices).map((t) => `${t.schema}.${t.name}`);
    assert.ok(sliced.length >= 6);
    const hashes = (manifest: DatabaseManifest, name: string) =>
      table(manifest, name).slices!.map((slice) => slice.sha256);
    const fresh = (before: DatabaseManifest, after: DatabaseManifest, name: string) => {
      const known = new Set(hashes(before, name));
      return hashes(after, name).filter((hash) => !known.has(hash)).length;
    };
    // A table's first slices are sized from the estimates; the cuts meet again within a few.
    for (const name of sliced) {
      const count = fresh(first, second, name);
      assert.ok(count <= 3, `${count} of ${hashes(second, name).length} slices of ${name} new`);
    }
    const big = fresh(second, third, "shop.big");
    assert.ok(big >= 1 && big <= 2, `a deleted row changed ${big} slices of shop.big`);
    for (const name of sliced.filter((name) => name !== "shop.big")) {
      assert.equal(fresh(second, third, name), 0, `${name} is unchanged`);
    }
  });
});

Deno.test("worker-thread lanes copy slices too, as the key-ordered stream of the table", async () => {
  await withSource(async (source) => {
    const sql = postgres(source.url, { max: 1, onnotice: () => {} });
    const snapshot = await openExportedSnapshot(sql, { connections: 1 });
    const lanes = await openWorkerLanes(2, {
      db: source.url,
      snapshotId: snapshot.id,
      repository: {
        name: "local",
        url: `file://${source.dir}`,
        config: { s3: {}, compression: "zstd" } as unknown as RepositorySpec["config"],
      },
      options: { writeConcurrency: 2, chunking: TABLE_CHUNKING },
    });
    try {
      const initial = await startBackupRun(snapshot, source.repository, {
        scope: { includeTables: ["shop.big", "shop.Awkward Keys", "shop.log"] },
      });
      const state = await copyPendingTables(initial, snapshot, source.repository, {
        lanes,
        sliceBytes: SLICE_BYTES,
      });
      const manifest = await finishBackupRun(state, source.repository);
      for (const name of ["shop.big", "shop.Awkward Keys"]) {
        const entry = table(manifest, name);
        assert.ok(entry.slices!.length >= 3, `${name} in ${entry.slices!.length} slices`);
        const stored = await new Response(source.repository.readStream(entry.blobs)).text();
        const ordered = await query(source.url, async (reader) => {
          await prepareSession(reader);
          const decoder = new TextDecoder();
          let text = "";
          for await (const piece of copyOut(reader, { ...entry, order: entry.key })) {
            text += decoder.decode(piece, { stream: true });
          }
          return text + decoder.decode();
        });
        assert.equal(stored, ordered, `${name} is stored in key order, each row once`);
      }
      assert.equal(table(manifest, "shop.log").slices, undefined);
    } finally {
      await Promise.all(lanes.map((lane) => lane.close()));
      await snapshot.close();
      await sql.end();
    }
  });
});

Deno.test("the restore test checks a sliced table slice by slice and catches a changed row", async () => {
  await withSource(async (source) => {
    const { manifest } = await runSteps(source, { bytes: 1, sliceBytes: SLICE_BYTES });
    const restored = await source.newDatabase("restored");
    await restoreDatabase({
      allowUnauthenticated: true,
      repository: source.repository,
      backupId: manifest.backupId,
      db: restored,
    });
    const big = table(manifest, "shop.big");
    const awkward = table(manifest, "shop.Awkward Keys");
    await query(restored, async (sql) => {
      await prepareSession(sql);
      await sql`select set_config('synchronize_seqscans', 'off', false)`;
      for (const entry of manifest.tables) {
        const actual = await checksumTable(sql, entry);
        assert.equal(compareTable(entry, actual), undefined, `${entry.name} reads back whole`);
      }
      // One row of a middle slice changed (same length).
      const middle = Math.floor(big.slices!.length / 2);
      const id = Number(big.slices![middle - 1].through![0]) + 1;
      await sql`update shop.big set payload = upper(payload) where id = ${id}`;
      const changed = compareTable(big, await checksumTable(sql, big));
      assert.ok(changed, "the changed row is caught");
      assert.match(changed.problem, /shop\.big has the backup's 6000 rows but not its contents/);
      assert.match(changed.problem, /slice \d+ of \d+/);
      // A deleted row in a composite-key table.
      await sql`delete from shop."Awkward Keys" where ctid = (
        select ctid from shop."Awkward Keys" order by ctid desc limit 1)`;
      const fewer = compareTable(awkward, await checksumTable(sql, awkward));
      assert.match(fewer?.problem ?? "", /has \d+ rows, the backup \d+/);
    });

    // Through the whole restore test: a slice whose bytes differ from the backup's fails it.
    const tampered = structuredClone(manifest);
    tampered.backupId = newBackupId(new Date(Date.now() + 2_000));
    const entry = tampered.tables.find((t) => t.name === "tokens")!;
    entry.slices![1].sha256 = "0".repeat(64);
    entry.sha256 = await slicesDigest(entry.slices!);
    await saveDatabaseManifest(source.repository, tampered);
    const report = await runRestoreTest(source.repository, {
      allowUnauthenticated: true,
      serverUrl: source.serverUrl,
      backupId: tampered.backupId,
    });
    assert.equal(report.ok, false);
    assert.equal(report.mismatches.length, 1);
    assert.match(report.mismatches[0].problem, /shop\.tokens .*slice 2 of \d+ \(rows after key/);
  });
});

type Progress = { targets?: Record<string, { state?: BackupRunState }> };

Deno.test("a step killed inside a table resumes from its last saved slice, nothing lost or duplicated", async () => {
  const stack = await startLocalStack({ staleAfterMs: 1_000 });
  const sql = postgres(stack.db.url, { max: 1, onnotice: () => {} });
  const limits = { sliceBytes: 512 * 1024 };
  try {
    await sql`create table public.events (id bigint primary key, payload text)`;
    await sql`insert into public.events select i, repeat(md5(i::text), 6)
              from generate_series(1, 300000) i order by md5(i::text)`;
    await pauseContinueTick(sql);
    const run = await stack.app.store.create({ kind: "database", trigger: "api" });
    const worker = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../../support/slice_step.ts", import.meta.url).pathname],
      env: {
        ...stack.env,
        SAUVEGARDE_COMPRESSION: "zstd",
        SLICE_STEP_RUN_ID: run.id,
        SLICE_STEP_SLICE_BYTES: String(limits.sliceBytes),
      },
      stdout: "null",
      stderr: "null",
    }).spawn();
    const eventsOf = (state?: BackupRunState) =>
      state?.pending.find((t) => t.schema === "public" && t.name === "events");
    // Kill once a few slices of the events table are checkpointed, while it is still copied.
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      const current = await stack.app.store.get(run.id);
      const state = (current?.checkpoint as Progress | undefined)?.targets?.local?.state;
      if ((eventsOf(state)?.slices?.length ?? 0) >= 2) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    worker.kill("SIGKILL");
    await worker.status;
    const killed = await stack.app.store.get(run.id);
    assert.equal(killed?.status, "running", "the killed run is left running");
    const saved = eventsOf((killed?.checkpoint as Progress).targets?.local?.state)?.slices ?? [];
    assert.ok(saved.length >= 2, "the kill came inside the events table");

    await untilClaimable(stack, run.id);
    const resumed = await executeUntilDone(stack.app.executor, { runId: run.id, limits });
    assert.equal(resumed.outcome, "succeeded", resumed.run?.error ?? "");

    const opened = await openRepository(
      "local",
      stack.env.SAUVEGARDE_TARGETS.split(",")[0].split("=")[1],
      stack.app.config,
    );
    try {
      const manifest = await loadDatabaseManifest(opened.repository, resumed.run!.backupId!);
      assert.ok(manifest.snapshots >= 2);
      const events = table(manifest, "public.events");
      assert.equal(events.rows, 300000);
      assert.ok(events.slices!.length > saved.length);
      assert.deepEqual(
        events.slices!.slice(0, saved.length).map((s) => [s.through, s.rows, s.sha256]),
        saved.map((s) => [s.through, s.rows, s.sha256]),
        "the slices saved before the kill are kept, not copied again",
      );
      const target = await stack.db.createDatabase("resumed");
      await query(
        target,
        (t) => t`create table public.events (id bigint primary key, payload text)`,
      );
      await restoreDatabase({
        allowUnauthenticated: true,
        repository: opened.repository,
        backupId: manifest.backupId,
        db: target,
        tables: ["public.events"],
      });
      const [restored] = await query(
        target,
        (t) =>
          t`select count(*)::int as n, count(distinct id)::int as ids, sum(id)::text as total
          from public.events`,
      );
      assert.deepEqual(restored, { n: 300000, ids: 300000, total: "45000150000" });
    } finally {
      await opened.target.close();
    }
  } finally {
    await sql.end();
    await settleBackground();
    await stack.stop();
  }
});
