/**
 * Stored blobs damaged after they were written, on a real S3-protocol server: the next
 * database backup must not reference a truncated blob (it stores it again, and the backup
 * restores), and a blob whose payload was flipped — same size, only reading it back tells —
 * is marked by verification and stored again by the next backup, after which verification
 * passes again.
 */
import assert from "node:assert/strict";
import { loadDatabaseManifest } from "../../../shared/database/manifest.ts";
import { settleBackground } from "../../../shared/jobs/background.ts";
import { executeUntilDone, PLAN_BUDGETS } from "../../../shared/jobs/mod.ts";
import { blobKey } from "../../../shared/repository/mod.ts";
import { openRepository } from "../../../shared/repository/open.ts";
import { openTarget } from "../../../shared/targets/open_target.ts";
import type { Run } from "../../../shared/runs/mod.ts";
import { verifyBackups } from "../../../shared/verify/mod.ts";
import { type LocalStack, startLocalStack } from "../../../stack/local_stack.ts";
import { seedShop } from "../../../stack/shop_seed.ts";
import { KEYED_ENV } from "../../support/keys.ts";

async function backUp(stack: LocalStack): Promise<Run> {
  const created = await stack.app.store.create({
    kind: "database",
    trigger: "cron",
    targets: ["s3"],
  });
  await executeUntilDone(stack.app.executor, { runId: created.id, limits: PLAN_BUDGETS.worker });
  const run = await stack.app.store.get(created.id);
  assert.equal(run?.status, "succeeded", run?.error ?? "");
  return run!;
}

async function largestBlob(stack: LocalStack, backupId: string) {
  const opened = await openRepository("s3", stack.app.config.targets.s3, stack.app.config);
  try {
    const manifest = await loadDatabaseManifest(opened.repository, backupId);
    return manifest.tables.flatMap((table) => table.blobs)
      .sort((a, b) => b.storedSize - a.storedSize)[0];
  } finally {
    await opened.target.close();
  }
}

Deno.test("a truncated or flipped blob on S3 is stored again by the next backup, never reused", async () => {
  const stack = await startLocalStack({ s3: true, env: KEYED_ENV });
  const raw = openTarget(stack.app.config.targets.s3, { s3: stack.app.config.s3 });
  const read = async (key: string) =>
    new Uint8Array(await new Response(await raw.load(key)).arrayBuffer());
  try {
    await seedShop(stack.db.url, { products: 300, customers: 100, orders: 1500 });
    const first = await backUp(stack);
    const victim = await largestBlob(stack, first.backupId!);
    const key = blobKey(victim.id);
    const good = await read(key);
    assert.equal(good.length, victim.storedSize);

    // Truncated: the next backup stores it again and records the true size.
    await raw.save(key, good.slice(0, good.length - 100), { size: good.length - 100 });
    const second = await backUp(stack);
    assert.equal((await raw.stat(key)).size, victim.storedSize, "stored again whole");
    const again = await largestBlob(stack, second.backupId!);
    assert.equal(again.id, victim.id);
    assert.equal(again.storedSize, victim.storedSize);

    // Flipped: sizes hold, so only verification's read-back finds it; it marks it.
    const flipped = (await read(key)).slice();
    flipped[flipped.length >> 1] ^= 0x40;
    await raw.save(key, flipped, { size: flipped.length });
    const context = { sql: stack.app.sql, store: stack.app.store, config: stack.app.config };
    const found = await verifyBackups(context, {
      alerts: false,
      sample: "all",
      only: ["integrity.database"],
    });
    assert.equal(found.status, "fail");
    assert.match(found.checks[0].summary, new RegExp(`part ${victim.id.slice(0, 12)} is corrupt`));
    assert.ok(
      await raw.stat(`damaged/${victim.id}.json`).then(() => true, () => false),
      "marked damaged",
    );

    const third = await backUp(stack);
    assert.deepEqual(await read(key).then((bytes) => bytes.length), victim.storedSize);
    assert.equal(
      await raw.stat(`damaged/${victim.id}.json`).then(() => true, () => false),
      false,
      "the mark is cleared once stored again",
    );
    const healed = await verifyBackups(context, {
      alerts: false,
      sample: "all",
      only: ["integrity.database"],
    });
    assert.equal(healed.status, "ok", healed.checks[0].summary);
    assert.ok(third.backupId);
  } finally {
    await raw.close();
    await settleBackground();
    await stack.stop();
  }
});
