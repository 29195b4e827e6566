/**
 * Backup classes and future-dated ids, against real parts: partial (schema-only, data-only,
 * table-scoped), safety and other-database backups are never "latest" for restore, export, the
 * restore test, verification or replication, and never take a full backup's retention slot; a
 * backup id dated in 2099 planted on a real target (file and S3) is never latest, is refused by
 * id, and is reported.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { Keyring } from "../../../shared/codec/mod.ts";
import { loadConfig } from "../../../shared/config/mod.ts";
import { backupDatabase, type BackupResult } from "../../../shared/database/backup/mod.ts";
import { backupClassOf, sameDatabase } from "../../../shared/database/backup_class.ts";
import { loadDatabaseManifest, parseManifest } from "../../../shared/database/manifest.ts";
import { settleBackground } from "../../../shared/jobs/background.ts";
import { replicate } from "../../../shared/replication/replicate.ts";
import { Repository } from "../../../shared/repository/mod.ts";
import { openRepository } from "../../../shared/repository/open.ts";
import {
  DEFAULT_CLASS_RETENTION,
  DEFAULT_RETENTION,
  planPrune,
  prune,
  readHoldings,
} from "../../../shared/retention/mod.ts";
import type { RunHistory } from "../../../shared/retention/mod.ts";
import { runRestoreTest } from "../../../shared/restore_test/restore_test.ts";
import type { Run } from "../../../shared/runs/mod.ts";
import { parseStorageManifest } from "../../../shared/storage/manifest.ts";
import { loadStorageSnapshot } from "../../../shared/storage/restore.ts";
import { FileTarget } from "../../../shared/targets/file_target.ts";
import { type CheckResult, verifyBackups } from "../../../shared/verify/mod.ts";
import { type LocalStack, startLocalStack } from "../../../stack/local_stack.ts";
import { startPostgres } from "../../../stack/postgres.ts";

const CLI = new URL("../../../cli/main.ts", import.meta.url).pathname;
const DAY = 86_400_000;
const FUTURE_STAMP = "20990101T000000Z";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function cli(args: string[], env: Record<string, string>) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    env: { SAUVEGARDE_COMPRESSION: "zstd", ...env },
    stdin: "null",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  return { code: out.code, stdout, stderr, last: stdout.trim().split("\n").at(-1) ?? "" };
}

/** A throwaway cluster with a small shop database, and a keyed repository in a folder. */
async function withShop(
  fn: (shop: {
    db: string;
    createDatabase(name: string): Promise<string>;
    serverUrl: string;
    dir: string;
    repo: Repository;
    keys: string;
  }) => Promise<void>,
): Promise<void> {
  const pg = await startPostgres({ supabase: false });
  const dir = await Deno.makeTempDir({ prefix: "sauvegarde-class-test-" });
  try {
    const db = await pg.createDatabase("shop");
    const sql = postgres(db, { max: 1, onnotice: () => {} });
    try {
      await sql.unsafe(`
        create table customers (id int primary key, name text not null);
        create table orders (id int primary key, customer int references customers, total numeric);
        insert into customers select i, 'customer ' || i from generate_series(1, 500) i;
        insert into orders select i, 1 + i % 500, i * 1.5 from generate_series(1, 2000) i;`);
    } finally {
      await sql.end();
    }
    const { keyring, text } = await Keyring.generate("test");
    const repo = new Repository(new FileTarget(dir), { compression: "zstd", keyring });
    await fn({
      db,
      createDatabase: (name) => pg.createDatabase(name),
      serverUrl: pg.url,
      dir,
      repo,
      keys: text,
    });
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await pg.stop();
  }
}

/** `backup_runs` saying database backups succeed (prune's health gate). */
function healthyHistory(): RunHistory {
  const at = new Date(Date.now() - 60_000);
  const run = {
    id: crypto.randomUUID(),
    kind: "database",
    status: "succeeded",
    createdAt: at,
    finishedAt: at,
  } as unknown as Run;
  return { latest: (_kind, status) => Promise.resolve(status === "failed" ? undefined : run) };
}

Deno.test("only a full backup of the project is latest for restore and the restore test; others are named or asked for by class", async () => {
  await withShop(async ({ db, createDatabase, serverUrl, dir, repo, keys }) => {
    const full = await backupDatabase({ db, repository: repo });
    await sleep(1100); // ids are stamped to the second: everything below is newer than the full
    const schemaOnly = await backupDatabase({ db, repository: repo, scope: { schemaOnly: true } });
    const dataOnly = await backupDatabase({ db, repository: repo, scope: { dataOnly: true } });
    const oneTable = await backupDatabase({
      db,
      repository: repo,
      scope: { includeTables: ["public.customers"] },
    });
    const safety = await backupDatabase({ db, repository: repo, purpose: "safety" });
    const other = await backupDatabase({ db, repository: repo, otherDatabase: true });

    assert.equal((await loadDatabaseManifest(repo, "latest")).backupId, full.backupId);
    assert.deepEqual(
      [full, schemaOnly, dataOnly, oneTable, safety, other].map((b) => b.manifest.class),
      ["full", "partial", "partial", "partial", "safety", "other-database"],
    );
    assert.equal(backupClassOf(await loadDatabaseManifest(repo, "latest:partial")), "partial");
    assert.equal((await loadDatabaseManifest(repo, "latest:safety")).backupId, safety.backupId);
    assert.equal(
      (await loadDatabaseManifest(repo, "latest:other-database")).backupId,
      other.backupId,
    );
    await assert.rejects(loadDatabaseManifest(repo, "latest:bogus"), /names no backup class/);

    // A manifest written before classes derives its class; a recorded class must agree.
    const value = structuredClone(
      await repo.loadManifest("database", schemaOnly.backupId),
    ) as Record<string, unknown>;
    delete value.class;
    assert.equal(backupClassOf(parseManifest(value, schemaOnly.backupId)), "partial");
    assert.throws(
      () => parseManifest({ ...value, class: "full" }, schemaOnly.backupId),
      /class is full, but its purpose and scope make it partial/,
    );

    // The restore test restores the full backup, not the newer partial ones.
    const report = await runRestoreTest(repo, { serverUrl });
    assert.equal(report.backupId, full.backupId);
    assert.equal(report.backupClass, "full");
    assert.ok(report.ok);
    assert.equal(report.rows, 2500);

    // The CLI: `--backup latest` restores the full backup; `list` shows every class.
    const env = { SAUVEGARDE_ENCRYPTION_KEYS: keys };
    const empty = await createDatabase("restored");
    const restore = await cli(
      [
        "restore",
        "--from",
        `file://${dir}`,
        "--backup",
        "latest",
        "--db",
        empty,
        "--yes",
        "--json",
      ],
      env,
    );
    assert.equal(restore.code, 0, restore.stderr);
    assert.equal(JSON.parse(restore.last).backupId, full.backupId);
    assert.equal(JSON.parse(restore.last).rows, 2500);
    const list = await cli(["list", "--from", `file://${dir}`, "--json"], env);
    assert.equal(list.code, 0, list.stderr);
    const listed = JSON.parse(list.last).backups as Array<
      { backupId: string; class: string; latest: boolean }
    >;
    const classes = Object.fromEntries(listed.map((b) => [b.backupId, b.class]));
    assert.deepEqual(classes, {
      [full.backupId]: "full",
      [schemaOnly.backupId]: "partial",
      [dataOnly.backupId]: "partial",
      [oneTable.backupId]: "partial",
      [safety.backupId]: "safety",
      [other.backupId]: "other-database",
    });
    assert.deepEqual(listed.filter((b) => b.latest).map((b) => b.backupId), [full.backupId]);
    const text = await cli(["list", "--from", `file://${dir}`], env);
    assert.match(text.stdout, new RegExp(`${schemaOnly.backupId}  partial `));
    assert.match(text.stdout, new RegExp(`${full.backupId}  full .*\\(latest\\)`));

    // A CLI backup of another database than SUPABASE_DB_URL's is recorded as such.
    const backup = await cli(
      ["backup", "--db", db, "--to", `file://${dir}`, "--json"],
      { ...env, SUPABASE_DB_URL: serverUrl },
    );
    assert.equal(backup.code, 0, backup.stderr);
    const made = await loadDatabaseManifest(repo, JSON.parse(backup.last).backupId);
    assert.equal(made.class, "other-database");
    assert.equal((await loadDatabaseManifest(repo, "latest")).backupId, full.backupId);
  });
});

Deno.test("the project database is recognised behind another address, another database is not", () => {
  assert.ok(sameDatabase("postgres://u:p@Db.Example:5432/app", "postgresql://v@db.example/app"));
  assert.ok(!sameDatabase("postgres://u@db.example/app", "postgres://u@db.example/other"));
  assert.ok(!sameDatabase("postgres://u@db.example:5433/app", "postgres://u@db.example/app"));
  assert.ok(
    sameDatabase(
      "postgres://postgres:pw@db.abcdefghijklmnopqrst.supabase.co:5432/postgres",
      "postgres://postgres.abcdefghijklmnopqrst:pw@aws-0-eu-west-1.pooler.supabase.com:6543/postgres",
    ),
  );
  assert.ok(
    !sameDatabase(
      "postgres://postgres:pw@db.abcdefghijklmnopqrst.supabase.co:5432/postgres",
      "postgres://postgres.zzzzzzzzzzzzzzzzzzzz:pw@aws-0-eu-west-1.pooler.supabase.com:6543/postgres",
    ),
  );
});

Deno.test("partial backups' own retention rule is configured apart, rules left out keeping its defaults", () => {
  assert.deepEqual(loadConfig({}).classRetention, DEFAULT_CLASS_RETENTION);
  assert.deepEqual(loadConfig({ SAUVEGARDE_PARTIAL_RETENTION: "last=3" }).classRetention, {
    last: 3,
    daily: 7,
    weekly: 0,
    monthly: 0,
  });
  assert.throws(
    () => loadConfig({ SAUVEGARDE_PARTIAL_RETENTION: "yearly=2" }),
    /SAUVEGARDE_PARTIAL_RETENTION/,
  );
});

Deno.test("seven schema-only backups no longer make prune remove the day's full backups", async () => {
  await withShop(async ({ db, repo }) => {
    const fulls: BackupResult[] = [];
    for (let i = 0; i < 2; i++) {
      fulls.push(await backupDatabase({ db, repository: repo }));
      await sleep(1100);
    }
    const partials: BackupResult[] = [];
    for (let i = 0; i < 7; i++) {
      partials.push(await backupDatabase({ db, repository: repo, scope: { schemaOnly: true } }));
    }
    const options = { policies: { database: DEFAULT_RETENTION }, history: healthyHistory() };

    const dry = await prune(repo, { ...options, dryRun: true });
    const plan = dry.plan.kinds.find((kind) => kind.kind === "database")!;
    assert.deepEqual(plan.remove, [], "the default policy removes nothing here");
    const kept = new Map(plan.keep.map((backup) => [backup.id, backup]));
    for (const full of fulls) assert.ok(kept.has(full.backupId), `full ${full.backupId} kept`);
    assert.ok(kept.get(fulls[1].backupId)!.reasons.includes("newest-good"));
    assert.ok(kept.get(fulls[1].backupId)!.reasons.includes("daily"));
    for (const partial of partials) {
      assert.equal(kept.get(partial.backupId)?.class, "partial");
      assert.ok(!kept.get(partial.backupId)!.reasons.includes("newest-good"));
    }

    // Their own rule thins partial backups out and never touches a full one.
    const report = await prune(repo, {
      ...options,
      classPolicy: { last: 2, daily: 0, weekly: 0, monthly: 0 },
    });
    assert.equal(report.removedManifests.length, 5);
    const left = new Set(await repo.listManifests("database"));
    for (const full of fulls) assert.ok(left.has(full.backupId));
    assert.equal(left.size, 4);
    assert.equal((await loadDatabaseManifest(repo, "latest")).backupId, fulls[1].backupId);
  });
});

/** Triggers a backup over HTTP as pg_cron does and waits for its run to finish. */
async function triggerBackup(stack: LocalStack, body: unknown): Promise<Run> {
  const response = await fetch(stack.functionUrl("trigger-backup"), {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-sauvegarde-secret": stack.env.SAUVEGARDE_CRON_SECRET,
    },
    body: JSON.stringify(body),
  });
  const json = await response.json();
  assert.equal(response.status, 202, JSON.stringify(json));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    await settleBackground();
    const run = await stack.app.store.get(json.runId);
    if (run && ["succeeded", "failed", "cancelled"].includes(run.status)) {
      assert.equal(run.status, "succeeded", run.error ?? "");
      return run;
    }
    await sleep(200);
  }
  throw new Error(`Run ${json.runId} did not finish`);
}

/** A sealed Storage snapshot of one object dated `at`, written to `repo`. */
async function plantSnapshot(repo: Repository, id: string, at: Date) {
  const body = new TextEncoder().encode(`object of ${id} `.repeat(100));
  const blob = await repo.putBlob(body);
  const ref = { id: blob.id, size: blob.size, storedSize: blob.storedSize };
  const manifest = parseStorageManifest({
    version: 1,
    kind: "storage",
    id,
    startedAt: at.toISOString(),
    finishedAt: at.toISOString(),
    source: { endpoint: "local" },
    previousSnapshotId: null,
    options: { compression: "zstd", encrypted: true, chunkSize: 4_194_304 },
    buckets: [{ name: "avatars", settings: null, objects: 1, bytes: body.length }],
    pairing: {
      databaseBackupId: null,
      database: "not_configured",
      missingFromBucket: { count: 0, examples: [] },
      missingFromDatabase: { count: 0, examples: [] },
    },
    totals: {
      objects: 1,
      bytes: body.length,
      copied: 1,
      skipped: 0,
      storedBytes: blob.storedSize,
      vanished: 0,
    },
    objects: [{
      bucket: "avatars",
      key: "a.txt",
      size: body.length,
      sha256: blob.id,
      etag: blob.id.slice(0, 32),
      lastModified: at.toISOString(),
      metadata: {},
      blobs: [ref],
    }],
  }, id);
  await repo.saveManifest("storage", id, manifest);
}

Deno.test("over HTTP a scoped backup is not the project's latest, and ids dated 2099 are never latest on real targets", async (t) => {
  const { text: keys } = await Keyring.generate("test");
  const stack = await startLocalStack({ s3: true, env: { SAUVEGARDE_ENCRYPTION_KEYS: keys } });
  const sql = postgres(stack.db.url, { max: 2, onnotice: () => {} });
  const config = stack.app.config;
  const local = await openRepository("local", config.targets.local, config);
  const s3 = await openRepository("s3", config.targets.s3, config);
  const verify = (only: string[]) =>
    verifyBackups(
      { sql: stack.app.sql, store: stack.app.store, config },
      { alerts: false, sample: "all", only },
    );
  const check = (checks: CheckResult[], id: string) => {
    const found = checks.find((c) => c.id === id);
    assert.ok(found, `no check ${id} in ${checks.map((c) => c.id).join(", ")}`);
    return found;
  };
  try {
    const fullRun = await triggerBackup(stack, { kind: "database" });
    await sleep(1100);
    const partialRun = await triggerBackup(stack, {
      kind: "database",
      scope: { schemaOnly: true },
    });
    const now = new Date();
    const snapshotId = `${now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")}-aaaa`;
    await plantSnapshot(local.repository, snapshotId, now);
    await plantSnapshot(s3.repository, snapshotId, now);

    await t.step("a scoped run records its class and does not refresh the objective", async () => {
      assert.equal(fullRun.details.class, "full");
      assert.equal(partialRun.details.class, "partial");
      // The full backup is three days old by its run; the partial one is minutes old.
      await sql`update backup_runs set finished_at = now() - interval '3 days'
                where id = ${fullRun.id}`;
      const report = await verify(["freshness.database", "integrity.database"]);
      const freshness = check(report.checks, "freshness.database");
      assert.equal(freshness.status, "fail", freshness.summary);
      assert.equal(freshness.details?.runId, fullRun.id);
      const integrity = check(report.checks, "integrity.database");
      assert.equal(integrity.details?.backupId, fullRun.backupId, integrity.summary);
      // A run from before classes, asked for a scope, is partial by its details too.
      await sql`update backup_runs set details = details - 'class' where id = ${partialRun.id}`;
      // Nor does a partial backup running now turn the late full backup into a warning.
      const [live] = await sql`
        insert into backup_runs (kind, status, trigger, started_at, heartbeat_at, details)
        values ('database', 'running', 'api', now(), now(), '{"scope": {"dataOnly": true}}')
        returning id`;
      const again = await verify(["freshness.database"]);
      assert.equal(check(again.checks, "freshness.database").status, "fail");
      await sql`delete from backup_runs where id = ${live.id}`;
      await sql`update backup_runs set finished_at = now() where id = ${fullRun.id}`;
    });

    await t.step("a restore test of a partial backup does not prove the backups", async () => {
      await sql`insert into backup_runs (kind, status, trigger, created_at, started_at,
                  finished_at, details)
                values ('restore_test', 'succeeded', 'manual', now() - interval '40 days',
                  now() - interval '40 days', now() - interval '40 days', '{}'),
                 ('restore_test', 'succeeded', 'manual', now(), now(), now(),
                  '{"class": "partial"}')`;
      const report = await verify(["restore_test"]);
      assert.equal(check(report.checks, "restore_test").status, "fail");
    });

    const futureDb = `${FUTURE_STAMP}-future1`;
    const futureSnap = `${FUTURE_STAMP}-ffff`;
    await t.step(
      "a database backup and a snapshot dated 2099 are planted on both targets",
      async () => {
        for (const opened of [local, s3]) {
          const value = structuredClone(
            await opened.repository.loadManifest("database", fullRun.backupId!),
          ) as Record<string, unknown>;
          await opened.repository.saveManifest("database", futureDb, {
            ...value,
            backupId: futureDb,
          });
          await plantSnapshot(opened.repository, futureSnap, new Date(Date.UTC(2099, 0, 1)));
        }
      },
    );

    await t.step("they are never latest, and refused by id", async () => {
      for (const opened of [local, s3]) {
        const repo = opened.repository;
        assert.equal((await loadDatabaseManifest(repo, "latest")).backupId, fullRun.backupId);
        await assert.rejects(
          loadDatabaseManifest(repo, futureDb),
          new RegExp(
            `Database backup ${futureDb} is dated 2099-01-01T00:00:00.000Z, in the future: refused`,
          ),
        );
        assert.equal((await loadStorageSnapshot(repo, "latest")).id, snapshotId);
        await assert.rejects(
          loadStorageSnapshot(repo, futureSnap),
          /Storage snapshot 20990101T000000Z-ffff is dated .* in the future: refused/,
        );
      }
    });

    await t.step("verification reports them and checks the real latest", async () => {
      const report = await verify([
        "freshness.target",
        "integrity.database",
        "integrity.storage",
      ]);
      for (const name of ["local", "s3"]) {
        const result = check(report.checks, `freshness.target.${name}`);
        assert.equal(result.status, "fail");
        assert.match(result.summary, new RegExp(`dated in the future \\(${futureDb}\\)`));
        assert.match(result.summary, new RegExp(`dated in the future \\(${futureSnap}\\)`));
      }
      assert.equal(check(report.checks, "integrity.database").details?.backupId, fullRun.backupId);
      assert.equal(check(report.checks, "integrity.storage").details?.backupId, snapshotId);
    });

    await t.step("replication of the latest copies the real full backup and snapshot", async () => {
      const dir = await Deno.makeTempDir({ prefix: "sauvegarde-class-dest-" });
      try {
        const destination = new Repository(new FileTarget(dir), {
          keyring: await Keyring.parse(keys),
        });
        const [status] = await replicate(local.repository, [{
          name: "dest",
          repository: destination,
        }], {
          backup: "latest",
          kinds: ["database", "storage"],
        });
        assert.ok(status.ok, status.error);
        assert.deepEqual(await destination.listManifests("database"), [fullRun.backupId]);
        assert.deepEqual(await destination.listManifests("storage"), [snapshotId]);
        await assert.rejects(
          replicate(local.repository, [{ name: "dest", repository: destination }], {
            backup: futureDb,
          }),
          /in the future: refused/,
        );
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });

    await t.step("retention keeps them out of every slot", async () => {
      const one = { last: 1, daily: 1, weekly: 1, monthly: 1 };
      const plan = planPrune(await readHoldings(local.repository), {
        policies: { database: one, storage: one },
        graceMs: DAY,
        now: new Date(),
      });
      for (const kind of plan.kinds) {
        const reasons = new Map(kind.keep.map((backup) => [backup.id, backup.reasons]));
        const future = kind.kind === "database" ? futureDb : futureSnap;
        const real = kind.kind === "database" ? fullRun.backupId! : snapshotId;
        assert.deepEqual(reasons.get(future), ["future"], kind.kind);
        assert.deepEqual(reasons.get(real), ["last", "daily", "weekly", "monthly", "newest-good"]);
      }
    });

    await t.step("list marks the database backup dated 2099 as suspicious", async () => {
      const list = await cli(["list", "--from", config.targets.local, "--json"], {
        SAUVEGARDE_ENCRYPTION_KEYS: keys,
      });
      assert.equal(list.code, 0, list.stderr);
      const listed = JSON.parse(list.last).backups as Array<
        { backupId: string; future: boolean; latest: boolean; class: string }
      >;
      const planted = listed.find((b) => b.backupId === futureDb)!;
      assert.equal(planted.future, true);
      assert.equal(planted.latest, false);
      assert.deepEqual(listed.filter((b) => b.latest).map((b) => b.backupId), [fullRun.backupId]);
      const text = await cli(["list", "--from", config.targets.local], {
        SAUVEGARDE_ENCRYPTION_KEYS: keys,
      });
      assert.match(text.stdout, new RegExp(`${futureDb} .*SUSPICIOUS: dated in the future`));
    });
  } finally {
    await local.target.close();
    await s3.target.close();
    await sql.end();
    await settleBackground();
    await stack.stop();
  }
});
