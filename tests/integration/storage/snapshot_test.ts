/**
 * Storage snapshots and restores against real S3-protocol servers: one standing in for
 * Supabase Storage, one holding the backup repository.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import {
  destinationOn,
  startStorageStack,
  type StorageStack,
} from "../../support/storage_fixtures.ts";
import { snapshotStorage } from "../../../shared/storage/snapshot/mod.ts";
import { type RestoreAction, restoreStorage } from "../../../shared/storage/restore.ts";
import { loadStorageSnapshot } from "../../../shared/storage/restore.ts";
import {
  ObjectVanishedError,
  type SourceObject,
  StorageSource,
} from "../../../shared/storage/source.ts";
import type { S3Http } from "../../../shared/targets/s3_http.ts";
import { startS3Server } from "../../../stack/s3_server.ts";
import { Keyring } from "../../../shared/codec/encryption.ts";
import { blobKey, Repository } from "../../../shared/repository/repository.ts";

async function read(client: S3Client, bucket: string, key: string) {
  const result = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return {
    bytes: await result.Body!.transformToByteArray(),
    contentType: result.ContentType,
    cacheControl: result.CacheControl,
    metadata: result.Metadata ?? {},
  };
}

async function blobCount(stack: StorageStack): Promise<number> {
  let n = 0;
  for await (const _ of stack.repository.listBlobs()) n++;
  return n;
}

/** A source that runs a hook before each read (to change the world mid-snapshot). */
class HookedSource extends StorageSource {
  reads = 0;
  constructor(client: S3Http, private readonly hook: (key: string, n: number) => Promise<void>) {
    super(client);
  }
  override async getObject(
    bucket: string,
    key: string,
    options?: { signal?: AbortSignal },
  ): Promise<SourceObject> {
    await this.hook(key, ++this.reads);
    return super.getObject(bucket, key, options);
  }
}

const KEYS = [
  "a/b/c/deeply/nested/photo.jpg",
  "ünïcödé/名前 with spaces.txt",
  "spaces in name/and more .png",
  "empty-object",
  "emoji 🎉/party.json",
  "symbols/a+b?c#d%e&f=g;h'i(j)k*l~m.txt",
];

Deno.test("a snapshot keeps nested, unicode, spaced and empty keys and restores them byte-identical with their metadata", async () => {
  const stack = await startStorageStack(["photos", "private-docs"]);
  const other = await startS3Server();
  const { destination, client: otherClient } = destinationOn(other);
  try {
    for (const [i, key] of KEYS.entries()) {
      await stack.put("photos", key, key === "empty-object" ? "" : `content of ${key} ${i}`, {
        contentType: i % 2 ? "text/plain" : "image/png",
        cacheControl: `max-age=${i * 100}`,
        metadata: { owner: `user-${i}`, note: "kept" },
      });
    }
    await stack.put("private-docs", "contract.pdf", "pdf bytes", {
      contentType: "application/pdf",
    });

    const [summary] = await snapshotStorage(stack.context());
    assert.equal(summary.objects, KEYS.length + 1);
    assert.equal(summary.copied, KEYS.length + 1);
    assert.equal(summary.skipped, 0);

    const manifest = await loadStorageSnapshot(stack.repository, summary.snapshotId);
    assert.deepEqual(manifest.buckets.map((b) => b.name), ["photos", "private-docs"]);
    const empty = manifest.objects.find((o) => o.key === "empty-object")!;
    assert.equal(empty.size, 0);
    assert.equal(empty.sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

    const planned: RestoreAction[] = [];
    const dry = await restoreStorage(stack.repository, destination, {
      allowUnauthenticated: true,
      snapshot: "latest",
      dryRun: true,
      onAction: (a) => planned.push(a),
    });
    assert.equal(dry.uploaded, KEYS.length + 1);
    assert.deepEqual(dry.bucketsCreated, ["photos", "private-docs"]);
    assert.deepEqual((await destination.listBuckets()).size, 0, "a dry run changes nothing");
    assert.equal(planned.filter((a) => a.action === "create-bucket").length, 2);

    const report = await restoreStorage(stack.repository, destination, {
      allowUnauthenticated: true,
      snapshot: "latest",
    });
    assert.equal(report.uploaded, KEYS.length + 1);
    for (const key of KEYS) {
      const original = await read(stack.sourceClient, "photos", key);
      const restored = await read(otherClient, "photos", key);
      assert.deepEqual(restored.bytes, original.bytes, key);
      assert.equal(restored.contentType, original.contentType, key);
      assert.equal(restored.cacheControl, original.cacheControl, key);
      assert.deepEqual(restored.metadata, original.metadata, key);
    }

    const again = await restoreStorage(stack.repository, destination, {
      allowUnauthenticated: true,
      snapshot: "latest",
    });
    assert.equal(again.uploaded, 0, "identical objects are skipped");
    assert.equal(again.skipped, KEYS.length + 1);

    const onlyNested = await restoreStorage(stack.repository, destination, {
      allowUnauthenticated: true,
      snapshot: summary.snapshotId,
      buckets: ["photos"],
      prefix: "a/b/",
      dryRun: true,
    });
    assert.equal(onlyNested.objects, 1);
  } finally {
    otherClient.destroy();
    await destination.close();
    await other.stop();
    await stack.stop();
  }
});

Deno.test("metadata beyond Latin-1 is restored as the same UTF-8 bytes, and found identical again", async () => {
  const stack = await startStorageStack(["notes"]);
  const other = await startS3Server();
  const { destination, client: otherClient } = destinationOn(other);
  const note = "名前 é 🎉";
  try {
    const body = new TextEncoder().encode("a note");
    // The SDK refuses such a header; the engine's client sends it as its UTF-8 bytes.
    await stack.sourceHttp.putObject("notes", "unicode.txt", body, {
      payloadHash: createHash("sha256").update(body).digest("hex"),
      headers: { "content-type": "text/plain", "x-amz-meta-note": note },
    });
    const [summary] = await snapshotStorage(stack.context());
    const manifest = await loadStorageSnapshot(stack.repository, summary.snapshotId);
    assert.deepEqual(manifest.objects[0].metadata, { note });

    const report = await restoreStorage(stack.repository, destination, {
      allowUnauthenticated: true,
      snapshot: "latest",
    });
    assert.equal(report.uploaded, 1);
    // Read back by the SDK, which hands header bytes over as Latin-1 characters.
    const restored = await read(otherClient, "notes", "unicode.txt");
    assert.equal(Buffer.from(restored.metadata.note, "latin1").toString("utf8"), note);
    const again = await restoreStorage(stack.repository, destination, {
      allowUnauthenticated: true,
      snapshot: "latest",
    });
    assert.deepEqual(
      [again.uploaded, again.skipped],
      [0, 1],
      "the same metadata is not sent again",
    );
  } finally {
    otherClient.destroy();
    await destination.close();
    await other.stop();
    await stack.stop();
  }
});

Deno.test("with keys, nothing a snapshot stores names a bucket, a key or metadata, and it restores", async () => {
  const stack = await startStorageStack(["private-docs"]);
  const other = await startS3Server();
  const { destination, client: otherClient } = destinationOn(other);
  const keyring = await Keyring.parse(
    `k1:${btoa(String.fromCharCode(...new Uint8Array(32).fill(3)))}`,
  );
  const sealed = new Repository(stack.storageTarget, { compression: "zstd", keyring });
  try {
    await stack.put("private-docs", "patients/jane-doe/scan.pdf", "scan bytes", {
      contentType: "application/pdf",
      metadata: { diagnosis: "confidential-note" },
    });
    const [summary] = await snapshotStorage(stack.context({
      repositories: [{ name: "test", repository: sealed }],
      options: { compression: "zstd", encrypted: true },
    }));
    assert.equal(summary.copied, 1);
    let stored = 0;
    for await (const info of stack.storageTarget.list("")) {
      const bytes = new Uint8Array(
        await new Response(await stack.storageTarget.load(info.key)).arrayBuffer(),
      );
      const text = new TextDecoder("latin1").decode(bytes);
      for (
        const secret of [
          "private-docs",
          "jane-doe",
          "scan.pdf",
          "confidential-note",
          "application/pdf",
        ]
      ) {
        assert.ok(
          !text.includes(secret) && !info.key.includes(secret),
          `"${secret}" shows in ${info.key}`,
        );
      }
      stored++;
    }
    assert.ok(stored >= 3, "a blob, a segment and the manifest at least");
    assert.equal(
      (await loadStorageSnapshot(sealed, summary.snapshotId)).objects[0].key,
      "patients/jane-doe/scan.pdf",
    );
    await assert.rejects(
      loadStorageSnapshot(stack.repository, summary.snapshotId),
      /is encrypted with key "k1" but no encryption keys are configured/,
    );
    const report = await restoreStorage(sealed, destination, { snapshot: "latest" });
    assert.equal(report.uploaded, 1);
    const restored = await read(otherClient, "private-docs", "patients/jane-doe/scan.pdf");
    assert.equal(new TextDecoder().decode(restored.bytes), "scan bytes");
    assert.deepEqual(restored.metadata, { diagnosis: "confidential-note" });
  } finally {
    otherClient.destroy();
    await destination.close();
    await other.stop();
    await stack.stop();
  }
});

Deno.test("a restore refuses an object whose stored bytes or snapshot entry do not match, and stores nothing of it", async () => {
  const stack = await startStorageStack(["docs"]);
  const other = await startS3Server();
  const { destination, client: otherClient } = destinationOn(other);
  const exists = async (key: string) => {
    try {
      await read(otherClient, "docs", key);
      return true;
    } catch {
      return false;
    }
  };
  try {
    await stack.put("docs", "small.txt", "one blob holds all of it");
    const large = new Uint8Array(9 * 1024 * 1024).map((_, i) => (i * 7) % 251);
    await stack.put("docs", "large.bin", large);
    const [summary] = await snapshotStorage(stack.context());
    const manifest = await loadStorageSnapshot(stack.repository, summary.snapshotId);
    const small = manifest.objects.find((o) => o.key === "small.txt")!;
    assert.equal(small.blobs.length, 1);
    assert.equal(small.blobs[0].id, small.sha256, "a one-blob object is named by its own hash");

    // A flipped byte in the one blob: the repository's check of the blob against its id.
    const key = blobKey(small.blobs[0].id);
    const stored = new Uint8Array(
      await new Response(await stack.storageTarget.load(key)).arrayBuffer(),
    );
    const original = stored.slice();
    stored[stored.length - 1] ^= 1;
    await stack.storageTarget.save(key, stored, { size: stored.length });
    await assert.rejects(
      restoreStorage(stack.repository, destination, {
        allowUnauthenticated: true,
        snapshot: "latest",
        prefix: "small",
      }),
      new RegExp(`Blob ${small.blobs[0].id}`),
    );
    assert.equal(await exists("small.txt"), false);
    // Over an older, different copy: the destination keeps that copy or nothing, never a part.
    await otherClient.send(
      new PutObjectCommand({ Bucket: "docs", Key: "small.txt", Body: "an older version" }),
    );
    await assert.rejects(
      restoreStorage(stack.repository, destination, {
        allowUnauthenticated: true,
        snapshot: "latest",
        prefix: "small",
      }),
      new RegExp(`Blob ${small.blobs[0].id}`),
    );
    const left = await read(otherClient, "docs", "small.txt").then(
      (object) => new TextDecoder().decode(object.bytes),
      () => undefined,
    );
    assert.ok(left === undefined || left === "an older version", `left "${left}"`);
    await stack.storageTarget.save(key, original, { size: original.length });

    // An object of several blobs whose entry names another hash: the whole-object check.
    const entry = manifest.objects.find((o) => o.key === "large.bin")!;
    assert.ok(entry.blobs.length > 1);
    const tampered = structuredClone(manifest);
    tampered.objects.find((o) => o.key === "large.bin")!.sha256 = "0".repeat(64);
    await stack.repository.saveManifest("storage", manifest.id, tampered);
    await assert.rejects(
      restoreStorage(stack.repository, destination, {
        allowUnauthenticated: true,
        snapshot: "latest",
        prefix: "large",
      }),
      /Object "large.bin" of bucket "docs" does not match its snapshot/,
    );
    assert.equal(await exists("large.bin"), false);
  } finally {
    otherClient.destroy();
    await destination.close();
    await other.stop();
    await stack.stop();
  }
});

Deno.test("identical content in several buckets and keys is stored once", async () => {
  const stack = await startStorageStack(["bucket-one", "bucket-two"]);
  try {
    const body = "the same bytes everywhere ".repeat(1000);
    await stack.put("bucket-one", "x.txt", body);
    await stack.put("bucket-one", "copy/x.txt", body);
    await stack.put("bucket-two", "y.txt", body);
    await stack.put("bucket-two", "other.txt", "different");
    const [summary] = await snapshotStorage(stack.context());
    assert.equal(summary.objects, 4);
    const manifest = await loadStorageSnapshot(stack.repository, summary.snapshotId);
    const ids = new Set(manifest.objects.flatMap((o) => o.blobs.map((b) => b.id)));
    assert.equal(ids.size, 2);
    // Two object blobs plus one entry segment per bucket.
    assert.equal(await blobCount(stack), 4);
  } finally {
    await stack.stop();
  }
});

Deno.test("a second snapshot reads only changed and added objects and forgets deleted ones", async () => {
  const stack = await startStorageStack(["media"]);
  try {
    for (let i = 0; i < 20; i++) await stack.put("media", `file-${i}.bin`, `version 1 of ${i}`);
    const [first] = await snapshotStorage(stack.context());
    assert.equal(first.copied, 20);

    // s3rver's last-modified has one-second resolution: change in a later second.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await stack.put("media", "file-3.bin", "version 2 of 3, longer");
    await stack.put("media", "file-4.bin", "version 2 of 4"); // same size, new ETag
    await stack.put("media", "new/added.bin", "brand new");
    await stack.sourceClient.send(new DeleteObjectCommand({ Bucket: "media", Key: "file-5.bin" }));

    let reads = 0;
    const source = new HookedSource(stack.sourceHttp, () => {
      reads++;
      return Promise.resolve();
    });
    const [second] = await snapshotStorage(stack.context({ source }));
    assert.equal(reads, 3, "only the changed and added objects are downloaded");
    assert.equal(second.copied, 3);
    assert.equal(second.skipped, 17);
    assert.equal(second.objects, 20);
    const manifest = await loadStorageSnapshot(stack.repository, "latest");
    assert.equal(manifest.id, second.snapshotId);
    assert.equal(manifest.previousSnapshotId, first.snapshotId);
    assert.ok(!manifest.objects.some((o) => o.key === "file-5.bin"));
    const three = await new Response(
      stack.repository.readStream(manifest.objects.find((o) => o.key === "file-3.bin")!.blobs),
    ).text();
    assert.equal(three, "version 2 of 3, longer");
  } finally {
    await stack.stop();
  }
});

Deno.test("a listing of more than 5,000 objects is followed across every page", async () => {
  const stack = await startStorageStack(["many-files"]);
  try {
    const total = 5_123;
    const keys = Array.from({ length: total }, (_, i) => `dir-${i % 7}/sub/${i}.txt`);
    for (let i = 0; i < keys.length; i += 64) {
      await Promise.all(keys.slice(i, i + 64).map((key) => stack.put("many-files", key, key)));
    }
    const [summary] = await snapshotStorage(stack.context({ concurrency: 32 }));
    assert.equal(summary.objects, total);
    const manifest = await loadStorageSnapshot(stack.repository, summary.snapshotId);
    assert.deepEqual(new Set(manifest.objects.map((o) => o.key)), new Set(keys));
  } finally {
    await stack.stop();
  }
});

Deno.test("an object deleted after it was listed is reported as vanished, not fatal", async () => {
  const stack = await startStorageStack(["avatars"]);
  try {
    for (let i = 0; i < 6; i++) await stack.put("avatars", `user-${i}.png`, `png ${i}`);
    const source = new HookedSource(stack.sourceHttp, async (key) => {
      if (key === "user-2.png") {
        await stack.sourceClient.send(new DeleteObjectCommand({ Bucket: "avatars", Key: key }));
      }
    });
    const [summary] = await snapshotStorage(stack.context({ source }));
    assert.equal(summary.vanished, 1);
    assert.equal(summary.objects, 5);
    const manifest = await loadStorageSnapshot(stack.repository, summary.snapshotId);
    assert.equal(manifest.totals.vanished, 1);
    assert.ok(!manifest.objects.some((o) => o.key === "user-2.png"));
    assert.ok(new ObjectVanishedError("a", "b").message.includes("disappeared"));
  } finally {
    await stack.stop();
  }
});

Deno.test("the source going down mid-snapshot fails it and leaves no manifest", async () => {
  const stack = await startStorageStack(["uploads"]);
  try {
    for (let i = 0; i < 30; i++) await stack.put("uploads", `f-${i}`, `data ${i}`);
    const source = new HookedSource(stack.sourceHttp, async (_key, n) => {
      if (n === 10) await stack.source.kill();
    });
    await assert.rejects(snapshotStorage(stack.context({ source, concurrency: 2 })));
    assert.deepEqual(await stack.repository.listManifests("storage"), []);
  } finally {
    await stack.stop();
  }
});

Deno.test("an object replaced while read in parts is read again from its new version", async () => {
  const stack = await startStorageStack(["replaced"]);
  try {
    const before = "a".repeat(300 * 1024);
    const after = "b".repeat(300 * 1024);
    await stack.put("replaced", "big.txt", before);
    let replaced = false;
    class ReplacingSource extends StorageSource {
      override async getObject(
        bucket: string,
        key: string,
        options?: { signal?: AbortSignal; sizeHint?: number; partSize?: number },
      ): Promise<SourceObject> {
        const object = await super.getObject(bucket, key, options);
        if (!replaced) {
          replaced = true;
          // Let the prefetched part arrive first: the next ones then meet the new version.
          await new Promise((resolve) => setTimeout(resolve, 200));
          await stack.put(bucket, key, after);
        }
        return object;
      }
    }
    const ctx = stack.context({ source: new ReplacingSource(stack.sourceHttp) });
    ctx.options.chunkSize = 64 * 1024;
    const [summary] = await snapshotStorage(ctx);
    const manifest = await loadStorageSnapshot(stack.repository, summary.snapshotId);
    const entry = manifest.objects[0];
    const text = await new Response(stack.repository.readStream(entry.blobs)).text();
    assert.ok(text === after, "the snapshot holds the new version, not a mix");
    assert.equal(entry.blobs.length, 5);
  } finally {
    await stack.stop();
  }
});
