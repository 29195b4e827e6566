/**
 * The blob encoders: the worker pool must produce exactly what the inline encoder does (ids,
 * decodable blobs, encrypted ones included), move buffers only when told to, never encode
 * content that is already stored, and end its workers when idle or closed.
 */
import assert from "node:assert/strict";
import { decodeBlob } from "../../../shared/codec/blob_format.ts";
import {
  type BlobEncoder,
  type BlobJob,
  EncoderPool,
  inlineEncoder,
} from "../../../shared/codec/encoder.ts";
import { KeyError, Keyring } from "../../../shared/codec/encryption.ts";
import { IntegrityError } from "../../../shared/util/errors.ts";
import { Repository } from "../../../shared/repository/repository.ts";
import { MemoryTarget } from "../../support/memory_target.ts";

function sample(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = i % 3 === 0 ? 97 + (x % 26) : x >>> 24;
  }
  return out;
}

function options0() {
  return { compression: "zstd" as const };
}

async function testKeyring(id = "k1"): Promise<Keyring> {
  const raw = crypto.getRandomValues(new Uint8Array(32));
  const key = await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
  return new Keyring([{ id, key }]);
}

/** Wraps an encoder to count how many blobs it was asked to encode. */
function counting(inner: BlobEncoder): BlobEncoder & { encoded: number } {
  const countJob = (job: BlobJob): BlobJob => ({
    size: job.size,
    id: job.id,
    encode: () => {
      wrapper.encoded++;
      return job.encode();
    },
    drop: () => job.drop(),
  });
  const wrapper = {
    encoded: 0,
    decode: inner.decode.bind(inner),
    openStream: () => {
      const stream = inner.openStream();
      return {
        begin: (...args: Parameters<BlobEncoder["begin"]>) => countJob(stream.begin(...args)),
        digest: () => stream.digest(),
        cancel: () => stream.cancel(),
      };
    },
    begin: (...args: Parameters<BlobEncoder["begin"]>) => countJob(inner.begin(...args)),
  };
  return wrapper;
}

Deno.test("the pool gives the inline encoder's ids and blobs that decode, encrypted too", async () => {
  const pool = new EncoderPool({ threads: 2 });
  try {
    const keyring = await testKeyring();
    for (
      const options of [{ compression: "zstd" as const }, { compression: "gzip" as const, keyring }]
    ) {
      for (const size of [0, 1, 1000, 3 << 20]) {
        const plain = sample(size, size + 7);
        const inline = inlineEncoder.begin(plain, options);
        const pooled = pool.begin(plain, options);
        assert.deepEqual(await pooled.id, await inline.id);
        const { stored } = await pooled.encode();
        const decoded = await decodeBlob(stored, { keyring: options.keyring });
        assert.deepEqual(decoded, plain);
        inline.drop();
      }
    }
    // Threads start only when the ones running are busy.
    assert.deepEqual(pool.running, 1);
    const busy = [
      pool.begin(sample(1 << 20, 1), options0()),
      pool.begin(sample(1 << 20, 2), options0()),
    ];
    assert.deepEqual(pool.running, 2);
    for (const job of busy) await job.encode();
  } finally {
    pool.close();
  }
});

Deno.test("the pool moves a buffer only when the caller gives it up", async () => {
  const pool = new EncoderPool({ threads: 1 });
  try {
    const kept = sample(4096, 1);
    const copy = pool.begin(kept, { compression: "zstd" });
    await copy.id;
    assert.deepEqual(kept.length, 4096, "without transfer the caller keeps its bytes");
    copy.drop();
    const given = sample(4096, 2);
    const moved = pool.begin(given, { compression: "zstd" }, { transfer: true });
    assert.deepEqual(given.length, 0, "with transfer the buffer went to the worker");
    assert.deepEqual(moved.size, 4096);
    const { stored } = await moved.encode();
    assert.deepEqual(await decodeBlob(stored), sample(4096, 2));
    // A view into a larger buffer is copied even with transfer, so its neighbours survive.
    const big = sample(8192, 3);
    const view = big.subarray(100, 200);
    const job = pool.begin(view, { compression: "none" }, { transfer: true });
    await job.id;
    assert.deepEqual(big.length, 8192);
    job.drop();
  } finally {
    pool.close();
  }
});

Deno.test("an idle pool ends its workers and starts them again when needed", async () => {
  const pool = new EncoderPool({ threads: 1, idleMs: 20 });
  try {
    const job = pool.begin(sample(100, 4), { compression: "zstd" });
    await job.encode();
    assert.deepEqual(pool.running, 1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(pool.running, 0, "workers end once idle");
    const again = pool.begin(sample(100, 5), { compression: "zstd" });
    assert.deepEqual(await decodeBlob((await again.encode()).stored), sample(100, 5));
  } finally {
    pool.close();
  }
});

Deno.test("jobs in flight fail clearly when the pool is closed, and ended jobs refuse to encode", async () => {
  const pool = new EncoderPool({ threads: 1 });
  const job = pool.begin(sample(2 << 20, 6), { compression: "zstd" });
  pool.close();
  await assert.rejects(() => job.id, /closed/);
  const ended = inlineEncoder.begin(sample(10, 7), { compression: "none" });
  ended.drop();
  await assert.rejects(() => ended.encode(), /ended/);
});

Deno.test("a repository on the pool round-trips a stream and never encodes stored content", async () => {
  const pool = new EncoderPool({ threads: 2 });
  try {
    const encoder = counting(pool);
    const repository = new Repository(new MemoryTarget(), {
      compression: "zstd",
      keyring: await testKeyring(),
      encoder,
    });
    const rows = Array.from({ length: 40_000 }, (_, i) => `${i}\tproduct ${i}\t${i * 31}\n`).join(
      "",
    );
    const bytes = new TextEncoder().encode(rows);
    const source = async function* () {
      for (let at = 0; at < bytes.length; at += 65536) yield bytes.slice(at, at + 65536);
    };
    const chunking = { minSize: 16 * 1024, avgSize: 64 * 1024, maxSize: 128 * 1024 };
    const first = await repository.writeStream(source(), { split: "rows", chunking });
    assert.ok(first.blobs.length > 5);
    assert.deepEqual(encoder.encoded, first.blobs.length - first.reusedBlobs);
    const read = new Uint8Array(
      await new Response(repository.readStream(first.blobs)).arrayBuffer(),
    );
    assert.deepEqual(read, bytes);
    const before = encoder.encoded;
    const second = await repository.writeStream(source(), { split: "rows", chunking });
    assert.deepEqual(second.blobs, first.blobs);
    assert.deepEqual(second.reusedBlobs, second.blobs.length);
    assert.deepEqual(encoder.encoded, before, "stored blobs are not encoded again");
  } finally {
    pool.close();
  }
});

Deno.test("the pool decodes and verifies blobs, and its errors keep their classes", async () => {
  const pool = new EncoderPool({ threads: 1 });
  try {
    const keyring = await testKeyring();
    const plain = sample(300_000, 9);
    const job = inlineEncoder.begin(plain, { compression: "zstd", keyring });
    const id = await job.id;
    const { stored } = await job.encode();
    assert.deepEqual(await pool.decode(stored.slice(), id, keyring), plain);
    const flipped = stored.slice();
    flipped[flipped.length - 5] ^= 1;
    await assert.rejects(() => pool.decode(flipped, id, keyring), IntegrityError);
    await assert.rejects(
      () => pool.decode(stored.slice(), "0".repeat(64), keyring),
      IntegrityError,
    );
    const otherKey = await testKeyring("k2");
    await assert.rejects(() => pool.decode(stored.slice(), id, otherKey), KeyError);
    await assert.rejects(() => pool.decode(stored.slice(), id, undefined), KeyError);
  } finally {
    pool.close();
  }
});

Deno.test("a stream's digest is the SHA-256 of its blobs in order, in the pool as inline", async () => {
  const pool = new EncoderPool({ threads: 2 });
  try {
    const parts = [sample(70_000, 1), sample(0, 2), sample(1 << 20, 3), sample(5, 4)];
    const whole = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
    let at = 0;
    for (const part of parts) {
      whole.set(part, at);
      at += part.length;
    }
    const expected = Array.from(
      new Uint8Array(await crypto.subtle.digest("SHA-256", whole)),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
    for (const encoder of [pool, inlineEncoder]) {
      const stream = encoder.openStream();
      // A second stream interleaved on the pool must not mix into the first.
      const other = encoder.openStream();
      for (const part of parts) {
        stream.begin(part.slice(), options0(), { transfer: true }).drop();
        other.begin(sample(100, 9), options0()).drop();
      }
      assert.equal(await stream.digest(), expected);
      other.cancel();
      await assert.rejects(() => stream.digest(), /ended/);
    }
  } finally {
    pool.close();
  }
});
