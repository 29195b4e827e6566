/**
 * What a Storage snapshot asks of its target, and how it keeps out of a prune's way: one PUT
 * per new blob and no request for a blob a previous snapshot holds; a repository lock that
 * prune respects; and a run that stops when a snapshot it builds on was pruned between steps.
 */
import assert from "node:assert/strict";
import { randomFillSync } from "node:crypto";
import { startStorageStack, type StorageStack } from "../../support/storage_fixtures.ts";
import {
  runStorageSnapshotStep,
  type SnapshotContext,
  snapshotStorage,
  type StepBudget,
} from "../../../shared/storage/snapshot/mod.ts";
import { loadStorageSnapshot } from "../../../shared/storage/restore.ts";
import { type SourceObject, StorageSource } from "../../../shared/storage/source.ts";
import type { S3Http } from "../../../shared/targets/s3_http.ts";
import { Repository } from "../../../shared/repository/mod.ts";
import { MemoryTarget } from "../../support/memory_target.ts";
import { S3Target } from "../../../shared/targets/mod.ts";
import {
  DEFAULT_RETENTION,
  prune,
  PRUNE_LOCK,
  PruneRefusedError,
} from "../../../shared/retention/mod.ts";

const KIB = 1024;

/** Requests the target received, as "METHOD area" ("PUT blobs", "HEAD blobs", "GET locks"…). */
class RequestLog {
  readonly seen: string[] = [];
  readonly fetch: typeof fetch = (input, init) => {
    const request = new Request(input, init);
    const path = decodeURIComponent(new URL(request.url).pathname);
    const area = /\/repo\/(blobs|manifests|locks)\//.exec(path)?.[1] ?? "other";
    this.seen.push(`${request.method} ${area}`);
    return fetch(request);
  };

  count(what: string): number {
    return this.seen.filter((one) => one === what).length;
  }

  clear(): void {
    this.seen.length = 0;
  }
}

/** A repository on the stack's target whose requests are logged. */
function loggedContext(stack: StorageStack, log: RequestLog, extra: Partial<SnapshotContext> = {}) {
  const target = new S3Target({
    bucket: "backups",
    prefix: "repo",
    endpoint: stack.target.endpoint,
    accessKeyId: stack.target.accessKeyId,
    secretAccessKey: stack.target.secretAccessKey,
    fetch: log.fetch,
  });
  const repository = new Repository(target, { compression: "zstd" });
  const uncompressed = new Repository(target, { compression: "none" });
  return {
    target,
    repository,
    context: stack.context({
      repositories: [{ name: "logged", repository, uncompressed }],
      ...extra,
    }),
  };
}

function random(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let at = 0; at < size; at += 65536) randomFillSync(bytes.subarray(at, at + 65536));
  return bytes;
}

Deno.test("a snapshot uploads each new blob with one PUT and references blobs a previous snapshot holds with no request", async () => {
  const stack = await startStorageStack(["media"]);
  const log = new RequestLog();
  const { target, repository, context } = loggedContext(stack, log, {
    options: { compression: "zstd", encrypted: false, chunkSize: 256 * KIB },
    segmentSize: 1000,
  });
  try {
    for (let i = 0; i < 12; i++) await stack.put("media", `doc-${i}.json`, `{"n":${i}}`);
    const video = random(600 * KIB); // three 256 KiB chunks, read in three ranged parts
    await stack.put("media", "video.bin", video, { contentType: "video/mp4" });

    const [first] = await snapshotStorage(context);
    assert.equal(first.copied, 13);
    // 12 small blobs, 3 chunks and the one segment of entries: a PUT each, and no HEAD.
    assert.equal(log.count("PUT blobs"), 16);
    assert.equal(log.count("HEAD blobs"), 0, "no blob is asked for before or after its upload");
    const manifest = await loadStorageSnapshot(repository, first.snapshotId);
    const videoEntry = manifest.objects.find((o) => o.key === "video.bin")!;
    assert.equal(videoEntry.blobs.length, 3);
    for (const object of manifest.objects) {
      for (const blob of object.blobs) {
        const check = await repository.verifyBlob(blob, { deep: true });
        assert.ok(check.ok, `${object.key}: ${JSON.stringify(check)}`);
      }
    }

    // Copies and reverts of content the first snapshot holds cost a read and no upload.
    log.clear();
    await new Promise((resolve) => setTimeout(resolve, 1100)); // a later last-modified second
    await stack.put("media", "copy-of-doc-3.json", `{"n":3}`);
    await stack.put("media", "doc-5.json", `{"n":4}`);
    await stack.put("media", "video-copy.bin", video, { contentType: "video/mp4" });
    const [second] = await snapshotStorage(context);
    assert.equal(second.copied, 3);
    assert.equal(second.skipped, 12);
    assert.equal(second.storedBytes, 0, "nothing new was uploaded");
    assert.equal(log.count("PUT blobs"), 1, "only the segment of entries");
    assert.equal(log.count("HEAD blobs"), 0);
    const again = await loadStorageSnapshot(repository, second.snapshotId);
    const copy = again.objects.find((o) => o.key === "video-copy.bin")!;
    assert.deepEqual(copy.blobs, videoEntry.blobs);
  } finally {
    await target.close();
    await stack.stop();
  }
});

Deno.test("putBlob asks nothing for a known blob, uploads straight away when told, and learns", async () => {
  const target = new MemoryTarget();
  const repository = new Repository(target, { compression: "zstd" });
  const text = (value: string) => new TextEncoder().encode(value);
  const known = new Map<string, number>();

  const first = await repository.putBlob(text("first"), { known, assumeAbsent: true });
  // One listing of the damage marks per repository (see `damagedBlobs`), then one save.
  assert.deepEqual(target.counts, { save: 1, load: 0, stat: 0, list: 1, remove: 0 });
  assert.equal(first.reused, false);
  assert.equal(known.get(first.id), first.storedSize, "what it stored is known");

  const again = await repository.putBlob(text("first"), { known });
  assert.equal(again.reused, true);
  assert.equal(again.storedSize, first.storedSize);
  assert.equal(target.counts.save + target.counts.stat, 1, "a known blob costs no request");

  assert.equal(target.counts.list, 1, "the damage marks are listed once");

  // Without the options: asked first (and its header read back), as every other caller does.
  const plain = await repository.putBlob(text("first"));
  assert.equal(plain.reused, true);
  assert.equal(target.counts.stat, 1);
  assert.equal(target.counts.load, 1);

  // Told it is absent although it is stored: uploaded again, same bytes, nothing breaks.
  const twice = await repository.putBlob(text("first"), { assumeAbsent: true });
  assert.equal(twice.reused, false);
  assert.equal(target.counts.save, 2);
  assert.deepEqual(await repository.loadBlob(first.id), text("first"));
});

/** A source that runs a hook before each read. */
class HookedSource extends StorageSource {
  reads = 0;
  constructor(client: S3Http, private readonly hook: (n: number) => Promise<void>) {
    super(client);
  }
  override async getObject(
    bucket: string,
    key: string,
    options?: { signal?: AbortSignal },
  ): Promise<SourceObject> {
    await this.hook(++this.reads);
    return super.getObject(bucket, key, options);
  }
}

const noHistory = { latest: () => Promise.resolve(undefined) };

Deno.test("a snapshot step waits while a prune holds the repository, and a prune refuses while a step runs", async () => {
  const stack = await startStorageStack(["media"]);
  try {
    for (let i = 0; i < 6; i++) await stack.put("media", `k${i}`, `object ${i}`);
    const pruning = await stack.repository.acquireLock(PRUNE_LOCK, {
      owner: "a prune",
      ttlMs: 60_000,
    });
    let reads = 0;
    const idle = new HookedSource(stack.sourceHttp, () => Promise.resolve(void reads++));
    const spent: StepBudget = { exhausted: () => true };
    const waited = await runStorageSnapshotStep(stack.context({ source: idle }), {
      buckets: null,
    }, { budget: spent });
    assert.equal(waited.done, false, "the step hands back without doing anything");
    assert.equal(reads, 0);
    assert.equal((await stack.repository.listLocks()).length, 1, "only the prune's lock");
    await stack.repository.releaseLock(pruning);

    // A step killed long ago left its lock: expired, it is cleared away.
    await stack.repository.acquireLock("storage-20260101T000000Z-dead-0badc0de", {
      owner: "a killed step",
      ttlMs: 1,
    });
    await new Promise((resolve) => setTimeout(resolve, 5));

    let refusal: unknown;
    const source = new HookedSource(stack.sourceHttp, async (n) => {
      if (n !== 2) return;
      refusal = await prune(stack.repository, {
        policies: { storage: DEFAULT_RETENTION },
        history: noHistory,
      }).catch((error) => error);
    });
    const result = await runStorageSnapshotStep(
      stack.context({ source, concurrency: 1 }),
      waited.checkpoint,
    );
    assert.equal(result.done, true);
    assert.ok(refusal instanceof PruneRefusedError, `prune was not refused: ${refusal}`);
    assert.match(String(refusal), /storage snapshot/);
    assert.deepEqual(
      await stack.repository.listLocks({ includeExpired: true }),
      [],
      "the step released its lock and cleared the expired one",
    );
  } finally {
    await stack.stop();
  }
});

Deno.test("a run stops when a snapshot it builds on was removed between two of its steps", async () => {
  const stack = await startStorageStack(["media"]);
  try {
    for (let i = 0; i < 10; i++) await stack.put("media", `k${i}`, `object ${i}`);
    const [base] = await snapshotStorage(stack.context());
    await new Promise((resolve) => setTimeout(resolve, 1100));
    for (let i = 0; i < 10; i++) await stack.put("media", `k${i}`, `object ${i}, changed`);
    let left = 3;
    const first = await runStorageSnapshotStep(
      stack.context({ concurrency: 1, segmentSize: 2 }),
      { buckets: null },
      { budget: { exhausted: () => left-- <= 0 } },
    );
    assert.equal(first.done, false);
    assert.deepEqual(first.checkpoint.basedOn, [base.snapshotId]);
    await stack.repository.removeManifest("storage", base.snapshotId);
    await assert.rejects(
      runStorageSnapshotStep(stack.context(), JSON.parse(JSON.stringify(first.checkpoint))),
      /was removed while the run was paused/,
    );
    assert.deepEqual(await stack.repository.listManifests("storage"), []);
  } finally {
    await stack.stop();
  }
});
