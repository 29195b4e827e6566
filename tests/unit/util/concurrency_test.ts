/**
 * The one concurrency helper (`shared/util/concurrency.ts`): `mapLimit` by count and the
 * weighted limiter by count and bytes. Unit tests.
 */
import assert from "node:assert/strict";
import { mapLimit, WeightedLimiter } from "../../../shared/util/concurrency.ts";

const tick = (ms = 2) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("mapLimit answers results in the order of the items, never more than its limit at once", async () => {
  let running = 0;
  let peak = 0;
  const results = await mapLimit([5, 1, 4, 2, 3, 0], 3, async (n, index) => {
    running++;
    peak = Math.max(peak, running);
    await tick(n);
    running--;
    return `${index}:${n}`;
  });
  assert.deepEqual(results, ["0:5", "1:1", "2:4", "3:2", "4:3", "5:0"]);
  assert.equal(peak, 3);
  assert.deepEqual(await mapLimit([], 4, () => Promise.resolve(1)), []);
  const fromSet = await mapLimit(new Set(["a", "b"]), 8, (item) => Promise.resolve(item + "!"));
  assert.deepEqual(fromSet, ["a!", "b!"], "any iterable");
});

Deno.test("after a call fails, mapLimit rejects with its error and starts no further call", async () => {
  const started: number[] = [];
  const items = Array.from({ length: 20 }, (_, i) => i);
  await assert.rejects(
    mapLimit(items, 2, async (n) => {
      started.push(n);
      await tick();
      if (n === 1) throw new Error("item 1 failed");
    }),
    /item 1 failed/,
  );
  await tick(30);
  assert.ok(started.length <= 3, `started ${started.join(", ")} after the failure`);
});

Deno.test("the weighted limiter admits by count and by weight, and a heavier task alone", async () => {
  const limiter = new WeightedLimiter({ count: 3, weight: 100 });
  await limiter.acquire(60);
  let second = false;
  const waiting = limiter.acquire(50).then(() => second = true);
  await tick();
  assert.equal(second, false, "60 + 50 is over the weight");
  limiter.release(60);
  await waiting;
  assert.equal(limiter.active, 1);
  limiter.release(50);
  await limiter.acquire(500);
  assert.equal(limiter.active, 1, "a task heavier than the limit runs alone");
  let light = false;
  const next = limiter.acquire(1).then(() => light = true);
  await tick();
  assert.equal(light, false);
  limiter.release(500);
  await next;
  await limiter.acquire(1);
  await limiter.acquire(1);
  let fourth = false;
  const counted = limiter.acquire(1).then(() => fourth = true);
  await tick();
  assert.equal(fourth, false, "three at most");
  limiter.release(1);
  await counted;
});
