/**
 * Retention and prune: refusals first (failing or stale backups, another writer's lock, an
 * unreadable manifest), then the grandfather-father-son selection on a synthetic 400-day
 * history checked against an independent bucketing, the newest good backup, the sweep's
 * grace period, a prune racing a running backup, dry runs, and prune runs in `backup_runs`.
 */
import assert from "node:assert/strict";
import { Keyring } from "../../../shared/codec/mod.ts";
import { createApp } from "../../../shared/app/mod.ts";
import { loadConfig } from "../../../shared/config/mod.ts";
import { applyMigrations } from "../../../shared/pg/migrate.ts";
import { blobKey, type BlobRef, Repository } from "../../../shared/repository/mod.ts";
import { idTime, manifestTime, referencedBlobs } from "../../../shared/repository/references.ts";
import {
  DEFAULT_RETENTION,
  HoldingsError,
  isoWeekBucket,
  parseRetentionPolicy,
  prune,
  type PruneOptions,
  PruneRefusedError,
  type RetentionPolicy,
  type RunHistory,
} from "../../../shared/retention/mod.ts";
import { runNow } from "../../../shared/jobs/run_now.ts";
import type { Run, RunKind, RunStatus } from "../../../shared/runs/mod.ts";
import { openTarget } from "../../../shared/targets/mod.ts";
import { startPostgres } from "../../../stack/postgres.ts";
import { MemoryTarget } from "../../support/memory_target.ts";
import { STEPS } from "../../../shared/steps/mod.ts";

const DAY = 86_400_000;
const HOUR = 3_600_000;

// ---- helpers ------------------------------------------------------------------------------

function run(kind: RunKind, status: RunStatus, at: Date, error?: string): Run {
  return {
    id: crypto.randomUUID(),
    kind,
    status,
    trigger: "cron",
    requestedBy: null,
    targets: [],
    backupId: null,
    manifestLocation: null,
    createdAt: at,
    startedAt: at,
    heartbeatAt: at,
    finishedAt: new Date(at.getTime() + 60_000),
    bytes: 0,
    items: 0,
    attempts: 1,
    checkpoint: {},
    error: error ?? null,
    details: {},
  };
}

/** A `backup_runs` stand-in holding the given runs. */
function history(runs: Run[]): RunHistory {
  return {
    latest: (kind, status) =>
      Promise.resolve(
        runs.filter((r) => r.kind === kind && (!status || r.status === status))
          .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())[0],
      ),
  };
}

/** Healthy history: a database and a storage run succeeded an hour before `now`. */
function healthy(now: Date): RunHistory {
  const at = new Date(now.getTime() - HOUR);
  return history([run("database", "succeeded", at), run("storage", "succeeded", at)]);
}

function stamp(time: Date): string {
  return time.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}Z$/, "Z");
}

function text(value: string): Uint8Array {
  return new TextEncoder().encode(value);
}

/** A database-like manifest: a table's blobs and a DDL section stored as blobs. */
function databaseManifest(id: string, time: Date, tableBlobs: BlobRef[], ddl: BlobRef[] = []) {
  return {
    formatVersion: 1,
    kind: "database",
    backupId: id,
    startedAt: new Date(time.getTime() - 60_000).toISOString(),
    finishedAt: time.toISOString(),
    sections: {
      preData: { count: 1, size: 0, sha256: "0".repeat(64), blobs: ddl },
      postData: { statements: [{ section: "post-data", kind: "INDEX", sql: "create index" }] },
    },
    tables: [{ schema: "public", name: "orders", rows: 1, blobs: tableBlobs }],
  };
}

/** Marks every object of the target as written `ageMs` before `now`. */
function age(target: MemoryTarget, now: Date, ageMs: number, prefix = "") {
  for (const [key, entry] of target.objects) {
    if (key.startsWith(prefix)) entry.lastModified = new Date(now.getTime() - ageMs);
  }
}

function keys(target: MemoryTarget): string[] {
  return [...target.objects.keys()].sort();
}

function newRepository(target = new MemoryTarget()): { target: MemoryTarget; repo: Repository } {
  return { target, repo: new Repository(target, { compression: "none" }) };
}

/** A small repository: three daily database backups, each with its own blob and a shared one. */
async function smallRepository(now: Date) {
  const { target, repo } = newRepository();
  const shared = await repo.putBlob(text("shared rows"));
  const ids: string[] = [];
  for (let day = 3; day >= 1; day--) {
    const time = new Date(now.getTime() - day * DAY);
    const id = `${stamp(time)}-d${day}`;
    const own = await repo.putBlob(text(`rows of day ${day}`));
    await repo.saveManifest("database", id, databaseManifest(id, time, [shared, own]));
    ids.push(id);
  }
  age(target, now, 30 * DAY);
  return { target, repo, ids, shared };
}

function options(now: Date, extra: Partial<PruneOptions> = {}): PruneOptions {
  return {
    policies: { database: DEFAULT_RETENTION, storage: DEFAULT_RETENTION },
    history: healthy(now),
    clock: () => now,
    ...extra,
  };
}

// ---- refusals -----------------------------------------------------------------------------

Deno.test("prune refuses while the latest database backup failed, and changes nothing", async () => {
  const now = new Date();
  const { target, repo } = await smallRepository(now);
  const before = keys(target);
  const runs = history([
    run("database", "succeeded", new Date(now.getTime() - 3 * HOUR)),
    run("database", "failed", new Date(now.getTime() - HOUR), "COPY failed"),
  ]);
  await assert.rejects(
    prune(
      repo,
      options(now, {
        history: runs,
        policies: { database: { ...DEFAULT_RETENTION, last: 0, daily: 0, weekly: 0, monthly: 0 } },
      }),
    ),
    (error: Error) => {
      assert.ok(error instanceof PruneRefusedError);
      assert.match(
        error.message,
        /^Prune refused while backups are failing: the latest database run failed/,
      );
      assert.match(error.message, /COPY failed/);
      assert.doesNotMatch(error.message, /\.$/);
      return true;
    },
  );
  assert.deepEqual(keys(target), before);
});

Deno.test("prune refuses when no backup succeeded within the freshness window", async () => {
  const now = new Date();
  const { target, repo } = await smallRepository(now);
  const before = keys(target);
  const stale = history([run("database", "succeeded", new Date(now.getTime() - 3 * DAY))]);
  await assert.rejects(
    prune(repo, options(now, { history: stale, freshnessMs: { database: DAY } })),
    /Prune refused while backups are failing: no database run succeeded in the last 24 h/,
  );
  await assert.rejects(
    prune(repo, options(now, { history: history([]), dryRun: true })),
    /no database run has ever succeeded/,
  );
  assert.deepEqual(keys(target), before);
});

Deno.test("prune refuses while another writer holds a repository lock", async () => {
  const now = new Date();
  const { target, repo } = await smallRepository(now);
  const backupLock = await repo.acquireLock("backup-run-42", {
    owner: "backup run 42",
    ttlMs: HOUR,
  });
  const before = keys(target);
  await assert.rejects(
    prune(
      repo,
      options(now, { policies: { database: { last: 1, daily: 0, weekly: 0, monthly: 0 } } }),
    ),
    (error: Error) =>
      error instanceof PruneRefusedError &&
      /lock "backup-run-42" is held by "backup run 42"/.test(error.message),
  );
  assert.deepEqual(keys(target), before, "nothing removed, and the prune lock was released");
  await backupLock.release();
  const pruneLock = await repo.acquireLock("prune", { owner: "another prune", ttlMs: HOUR });
  await assert.rejects(
    prune(repo, options(now)),
    /Prune refused: Lock "prune" is held by "another prune"/,
  );
  await pruneLock.release();
});

Deno.test("a manifest that cannot be read stops the prune before anything is removed", async () => {
  const now = new Date();
  const { target, repo } = await smallRepository(now);
  await target.save("manifests/storage/20260101T000000Z-bad.json", text("{ not json"));
  const before = keys(target);
  await assert.rejects(
    prune(repo, options(now)),
    (error: Error) =>
      error instanceof HoldingsError &&
      /Manifest storage\/20260101T000000Z-bad could not be read/.test(error.message),
  );
  assert.deepEqual(keys(target), before);
});

Deno.test("a sealed manifest a prune cannot open stops it before anything is removed", async () => {
  const now = new Date();
  const { target, repo, shared } = await smallRepository(now);
  const keyed = new Repository(target, {
    keyring: await Keyring.parse(`k1:${btoa(String.fromCharCode(...new Uint8Array(32).fill(5)))}`),
  });
  const id = `${stamp(new Date(now.getTime() - 5 * DAY))}-sealed`;
  const own = await keyed.putBlob(text("rows only the sealed manifest names"));
  await keyed.saveManifest(
    "database",
    id,
    databaseManifest(id, new Date(now.getTime() - 5 * DAY), [shared, own]),
  );
  age(target, now, 30 * DAY);
  const before = keys(target);
  await assert.rejects(
    prune(repo, options(now)),
    (error: Error) =>
      error instanceof HoldingsError &&
      new RegExp(
        `Manifest database/${id} could not be read \\(Manifest database/${id} is encrypted`,
      )
        .test(error.message),
  );
  assert.deepEqual(keys(target), before, "the blob only it names is still there");
});

Deno.test("a retention setting that is not rule=count is refused by name", () => {
  assert.throws(
    () => parseRetentionPolicy("last=7,hourly=3"),
    /Retention entry "hourly=3" must be rule=count/,
  );
  assert.throws(() => parseRetentionPolicy("daily=-1"), /Retention entry "daily=-1"/);
  assert.deepEqual(parseRetentionPolicy("last=3, monthly=24"), {
    last: 3,
    daily: 14,
    weekly: 8,
    monthly: 24,
  });
  const config = loadConfig({
    SAUVEGARDE_RETENTION: "last=2",
    SAUVEGARDE_STORAGE_RETENTION: "daily=3",
    SAUVEGARDE_PRUNE_GRACE: "6h",
  });
  assert.deepEqual(config.retention.database, { ...DEFAULT_RETENTION, last: 2 });
  assert.deepEqual(config.retention.storage, { ...DEFAULT_RETENTION, daily: 3 });
  assert.equal(config.pruneGraceMs, 6 * HOUR);
  assert.throws(
    () => loadConfig({ SAUVEGARDE_RETENTION: "yearly=1" }),
    /SAUVEGARDE_RETENTION Retention entry "yearly=1"/,
  );
});

// ---- references ---------------------------------------------------------------------------

Deno.test("references are found anywhere in a manifest, once each, and times come from it or its id", () => {
  const a = { id: "a".repeat(64), size: 3, storedSize: 5 };
  const b = { id: "b".repeat(64), size: 0, storedSize: 40 };
  const manifest = {
    tables: [{ blobs: [a, b] }],
    sections: { preData: { blobs: [{ ...a, extra: true }] } },
    objects: [{ blobs: [b], sha256: "c".repeat(64) }],
    notRefs: [{ id: "A".repeat(64), size: 1, storedSize: 1 }, {
      id: "d".repeat(64),
      size: "1",
      storedSize: 1,
    }],
  };
  assert.deepEqual(referencedBlobs(manifest), [a, b]);
  assert.deepEqual(referencedBlobs(null), []);
  assert.equal(
    manifestTime("x", { finishedAt: "2026-11-25T14:15:00Z" })?.toISOString(),
    "2026-11-25T14:15:00.000Z",
  );
  assert.equal(
    manifestTime("20261125T141500Z-ab12", {})?.toISOString(),
    "2026-11-25T14:15:00.000Z",
  );
  assert.equal(idTime("20261332T000000Z-ab12"), undefined);
  assert.equal(manifestTime("manual-label", { startedAt: "nope" }), undefined);
});

// ---- selection ----------------------------------------------------------------------------

/** The expected GFS set, by plain date arithmetic (no ISO week helper, no shared code). */
function expectedKept(
  backups: Array<{ id: string; time: Date }>,
  policy: RetentionPolicy,
): Set<string> {
  const newestFirst = [...backups].sort((a, b) => b.time.getTime() - a.time.getTime());
  const keep = new Set(newestFirst.slice(0, policy.last).map((b) => b.id));
  const MONDAY = Date.UTC(1970, 0, 5);
  const bucketings: Array<[number, (t: Date) => number]> = [
    [policy.daily, (t) => Math.floor(t.getTime() / DAY)],
    [policy.weekly, (t) => Math.floor((t.getTime() - MONDAY) / (7 * DAY))],
    [policy.monthly, (t) => t.getUTCFullYear() * 12 + t.getUTCMonth()],
  ];
  for (const [count, bucket] of bucketings) {
    const newestOfBucket = new Map<number, { id: string; time: Date }>();
    for (const backup of backups) {
      const key = bucket(backup.time);
      const current = newestOfBucket.get(key);
      if (!current || current.time < backup.time) newestOfBucket.set(key, backup);
    }
    const buckets = [...newestOfBucket.keys()].sort((a, b) => b - a).slice(0, count);
    for (const key of buckets) keep.add(newestOfBucket.get(key)!.id);
  }
  return keep;
}

Deno.test("retention on a synthetic 400-day history keeps exactly the grandfather-father-son set", async () => {
  const now = new Date(Date.UTC(2026, 10, 25, 14, 0, 0));
  const { target, repo } = newRepository();
  const shared = await repo.putBlob(text("unchanged table"));
  const backups: Array<{ id: string; time: Date; own: BlobRef }> = [];
  let seed = 7;
  const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let day = 400; day >= 0; day--) {
    const perDay = random() < 0.15 ? 0 : 1 + Math.floor(random() * 3); // some days have none
    for (let i = 0; i < perDay; i++) {
      const time = new Date(now.getTime() - day * DAY - Math.floor(random() * 20 * HOUR) - HOUR);
      const id = `${stamp(time)}-${String(backups.length).padStart(4, "0")}`;
      const own = await repo.putBlob(text(`rows of ${id}`));
      await repo.saveManifest("database", id, databaseManifest(id, time, [shared, own]));
      backups.push({ id, time, own });
    }
  }
  // A storage snapshot and a config backup: other kinds keep their blobs.
  const snapshotBlob = await repo.putBlob(text("an object"));
  await repo.saveManifest("storage", `${stamp(now)}-s1`, {
    kind: "storage",
    finishedAt: new Date(now.getTime() - HOUR).toISOString(),
    objects: [{ bucket: "b", key: "k", blobs: [snapshotBlob] }],
  });
  const configBlob = await repo.putBlob(text("SECRET=1"));
  await repo.saveManifest("config", "20250101T000000Z-cfg", { files: [{ blobs: [configBlob] }] });
  age(target, now, 2 * DAY, "blobs/");

  const policy = { last: 5, daily: 10, weekly: 6, monthly: 14 };
  const expected = expectedKept(backups, policy);
  const report = await prune(
    repo,
    options(now, { policies: { database: policy, storage: policy } }),
  );

  const database = report.plan.kinds.find((k) => k.kind === "database")!;
  assert.deepEqual(new Set(database.keep.map((b) => b.id)), expected);
  assert.equal(database.keep.length + database.remove.length, backups.length);
  assert.deepEqual(new Set(await repo.listManifests("database")), expected);
  assert.equal((await repo.listManifests("storage")).length, 1);
  assert.deepEqual(await repo.listManifests("config"), ["20250101T000000Z-cfg"]);
  assert.equal(report.plan.otherManifests, 1);
  // Each removed backup's own blob is gone; kept ones and the shared blob stay.
  for (const backup of backups) {
    assert.equal(await repo.hasBlob(backup.own.id), expected.has(backup.id), backup.id);
  }
  for (const ref of [shared, snapshotBlob, configBlob]) assert.ok(await repo.hasBlob(ref.id));
  assert.equal(report.removedBlobs, backups.length - expected.size);
  assert.equal(report.sweep, "done");
  assert.deepEqual(
    await repo.listLocks({ includeExpired: true }),
    [],
    "the prune lock is released",
  );
  // The reasons name the rules: the newest backup is kept as last, daily, weekly and monthly.
  const newest = [...backups].sort((a, b) => b.time.getTime() - a.time.getTime())[0];
  assert.deepEqual(database.keep.find((b) => b.id === newest.id)?.reasons, [
    "last",
    "daily",
    "weekly",
    "monthly",
    "newest-good",
  ]);

  // With the default policy on what is left, nothing more goes than GFS says.
  const again = await prune(repo, options(now));
  const left = backups.filter((b) => expected.has(b.id));
  assert.deepEqual(
    new Set(await repo.listManifests("database")),
    expectedKept(left, DEFAULT_RETENTION),
  );
  assert.equal(again.plan.kinds[0].kind, "database");
});

Deno.test("ISO weeks start on Monday and belong to the year of their Thursday", () => {
  assert.equal(isoWeekBucket(new Date("2026-11-25T12:00:00Z")), "2026-W48");
  assert.equal(isoWeekBucket(new Date("2026-11-29T23:59:59Z")), "2026-W48"); // Sunday
  assert.equal(isoWeekBucket(new Date("2026-11-30T00:00:00Z")), "2026-W49"); // Monday
  assert.equal(isoWeekBucket(new Date("2021-01-03T00:00:00Z")), "2020-W53");
  assert.equal(isoWeekBucket(new Date("2024-12-30T00:00:00Z")), "2025-W01");
});

Deno.test("the newest good backup is never deleted, even by a policy that keeps nothing", async () => {
  const now = new Date();
  const nothing = { last: 0, daily: 0, weekly: 0, monthly: 0 };
  const { repo, ids } = await smallRepository(now);
  await prune(repo, options(now, { policies: { database: nothing } }));
  assert.deepEqual(await repo.listManifests("database"), [ids[2]], "the newest stays");

  // When the newest backups are incomplete, the newest complete one is kept as well.
  const second = await smallRepository(now);
  const broken = await second.repo.loadManifest<ReturnType<typeof databaseManifest>>(
    "database",
    second.ids[2],
  );
  await second.repo.removeBlob(broken.tables[0].blobs[1].id);
  const report = await prune(second.repo, options(now, { policies: { database: nothing } }));
  assert.deepEqual(await second.repo.listManifests("database"), [second.ids[1]]);
  assert.deepEqual(report.plan.kinds[0].keep, [{
    id: second.ids[1],
    time: report.plan.kinds[0].keep[0].time,
    class: "full",
    reasons: ["newest-good"],
  }]);
  // Its blobs are all still there.
  for (const ref of referencedBlobs(await second.repo.loadManifest("database", second.ids[1]))) {
    assert.ok(await second.repo.hasBlob(ref.id));
  }
});

// ---- sweep --------------------------------------------------------------------------------

Deno.test("the sweep deletes only unreferenced blobs older than the grace period", async () => {
  const now = new Date();
  const { target, repo } = newRepository();
  const referenced = await repo.putBlob(text("referenced"));
  const oldGarbage = await repo.putBlob(text("old garbage"));
  const youngGarbage = await repo.putBlob(text("young garbage"));
  const id = `${stamp(new Date(now.getTime() - HOUR))}-only`;
  await repo.saveManifest(
    "database",
    id,
    databaseManifest(id, new Date(now.getTime() - HOUR), [referenced]),
  );
  age(target, now, 3 * DAY);
  target.objects.get(blobKey(youngGarbage.id))!.lastModified = new Date(now.getTime() - 23 * HOUR);

  const report = await prune(repo, options(now, { graceMs: DAY }));
  assert.deepEqual(report.plan.blobs.remove, [{
    id: oldGarbage.id,
    storedSize: oldGarbage.storedSize,
  }]);
  assert.equal(report.plan.blobs.young, 1);
  assert.equal(report.plan.blobs.referenced, 1);
  assert.equal(await repo.hasBlob(referenced.id), true);
  assert.equal(await repo.hasBlob(oldGarbage.id), false);
  assert.equal(await repo.hasBlob(youngGarbage.id), true);

  // Past the grace period it goes too.
  const later = new Date(now.getTime() + 2 * HOUR);
  await prune(repo, options(later, { graceMs: DAY }));
  assert.equal(await repo.hasBlob(youngGarbage.id), false);
  assert.equal(await repo.hasBlob(referenced.id), true);
});

Deno.test("a prune racing a running backup deletes nothing that backup references", async () => {
  const now = new Date();
  const { target, ids } = await smallRepository(now);
  const { keyring } = await Keyring.generate("k1");
  // The earlier backups were made before keys were set: read through the opt-in.
  const repo = new Repository(target, {
    compression: "gzip",
    keyring,
    acceptUnauthenticated: true,
  });
  // The backup streams a table: its blobs land now, its manifest not yet.
  const table = new TextEncoder().encode(
    Array.from({ length: 4000 }, (_, i) => `${i}\tcustomer ${i % 97}\t${i * 3}.50\n`).join(""),
  );
  const written = await repo.writeStream(ReadableStream.from([table]), {
    split: "rows",
    chunking: { minSize: 4 * 1024, avgSize: 8 * 1024, maxSize: 16 * 1024 },
  });
  assert.ok(written.blobs.length > 3);
  const nothing = { last: 0, daily: 0, weekly: 0, monthly: 0 };
  const report = await prune(repo, options(now, { policies: { database: nothing } }));
  assert.deepEqual([...report.removedManifests].sort(), [
    `database/${ids[0]}`,
    `database/${ids[1]}`,
  ]);
  assert.equal(
    report.plan.blobs.young,
    written.blobs.length,
    "the backup's fresh blobs are within the grace period",
  );
  for (const blob of written.blobs) assert.ok(await repo.hasBlob(blob.id));

  // The manifest lands; the backup restores and verifies.
  const id = `${stamp(now)}-race`;
  await repo.saveManifest("database", id, databaseManifest(id, now, written.blobs));
  const restored = new Uint8Array(await new Response(repo.readStream(written.blobs)).arrayBuffer());
  assert.deepEqual(restored, table);
  for (const blob of written.blobs) {
    assert.equal((await repo.verifyBlob(blob, { deep: true })).ok, true);
  }
  // A later prune keeps it: it is referenced now.
  await prune(
    repo,
    options(new Date(now.getTime() + 2 * DAY), {
      policies: { database: nothing },
      history: healthy(new Date(now.getTime() + 2 * DAY)),
    }),
  );
  assert.deepEqual(await repo.listManifests("database"), [id]);
  assert.deepEqual(
    new Uint8Array(await new Response(repo.readStream(written.blobs)).arrayBuffer()),
    table,
  );
});

Deno.test("a manifest that lands during the prune keeps the old blob it reuses", async () => {
  const now = new Date();
  const target = new LandingTarget();
  const repo = new Repository(target, { compression: "none" });
  const reused = await repo.putBlob(text("an old table nobody references"));
  const kept = `${stamp(new Date(now.getTime() - HOUR))}-kept`;
  const old = `${stamp(new Date(now.getTime() - 2 * DAY))}-old`;
  const keptBlob = await repo.putBlob(text("kept"));
  await repo.saveManifest(
    "database",
    kept,
    databaseManifest(kept, new Date(now.getTime() - HOUR), [keptBlob]),
  );
  await repo.saveManifest(
    "database",
    old,
    databaseManifest(old, new Date(now.getTime() - 2 * DAY), [await repo.putBlob(text("old"))]),
  );
  age(target, now, 3 * DAY);
  // While the prune removes the old manifest, a backup lands one that reuses the old blob.
  const late = `${stamp(now)}-late`;
  target.onRemove = async () => {
    target.onRemove = undefined;
    await repo.saveManifest("database", late, databaseManifest(late, now, [reused]));
  };
  const report = await prune(
    repo,
    options(now, { policies: { database: { last: 1, daily: 0, weekly: 0, monthly: 0 } } }),
  );
  assert.ok(report.plan.blobs.remove.some((blob) => blob.id === reused.id), "planned for removal");
  assert.equal(report.keptLate, 1);
  assert.equal(await repo.hasBlob(reused.id), true);
  assert.deepEqual(await repo.listManifests("database"), [kept, late].sort());
});

/** A memory target that runs a hook when the first manifest is removed. */
class LandingTarget extends MemoryTarget {
  onRemove?: () => Promise<void>;
  override async remove(key: string): Promise<void> {
    await super.remove(key);
    if (key.startsWith("manifests/") && this.onRemove) await this.onRemove();
  }
}

// ---- dry run ------------------------------------------------------------------------------

Deno.test("a dry run deletes nothing and reports the same plan as the prune", async () => {
  const now = new Date();
  const { target, repo } = await smallRepository(now);
  await repo.putBlob(text("garbage"));
  age(target, now, 30 * DAY);
  const before = new Map([...target.objects].map(([key, entry]) => [key, entry.bytes]));
  const policies = { database: { last: 1, daily: 0, weekly: 0, monthly: 0 } };
  const dry = await prune(repo, options(now, { policies, dryRun: true }));
  assert.equal(dry.sweep, "dry-run");
  assert.deepEqual(dry.removedManifests, []);
  assert.deepEqual(new Map([...target.objects].map(([key, entry]) => [key, entry.bytes])), before);
  assert.equal(target.counts.remove, 0);
  assert.deepEqual(await repo.listLocks({ includeExpired: true }), [], "a dry run takes no lock");

  const real = await prune(repo, options(now, { policies }));
  assert.deepEqual(real.plan, dry.plan);
  assert.equal(real.removedManifests.length, 2);
  assert.equal(real.removedBlobs, dry.plan.blobs.remove.length);
  assert.equal(dry.plan.blobs.remove.length, 3, "two removed backups' own blobs and the garbage");
});

// ---- runs ---------------------------------------------------------------------------------

Deno.test("prune runs are recorded in backup_runs, refused while backups fail", async () => {
  const db = await startPostgres({ supabase: true, standIns: true });
  const dir = await Deno.makeTempDir({ prefix: "sauvegarde-prune-" });
  const app = createApp(
    loadConfig({
      SUPABASE_DB_URL: db.url,
      SAUVEGARDE_TARGETS: `local=file://${dir}`,
      SAUVEGARDE_COMPRESSION: "gzip",
      SAUVEGARDE_RETENTION: "last=1,daily=0,weekly=0,monthly=0",
    }),
    { steps: STEPS },
  );
  try {
    await applyMigrations(db.url);
    const repo = new Repository(openTarget(`file://${dir}`), { compression: "gzip" });
    const now = new Date();
    for (const days of [2, 1]) {
      const time = new Date(now.getTime() - days * DAY);
      const id = `${stamp(time)}-run${days}`;
      await repo.saveManifest(
        "database",
        id,
        databaseManifest(id, time, [await repo.putBlob(text(id))]),
      );
    }
    const finishRun = async (kind: RunKind, status: "succeeded" | "failed") => {
      const created = await app.store.create({ kind, trigger: "cron" });
      await app.store.claim(created.id);
      await app.store.finish(created.id, {
        status,
        error: status === "failed" ? "disk full" : undefined,
      });
    };
    await finishRun("database", "failed");
    const refused = await runNow(app, { kind: "prune", trigger: "manual", targets: ["local"] });
    assert.equal(refused.status, "failed");
    assert.match(
      refused.error!,
      /^Prune refused while backups are failing: the latest database run failed .*disk full/,
    );
    assert.equal((await repo.listManifests("database")).length, 2);

    await finishRun("database", "succeeded");
    const dry = await runNow(app, {
      kind: "prune",
      trigger: "manual",
      targets: ["local"],
      details: { dryRun: true },
    });
    assert.equal(dry.status, "succeeded", dry.error ?? "");
    const summary =
      (dry.details.targets as Record<string, { kinds: Array<{ remove: string[] }> }>).local;
    assert.equal(summary.kinds[0].remove.length, 1);
    assert.equal((await repo.listManifests("database")).length, 2);

    // The CLI goes through the same run: a dry run prints the plan as JSON.
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../../../cli/main.ts", import.meta.url).pathname,
        "prune",
        "--from",
        "local",
        "--dry-run",
        "--json",
      ],
      env: {
        SUPABASE_DB_URL: db.url,
        SAUVEGARDE_TARGETS: `local=file://${dir}`,
        SAUVEGARDE_RETENTION: "last=1,daily=0,weekly=0,monthly=0",
        SAUVEGARDE_ENCRYPTION_KEYS: "",
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    const printed = JSON.parse(new TextDecoder().decode(output.stdout).trim().split("\n").at(-1)!);
    assert.equal(printed.status, "succeeded");
    assert.equal(printed.dryRun, true);
    assert.deepEqual(printed.targets.local.kinds[0].remove, summary.kinds[0].remove);
    assert.equal((await repo.listManifests("database")).length, 2);

    const done = await runNow(app, { kind: "prune", trigger: "cron" });
    assert.equal(done.status, "succeeded", done.error ?? "");
    assert.equal(done.kind, "prune");
    assert.equal(done.items, 1);
    assert.equal((await repo.listManifests("database")).length, 1);
    const latest = await app.store.latest("prune", "succeeded");
    assert.equal(latest?.id, done.id);
    await repo.target.close();
  } finally {
    await app.close();
    await db.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
