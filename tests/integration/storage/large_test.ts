/**
 * An object larger than 100 MB goes through a snapshot and a restore as a stream: memory
 * stays flat and the restored bytes hash to the original.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { Readable } from "node:stream";
import {
  runCli,
  startStorageStack,
  storageEnv,
  targetEnv,
} from "../../support/storage_fixtures.ts";
import { sdkClient } from "../../support/sdk_client.ts";
import { loadStorageSnapshot } from "../../../shared/storage/restore.ts";
import { startS3Server } from "../../../stack/s3_server.ts";

const MIB = 1024 * 1024;
const SIZE = 120 * MIB + 12_345;

/** Deterministic pseudo-random bytes, generated a mebibyte at a time. */
function generated(size: number, seed: number): ReadableStream<Uint8Array> {
  let state = seed >>> 0 || 1;
  let left = size;
  return new ReadableStream({
    pull(controller) {
      if (left === 0) return controller.close();
      const n = Math.min(MIB, left);
      const words = new Uint32Array(Math.ceil(n / 4));
      for (let i = 0; i < words.length; i++) {
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        words[i] = state;
      }
      controller.enqueue(new Uint8Array(words.buffer, 0, n));
      left -= n;
    },
  });
}

async function sha256Of(stream: AsyncIterable<Uint8Array>): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of stream) hash.update(chunk);
  return hash.digest("hex");
}

Deno.test("an object over 100 MB is snapshotted and restored as a stream with flat memory through the CLI", async () => {
  const stack = await startStorageStack(["videos"]);
  const other = await startS3Server();
  const otherClient = sdkClient(other);
  try {
    const expected = await sha256Of(generated(SIZE, 42));
    await new Upload({
      client: stack.sourceClient,
      params: {
        Bucket: "videos",
        Key: "raw/huge movie.mp4",
        Body: Readable.fromWeb(generated(SIZE, 42) as Parameters<typeof Readable.fromWeb>[0]),
        ContentType: "video/mp4",
        Metadata: { camera: "a7" },
      },
      partSize: 8 * MIB,
      queueSize: 2,
    }).done();
    await stack.put("videos", "small.txt", "small");

    const env = { ...storageEnv(stack.source), ...targetEnv(stack.target) };
    const snapshot = await runCli(["snapshot", "--to", stack.targetUrl, "--json"], env);
    assert.equal(snapshot.code, 0, snapshot.stderr);
    const summary = JSON.parse(snapshot.stdout.trim().split("\n").at(-1)!);
    assert.equal(summary.objects, 2);
    assert.equal(summary.bytes, SIZE + 5);
    const manifest = await loadStorageSnapshot(stack.repository, summary.snapshotId);
    const huge = manifest.objects.find((o) => o.key === "raw/huge movie.mp4")!;
    assert.equal(huge.sha256, expected);
    assert.equal(huge.blobs.length, Math.ceil(SIZE / (8 * MIB)));

    const restore = await runCli([
      "restore-storage",
      "--from",
      stack.targetUrl,
      "--snapshot",
      "latest",
      "--endpoint",
      other.endpoint,
      "--allow-unauthenticated",
      "--yes",
      "--json",
    ], env);
    assert.equal(restore.code, 0, restore.stderr);
    assert.equal(JSON.parse(restore.stdout.trim().split("\n").at(-1)!).uploaded, 2);
    const restored = await otherClient.send(
      new GetObjectCommand({ Bucket: "videos", Key: "raw/huge movie.mp4" }),
    );
    assert.equal(restored.ContentType, "video/mp4");
    assert.deepEqual(restored.Metadata, { camera: "a7" });
    assert.equal(
      await sha256Of(restored.Body as unknown as AsyncIterable<Uint8Array>),
      expected,
    );

    for (const [what, run] of [["snapshot", snapshot], ["restore", restore]] as const) {
      // Bounded by the runtime, the SDK and the parts in flight, not by the object (120 MB).
      assert.ok(run.peakRss < 400 * MIB, `${what} peaked at ${Math.round(run.peakRss / MIB)} MiB`);
    }
    console.log(
      `peak RSS: snapshot ${Math.round(snapshot.peakRss / MIB)} MiB, restore ${
        Math.round(restore.peakRss / MIB)
      } MiB`,
    );
  } finally {
    otherClient.destroy();
    await other.stop();
    await stack.stop();
  }
});
