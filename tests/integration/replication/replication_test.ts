/**
 * Replication (3-2-1): failures first (a corrupt, missing or undecodable source blob, a copy
 * that reads back different, one failing destination among several), then a file → S3 copy
 * over a real S3-protocol server (only missing blobs, stored bytes unchanged, manifest last),
 * the `replicate` run's per-target details, and the CLI command.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createApp } from "../../../shared/app/mod.ts";
import { Keyring } from "../../../shared/codec/mod.ts";
import { loadConfig } from "../../../shared/config/mod.ts";
import { applyMigrations } from "../../../shared/pg/migrate.ts";
import {
  BackupNotFoundError,
  copyBackup,
  replicate,
  ReplicationError,
} from "../../../shared/replication/mod.ts";
import { blobKey, type BlobRef, manifestKey, Repository } from "../../../shared/repository/mod.ts";
import { runNow } from "../../../shared/jobs/run_now.ts";
import {
  FileTarget,
  type LoadOptions,
  type ObjectInfo,
  openTarget,
  type SavedObject,
  type SaveOptions,
  type StorageTarget,
} from "../../../shared/targets/mod.ts";
import { TargetError } from "../../../shared/util/errors.ts";
import { startPostgres } from "../../../stack/postgres.ts";
import { startS3Server } from "../../../stack/s3_server.ts";
import { MemoryTarget } from "../../support/memory_target.ts";
import { STEPS } from "../../../shared/steps/mod.ts";

const KEY = `k1:${btoa(String.fromCharCode(...new Uint8Array(32).fill(3)))}`;

/** Wraps a target and records the keys saved, in order. */
class RecordingTarget implements StorageTarget {
  readonly saved: string[] = [];
  constructor(readonly inner: StorageTarget) {}
  get kind() {
    return this.inner.kind;
  }
  get location() {
    return this.inner.location;
  }
  async save(
    key: string,
    body: ReadableStream<Uint8Array> | Uint8Array,
    options?: SaveOptions,
  ): Promise<SavedObject> {
    const saved = await this.inner.save(key, body, options);
    this.saved.push(key);
    return saved;
  }
  load(key: string, options?: LoadOptions) {
    return this.inner.load(key, options);
  }
  stat(key: string): Promise<ObjectInfo> {
    return this.inner.stat(key);
  }
  list(prefix: string, options?: { signal?: AbortSignal }) {
    return this.inner.list(prefix, options);
  }
  remove(key: string) {
    return this.inner.remove(key);
  }
  close() {
    return this.inner.close();
  }
}

/** A store that flips a byte of what it keeps: saves succeed, reads come back different. */
class RottingTarget extends MemoryTarget {
  override async save(
    key: string,
    body: ReadableStream<Uint8Array> | Uint8Array,
    options?: SaveOptions,
  ): Promise<SavedObject> {
    const saved = await super.save(key, body, options);
    if (key.startsWith("blobs/")) this.objects.get(key)!.bytes[20] ^= 0xff;
    return saved;
  }
}

/** A store that is down. */
class DownTarget extends MemoryTarget {
  override save(): Promise<SavedObject> {
    return Promise.reject(new TargetError("Connection refused"));
  }
}

function rows(seed: number, count: number): Uint8Array {
  return new TextEncoder().encode(
    Array.from({ length: count }, (_, i) => `${i}\tcustomer ${(i * seed) % 89}\t${seed}\n`).join(
      "",
    ),
  );
}

const CHUNKING = { minSize: 2 * 1024, avgSize: 4 * 1024, maxSize: 8 * 1024 };

/** Writes a database-like backup of two tables; returns its id and the tables' blobs. */
async function backup(repo: Repository, id: string, tables: Uint8Array[]) {
  const written = [];
  for (const table of tables) {
    written.push(
      await repo.writeStream(ReadableStream.from([table]), {
        split: "rows",
        chunking: CHUNKING,
      }),
    );
  }
  await repo.saveManifest("database", id, {
    kind: "database",
    backupId: id,
    finishedAt: new Date().toISOString(),
    tables: written.map((w, i) => ({ name: `t${i}`, blobs: w.blobs })),
  });
  return { id, blobs: written.flatMap((w) => w.blobs) };
}

async function readBack(repo: Repository, blobs: BlobRef[]): Promise<Uint8Array> {
  return new Uint8Array(await new Response(repo.readStream(blobs)).arrayBuffer());
}

async function tempRepository(keyring?: Keyring) {
  const dir = await Deno.makeTempDir({ prefix: "sauvegarde-replication-" });
  const target = new FileTarget(dir);
  return { dir, target, repo: new Repository(target, { compression: "gzip", keyring }) };
}

// ---- failures -----------------------------------------------------------------------------

Deno.test("a corrupted source blob is refused: replication fails and the destination gets no manifest", async () => {
  const source = await tempRepository();
  try {
    const { id, blobs } = await backup(source.repo, "20261125T100000Z-aaaa", [rows(3, 2000)]);
    const victim = blobs[1];
    const path = join(source.dir, blobKey(victim.id));
    const stored = await Deno.readFile(path);
    stored[stored.length - 3] ^= 0x55; // same size, different content
    await Deno.writeFile(path, stored);

    const destination = new MemoryTarget("offsite");
    const [status] = await replicate(source.repo, [{
      name: "offsite",
      repository: new Repository(destination),
    }]);
    assert.equal(status.ok, false);
    assert.deepEqual(status.failedBackup, { kind: "database", id });
    assert.match(
      status.error!,
      new RegExp(`^Blob ${victim.id} of database/${id} on .* is refused`),
    );
    assert.equal(destination.objects.has(manifestKey("database", id)), false);
    assert.equal(destination.objects.has(blobKey(victim.id)), false, "the bad blob is not copied");

    // A missing blob is refused the same way.
    await Deno.remove(path);
    await assert.rejects(
      copyBackup(source.repo, new Repository(destination), { kind: "database", id }),
      (error: Error) => error instanceof ReplicationError && /is missing$/.test(error.message),
    );
    assert.equal(destination.objects.has(manifestKey("database", id)), false);
  } finally {
    await Deno.remove(source.dir, { recursive: true });
  }
});

Deno.test("an encrypted source backup cannot be checked without its keys, and is not copied", async () => {
  const keyring = await Keyring.parse(KEY);
  const source = await tempRepository(keyring);
  try {
    const { id } = await backup(source.repo, "20261125T100000Z-enc1", [rows(5, 500)]);
    const destination = new MemoryTarget();
    const keyless = new Repository(source.target, { compression: "gzip" });
    await assert.rejects(
      copyBackup(keyless, new Repository(destination), { kind: "database", id }),
      /Manifest database\/20261125T100000Z-enc1 is encrypted with key "k1" but no encryption keys are configured/,
    );
    assert.equal(destination.objects.size, 0);
    const copied = await copyBackup(source.repo, new Repository(destination), {
      kind: "database",
      id,
    });
    assert.equal(copied.manifest, "copied");
  } finally {
    await Deno.remove(source.dir, { recursive: true });
  }
});

Deno.test("a copy that does not read back identical is removed and the manifest is not written", async () => {
  const source = await tempRepository();
  try {
    const { id } = await backup(source.repo, "20261125T100000Z-rot1", [rows(7, 300)]);
    const destination = new RottingTarget();
    await assert.rejects(
      copyBackup(source.repo, new Repository(destination), { kind: "database", id }),
      /did not read back identical from memory:memory; the copy was removed/,
    );
    assert.equal(
      [...destination.objects.keys()].some((key) => key.startsWith("manifests/")),
      false,
    );
  } finally {
    await Deno.remove(source.dir, { recursive: true });
  }
});

Deno.test("one failing destination does not stop the others, and each gets its own status", async () => {
  const source = await tempRepository();
  try {
    await backup(source.repo, "20261125T100000Z-one1", [rows(2, 100)]);
    const good = new MemoryTarget("good");
    const statuses = await replicate(source.repo, [
      { name: "down", repository: new Repository(new DownTarget("down")) },
      { name: "good", repository: new Repository(good) },
    ]);
    assert.deepEqual(statuses.map((s) => [s.target, s.ok]), [["down", false], ["good", true]]);
    assert.match(statuses[0].error!, /Connection refused/);
    assert.ok(good.objects.has(manifestKey("database", "20261125T100000Z-one1")));
    await assert.rejects(
      replicate(source.repo, [{ name: "good", repository: new Repository(good) }], {
        backup: "20991231T000000Z-none",
      }),
      BackupNotFoundError,
    );
  } finally {
    await Deno.remove(source.dir, { recursive: true });
  }
});

// ---- file → S3 ----------------------------------------------------------------------------

Deno.test("replication file → S3 copies only missing blobs as stored, verified, manifest last", async () => {
  const s3 = await startS3Server({ buckets: ["offsite-backups"] });
  const keyring = await Keyring.parse(KEY);
  const source = await tempRepository(keyring);
  const s3Target = openTarget(
    `s3://offsite-backups/sauvegarde?endpoint=${encodeURIComponent(s3.endpoint)}&path_style=true`,
    { s3: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, region: s3.region } },
  );
  const recording = new RecordingTarget(s3Target);
  const destination = new Repository(recording, { keyring });
  try {
    const orders = rows(11, 3000);
    const customers = rows(13, 1500);
    const first = await backup(source.repo, "20261124T020000Z-aaaa", [orders, customers]);
    const changed = new Uint8Array([...orders, ...rows(17, 200)]);
    const second = await backup(source.repo, "20261125T020000Z-bbbb", [changed, customers]);
    // The destination already holds one blob of the first backup.
    const preloaded = first.blobs[0];
    const preBytes = await Deno.readFile(join(source.dir, blobKey(preloaded.id)));
    await s3Target.save(blobKey(preloaded.id), preBytes);
    recording.saved.length = 0;

    const [status] = await replicate(
      source.repo,
      [{ name: "offsite", repository: destination }],
      {},
    );
    assert.equal(status.ok, true, status.error);
    assert.deepEqual(status.backups.map((b) => b.id), [second.id, first.id], "newest first");

    const unique = new Map([...first.blobs, ...second.blobs].map((b) => [b.id, b]));
    unique.delete(preloaded.id);
    const savedBlobs = recording.saved.filter((key) => key.startsWith("blobs/"));
    assert.deepEqual(
      savedBlobs.sort(),
      [...unique.keys()].map(blobKey).sort(),
      "only missing blobs",
    );
    assert.equal(status.copiedBlobs, unique.size);
    // Each manifest comes after every blob it references.
    for (const { id, blobs } of [first, second]) {
      const at = recording.saved.indexOf(manifestKey("database", id));
      assert.ok(at >= 0);
      for (const blob of blobs) {
        const blobAt = recording.saved.indexOf(blobKey(blob.id));
        assert.ok(blobAt < at || blob.id === preloaded.id, `blob before manifest ${id}`);
      }
    }
    // Stored bytes are copied as they are (encrypted, no re-encoding), manifests identical.
    for (const blob of unique.values()) {
      const copied = new Uint8Array(
        await new Response(await s3Target.load(blobKey(blob.id))).arrayBuffer(),
      );
      assert.deepEqual(copied, await Deno.readFile(join(source.dir, blobKey(blob.id))));
    }
    assert.deepEqual(
      await new Response(await s3Target.load(manifestKey("database", second.id))).text(),
      await Deno.readTextFile(join(source.dir, manifestKey("database", second.id))),
    );
    // The offsite copy restores.
    const restored = await destination.loadManifest<{ tables: Array<{ blobs: BlobRef[] }> }>(
      "database",
      second.id,
    );
    assert.deepEqual(await readBack(destination, restored.tables[0].blobs), changed);
    assert.deepEqual(await readBack(destination, restored.tables[1].blobs), customers);

    // Again: nothing to do. With --backup latest: checked, nothing copied.
    recording.saved.length = 0;
    const [again] = await replicate(
      source.repo,
      [{ name: "offsite", repository: destination }],
      {},
    );
    assert.equal(again.skipped, 2);
    assert.deepEqual(recording.saved, []);
    const [latest] = await replicate(source.repo, [{ name: "offsite", repository: destination }], {
      backup: "latest",
    });
    assert.deepEqual(latest.backups.map((b) => [b.id, b.copiedBlobs, b.manifest]), [[
      second.id,
      0,
      "present",
    ]]);
    assert.deepEqual(recording.saved, []);

    // A blob lost at the destination is copied again by the next replication of its backup.
    await s3Target.remove(blobKey(second.blobs[0].id));
    const [repaired] = await replicate(
      source.repo,
      [{ name: "offsite", repository: destination }],
      {
        backup: second.id,
      },
    );
    assert.equal(repaired.copiedBlobs, 1);
    assert.equal((await destination.verifyBlob(second.blobs[0], { deep: true })).ok, true);
  } finally {
    await s3Target.close();
    await s3.stop();
    await Deno.remove(source.dir, { recursive: true });
  }
});

// ---- runs and CLI -------------------------------------------------------------------------

Deno.test("a replicate run records each target's status in its details, also when it fails", async () => {
  const db = await startPostgres({ supabase: true, standIns: true });
  const dirs = await Promise.all(
    [1, 2, 3].map(() => Deno.makeTempDir({ prefix: "sauvegarde-rep-" })),
  );
  const app = createApp(
    loadConfig({
      SUPABASE_DB_URL: db.url,
      SAUVEGARDE_TARGETS: `primary=file://${dirs[0]},offsite=file://${dirs[1]},usb=file://${
        dirs[2]
      }`,
      SAUVEGARDE_COMPRESSION: "gzip",
    }),
    { steps: STEPS },
  );
  try {
    await applyMigrations(db.url);
    const primary = new Repository(new FileTarget(dirs[0]), { compression: "gzip" });
    const { id, blobs } = await backup(primary, "20261125T020000Z-run1", [rows(19, 800)]);
    await primary.saveManifest("storage", "20261125T030000Z-ab12", {
      kind: "storage",
      objects: [{ bucket: "b", key: "k", blobs: [blobs[0]] }],
    });

    const done = await runNow(app, { kind: "replicate", trigger: "cron" });
    assert.equal(done.status, "succeeded", done.error ?? "");
    const targets = done.details.targets as Record<string, { ok: boolean; backups: unknown[] }>;
    assert.deepEqual(Object.keys(targets).sort(), ["offsite", "usb"]);
    assert.equal(targets.offsite.backups.length, 2);
    assert.equal(done.details.from, "primary");
    for (const dir of dirs.slice(1)) {
      const copy = new Repository(new FileTarget(dir));
      assert.deepEqual(await copy.listManifests("database"), [id]);
      assert.deepEqual(await copy.listManifests("storage"), ["20261125T030000Z-ab12"]);
    }

    // A new backup whose blob is corrupt at the source: the run fails, details say why.
    const next = await backup(primary, "20261125T040000Z-run2", [rows(23, 900)]);
    const path = join(dirs[0], blobKey(next.blobs[0].id));
    const bytes = await Deno.readFile(path);
    bytes[bytes.length - 1] ^= 1;
    await Deno.writeFile(path, bytes);
    const failed = await runNow(app, {
      kind: "replicate",
      trigger: "manual",
      targets: ["offsite"],
    });
    assert.equal(failed.status, "failed");
    assert.match(
      failed.error!,
      /^Replication failed for target offsite \(Blob [0-9a-f]{64} of database\/20261125T040000Z-run2/,
    );
    const details = failed.details.targets as Record<string, { ok: boolean; error: string }>;
    assert.equal(details.offsite.ok, false);
    assert.match(details.offsite.error, /is refused/);
    assert.deepEqual(await new Repository(new FileTarget(dirs[1])).listManifests("database"), [id]);
  } finally {
    await app.close();
    await db.stop();
    for (const dir of dirs) await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task cli replicate copies between two targets and prints each target's status", async () => {
  const source = await tempRepository();
  const destinationDir = await Deno.makeTempDir({ prefix: "sauvegarde-rep-cli-" });
  try {
    const { id } = await backup(source.repo, "20261125T020000Z-cli1", [rows(29, 400)]);
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../../../cli/main.ts", import.meta.url).pathname,
        "replicate",
        "--from",
        `file://${source.dir}`,
        "--to",
        `file://${destinationDir}`,
        "--json",
      ],
      env: { SUPABASE_DB_URL: "", SAUVEGARDE_TARGETS: "", SAUVEGARDE_ENCRYPTION_KEYS: "" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, stderr);
    const result = JSON.parse(new TextDecoder().decode(output.stdout).trim().split("\n").at(-1)!);
    const status = result.targets[`file://${destinationDir}`];
    assert.equal(result.ok, true);
    assert.equal(status.ok, true);
    assert.deepEqual(status.backups.map((b: { id: string }) => b.id), [id]);
    assert.deepEqual(
      await new Repository(new FileTarget(destinationDir)).listManifests("database"),
      [id],
    );
  } finally {
    await Deno.remove(source.dir, { recursive: true });
    await Deno.remove(destinationDir, { recursive: true });
  }
});
