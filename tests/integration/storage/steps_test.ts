/**
 * Storage snapshots in budgeted, resumable steps: a step that runs out of budget hands over
 * with a checkpoint, and a step that dies costs only the objects it had in flight.
 */
import assert from "node:assert/strict";
import type { S3Http } from "../../../shared/targets/s3_http.ts";
import { startStorageStack } from "../../support/storage_fixtures.ts";
import { runStorageSnapshotStep, type StepBudget } from "../../../shared/storage/snapshot/mod.ts";
import { loadStorageSnapshot } from "../../../shared/storage/restore.ts";
import { type SourceObject, StorageSource } from "../../../shared/storage/source.ts";

class CountingSource extends StorageSource {
  readonly reads: string[] = [];
  constructor(client: S3Http, private readonly failAt?: number) {
    super(client);
  }
  override getObject(
    bucket: string,
    key: string,
    options?: { signal?: AbortSignal },
  ): Promise<SourceObject> {
    this.reads.push(`${bucket}/${key}`);
    if (this.reads.length === this.failAt) {
      return Promise.reject(new Error("The process was killed"));
    }
    return super.getObject(bucket, key, options);
  }
}

/** A budget that runs out after `n` checks. */
function checks(n: number): StepBudget {
  let left = n;
  return { exhausted: () => left-- <= 0 };
}

Deno.test("a snapshot split into budgeted steps resumes where each step stopped and reads each object once", async () => {
  const stack = await startStorageStack(["alpha", "beta"]);
  try {
    const expected: string[] = [];
    for (const bucket of ["alpha", "beta"]) {
      for (let i = 0; i < 25; i++) {
        await stack.put(bucket, `k/${String(i).padStart(3, "0")}`, `${bucket} ${i}`);
        expected.push(`${bucket}/k/${String(i).padStart(3, "0")}`);
      }
    }
    const source = new CountingSource(stack.sourceHttp);
    const ctx = stack.context({ source, concurrency: 3, segmentSize: 4 });
    let checkpoint: Record<string, unknown> = { buckets: null };
    const saved: Record<string, unknown>[] = [];
    let steps = 0;
    for (;;) {
      steps++;
      const result = await runStorageSnapshotStep(ctx, checkpoint, {
        budget: checks(7),
        saveCheckpoint: (c) => {
          saved.push(structuredClone(c));
          return Promise.resolve();
        },
      });
      checkpoint = JSON.parse(JSON.stringify(result.checkpoint));
      if (result.done) break;
      assert.deepEqual(await stack.repository.listManifests("storage"), [], "no manifest early");
      assert.ok(steps < 50, "the run makes progress");
    }
    assert.ok(steps >= 7, `the budget split the work (${steps} steps)`);
    assert.deepEqual([...source.reads].sort(), expected, "every object was read exactly once");
    const manifest = await loadStorageSnapshot(stack.repository, "latest");
    assert.equal(manifest.objects.length, 50);
    assert.equal(manifest.totals.copied, 50);
    assert.ok(saved.length > steps, "checkpoints were saved within steps too");
  } finally {
    await stack.stop();
  }
});

Deno.test("a step that dies mid-bucket resumes from its last saved checkpoint", async () => {
  const stack = await startStorageStack(["gamma"]);
  try {
    for (let i = 0; i < 40; i++) {
      await stack.put("gamma", `obj-${String(i).padStart(2, "0")}`, `${i}`);
    }
    const dying = new CountingSource(stack.sourceHttp, 30);
    let last: Record<string, unknown> = { buckets: ["gamma"] };
    await assert.rejects(
      runStorageSnapshotStep(
        stack.context({ source: dying, concurrency: 1, segmentSize: 5 }),
        last,
        {
          saveCheckpoint: (c) => {
            last = JSON.parse(JSON.stringify(c));
            return Promise.resolve();
          },
        },
      ),
      /killed/,
    );
    assert.deepEqual(await stack.repository.listManifests("storage"), []);
    assert.equal(last.startAfter, "obj-24", "the last flushed segment ended at obj-24");

    const resumed = new CountingSource(stack.sourceHttp);
    const result = await runStorageSnapshotStep(stack.context({ source: resumed }), last);
    assert.equal(result.done, true);
    assert.equal(resumed.reads.length, 15, "only the objects after the checkpoint are read");
    const manifest = await loadStorageSnapshot(stack.repository, "latest");
    assert.equal(manifest.objects.length, 40);
    assert.equal(manifest.id, last.snapshotId, "the resumed run keeps its snapshot id");
  } finally {
    await stack.stop();
  }
});
