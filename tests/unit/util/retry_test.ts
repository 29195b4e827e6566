/**
 * The one retry policy (`shared/util/retry.ts`): backoff, results and errors worth another
 * attempt, a wait asked by the answer, the deadline, and aborts. Unit tests: waits are faked.
 */
import assert from "node:assert/strict";
import { backoffMs, retry, type RetryPolicy } from "../../../shared/util/retry.ts";
import { S3_RETRY } from "../../../shared/targets/s3_http.ts";

/** A fake sleep recording the waits asked. */
function waits() {
  const asked: number[] = [];
  return { asked, sleep: (ms: number) => (asked.push(ms), Promise.resolve()) };
}

Deno.test("a result worth retrying is tried again after each backoff, and the last one is returned", async () => {
  const { asked, sleep } = waits();
  let calls = 0;
  const result = await retry(S3_RETRY, () => Promise.resolve(++calls), {
    retryResult: () => true,
    sleep,
  });
  assert.equal(result, 4, "four attempts, the last result answered");
  assert.deepEqual(asked, [100, 400, 1600]);
});

Deno.test("an error is thrown at once unless it is worth another attempt", async () => {
  const { asked, sleep } = waits();
  let calls = 0;
  const policy: RetryPolicy = { attempts: 5, baseDelayMs: 10 };
  await assert.rejects(
    retry(policy, () => Promise.reject(new Error(`permanent ${++calls}`)), { sleep }),
    /permanent 1/,
  );
  assert.deepEqual(asked, []);
  calls = 0;
  const value = await retry(policy, () => {
    if (++calls < 3) return Promise.reject(new Error("transient"));
    return Promise.resolve("done");
  }, { retryError: (error) => /transient/.test(String(error)), sleep });
  assert.equal(value, "done");
  assert.deepEqual(asked, [10, 20]);
  await assert.rejects(
    retry({ attempts: 2, baseDelayMs: 1 }, () => Promise.reject(new Error("still failing")), {
      retryError: () => true,
      sleep,
    }),
    /still failing/,
    "the last error is thrown when the attempts run out",
  );
});

Deno.test("a wait asked by the answer replaces the backoff, and one beyond the deadline ends at once", async () => {
  const { asked, sleep } = waits();
  let calls = 0;
  const policy: RetryPolicy = { attempts: 5, baseDelayMs: 500, deadlineMs: 5_000 };
  const result = await retry(policy, () => Promise.resolve(++calls), {
    retryResult: (n) => n === 1 ? { afterMs: 1_000 } : n === 2 ? { afterMs: 60_000 } : false,
    outOfTime: (n, wait) => -n * (wait.asked ? wait.ms : 1),
    sleep,
  });
  assert.deepEqual(asked, [1_000]);
  assert.equal(result, -120_000, "out of time after the second answer, with the wait it asked");
});

Deno.test("the backoff grows from its base up to the longest wait, and full jitter draws below it", async () => {
  const policy: RetryPolicy = { attempts: 7, baseDelayMs: 500, maxDelayMs: 8_000 };
  const backoffs = [1, 2, 3, 4, 5, 6].map((n) => backoffMs(policy, n));
  assert.deepEqual(backoffs, [500, 1_000, 2_000, 4_000, 8_000, 8_000]);
  const { asked, sleep } = waits();
  await retry({ ...policy, jitter: "full" }, () => Promise.resolve(0), {
    retryResult: () => true,
    sleep,
  });
  assert.equal(asked.length, 6);
  asked.forEach((ms, i) => assert.ok(ms >= 0 && ms < backoffs[i], `wait ${i + 1}: ${ms} ms`));
});

Deno.test("an abort ends the wait with the signal's reason and stops the attempts", async () => {
  const controller = new AbortController();
  let calls = 0;
  const running = retry({ attempts: 10, baseDelayMs: 60_000 }, () => {
    calls++;
    return Promise.reject(new Error("transient"));
  }, { retryError: () => true, signal: controller.signal });
  setTimeout(() => controller.abort(new DOMException("Stopped", "AbortError")), 10);
  await assert.rejects(running, { name: "AbortError" });
  assert.equal(calls, 1);
});
