/**
 * Buffer reuse, which keeps memory flat: the chunk pool and the Storage body pool hand the
 * same buffers out again and refuse what is not theirs, the in-place framing of uncompressed
 * blobs writes exactly what `encodeBlob` writes, and chunk buffers recycled through the encoder
 * (inline or in its threads) come back only once their blob is encoded or dropped.
 */
import assert from "node:assert/strict";
import {
  decodeBlob,
  encodeBlob,
  framePlainInPlace,
  PLAIN_HEADER_BYTES,
} from "../../../shared/codec/blob_format.ts";
import { EncoderPool, inlineEncoder } from "../../../shared/codec/encoder.ts";
import { ChunkBufferPool } from "../../../shared/util/chunk_buffer_pool.ts";
import { RowCutter, splitRows } from "../../../shared/repository/chunker.ts";
import { BodyBufferPool, HEADROOM } from "../../../shared/util/body_buffer_pool.ts";
import { inPlaceEncoder } from "../../../shared/storage/in_place_encoder.ts";
import { Repository } from "../../../shared/repository/repository.ts";
import { MemoryTarget } from "../../support/memory_target.ts";

function randomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let at = 0; at < length; at += 65536) {
    crypto.getRandomValues(out.subarray(at, Math.min(length, at + 65536)));
  }
  return out;
}

Deno.test("the chunk pool hands a given-back buffer out again and ignores foreign ones", () => {
  const pool = new ChunkBufferPool(1024, 2);
  const first = pool.take();
  assert.equal(first.length, 1024);
  pool.give(first.buffer);
  assert.equal(pool.waiting, 1);
  assert.equal(pool.take().buffer, first.buffer, "the same memory comes back");
  pool.give(new ArrayBuffer(512));
  const detached = new ArrayBuffer(1024);
  detached.transfer();
  pool.give(detached);
  assert.equal(pool.waiting, 0, "wrong size and detached buffers are not kept");
  for (let i = 0; i < 5; i++) pool.give(new ArrayBuffer(1024));
  assert.equal(pool.waiting, 2, "at most `keep` buffers wait");
});

Deno.test("the body pool gives views with headroom, reuses buffers by size and bounds idle bytes", () => {
  const pool = new BodyBufferPool({ largest: 1 << 20, maxIdleBytes: 3 << 20 });
  const small = pool.take(100);
  assert.equal(small.length, 100);
  assert.equal(small.byteOffset, HEADROOM);
  assert.ok(HEADROOM >= PLAIN_HEADER_BYTES, "room for an uncompressed blob's header");
  pool.give(small);
  assert.equal(pool.take(5000).buffer, small.buffer, "a body of the same size class reuses it");
  const part = pool.take(1 << 20);
  assert.equal(part.buffer.byteLength, (1 << 20) + HEADROOM, "a part gets exactly its size");
  pool.give(part.subarray(10)); // not a view it handed out
  assert.equal(pool.idleBytes, 0);
  pool.give(new Uint8Array(new ArrayBuffer((1 << 20) + HEADROOM), HEADROOM, 10));
  assert.equal(pool.idleBytes, (1 << 20) + HEADROOM, "any buffer of its layout is welcome");
  pool.give(part);
  pool.give(part);
  assert.equal(pool.idleBytes, 2 * ((1 << 20) + HEADROOM), "a buffer given twice is kept once");
  pool.give(pool.take(1 << 20));
  pool.give(new Uint8Array(new ArrayBuffer((1 << 20) + HEADROOM), HEADROOM, 10));
  assert.ok(pool.idleBytes <= 3 << 20, "idle bytes stay under the bound");
});

Deno.test("a blob framed in place is byte for byte what encodeBlob writes", async () => {
  for (const length of [0, 1, 1000, 300_000]) {
    const plain = randomBytes(length);
    const room = new Uint8Array(HEADROOM + length);
    room.fill(0xaa, 0, HEADROOM);
    room.set(plain, HEADROOM);
    const framed = framePlainInPlace(room.subarray(HEADROOM));
    assert.equal(framed.buffer, room.buffer, "no copy");
    assert.deepEqual(framed, await encodeBlob(plain, { compression: "none" }));
    assert.deepEqual(await decodeBlob(framed), plain);
  }
  assert.throws(() => framePlainInPlace(new Uint8Array(10)), /needs 24 free bytes/);
});

Deno.test("the in-place encoder frames only blobs given up, uncompressed and with room", async () => {
  const pool = new BodyBufferPool({ largest: 1 << 20, maxIdleBytes: 1 << 22 });
  const body = pool.take(4096);
  body.set(randomBytes(4096));
  const expected = await encodeBlob(body, { compression: "none" });
  const job = inPlaceEncoder.begin(body, { compression: "none" }, { transfer: true });
  const { stored } = await job.encode();
  assert.equal(stored.buffer, body.buffer, "framed in the body's own buffer");
  assert.deepEqual(stored, expected);
  // Not given up, or compressed: the inline encoder's fresh copy, the body untouched.
  const other = pool.take(4096);
  other.set(randomBytes(4096));
  const before = new Uint8Array(other.buffer).slice();
  for (
    const [options, begin] of [
      [{ compression: "none" as const }, {}],
      [{ compression: "gzip" as const }, { transfer: true }],
    ] as const
  ) {
    const copy = await inPlaceEncoder.begin(other, options, begin).encode();
    assert.notEqual(copy.stored.buffer, other.buffer);
    assert.deepEqual(await decodeBlob(copy.stored), other);
    assert.deepEqual(new Uint8Array(other.buffer), before, "the buffer is left as it was");
  }
});

Deno.test("chunk buffers recycled through the encoder come back once encoded or dropped", async () => {
  const rows = new TextEncoder().encode(
    Array.from({ length: 40_000 }, (_, i) => `${i}\trow number ${i * 7919}\n`).join(""),
  );
  const chunking = { minSize: 16 * 1024, avgSize: 64 * 1024, maxSize: 128 * 1024 };
  const expected: Uint8Array[] = [];
  for await (const chunk of splitRows(ReadableStream.from([rows]), chunking)) expected.push(chunk);
  assert.ok(expected.length > 4);
  const threads = new EncoderPool({ threads: 1 });
  try {
    for (const encoder of [inlineEncoder, threads]) {
      const pool = new ChunkBufferPool(chunking.maxSize, 8);
      const cutter = new RowCutter(chunking, pool);
      const chunks: Uint8Array[] = [];
      let start = 0;
      for (let at = 0; at < rows.length; at++) {
        if (rows[at] !== 10) continue;
        cutter.addRange(rows, start, at + 1, (chunk) => chunks.push(chunk));
        start = at + 1;
      }
      cutter.finish((chunk) => chunks.push(chunk));
      assert.deepEqual(chunks.map((c) => c.slice()), expected, "same cuts as splitRows");
      const buffers = new Set(chunks.map((chunk) => chunk.buffer));
      assert.equal(buffers.size, chunks.length, "each chunk in a buffer of its own");
      const jobs = chunks.map((chunk) =>
        encoder.begin(chunk, { compression: "zstd" }, { transfer: true, recycle: pool })
      );
      assert.equal(pool.waiting, 0, "nothing comes back before its blob is done");
      for (const [i, job] of jobs.entries()) {
        if (i % 2) job.drop();
        else assert.deepEqual(await decodeBlob((await job.encode()).stored), expected[i]);
      }
      // Thread replies (and the buffers they move back) arrive as messages.
      for (let wait = 0; pool.waiting < Math.min(8, chunks.length) && wait < 100; wait++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.equal(
        pool.waiting,
        Math.min(8, chunks.length),
        `${encoder === threads ? "thread" : "inline"}`,
      );
    }
  } finally {
    threads.close();
  }
});

Deno.test("a saved encoded copy is released at once, a blob framed in a pooled buffer is not", async () => {
  const bodies: Uint8Array[] = [];
  const target = new MemoryTarget();
  const save = target.save.bind(target);
  target.save = (key, body, options) => {
    if (body instanceof Uint8Array) bodies.push(body);
    return save(key, body, options);
  };
  const pool = new BodyBufferPool({ largest: 1 << 20, maxIdleBytes: 1 << 22 });
  // Compressed: the encoder's fresh copy is released once the target has it.
  const text = new TextEncoder().encode("order line ".repeat(5000));
  const zstd = new Repository(target, { compression: "zstd", encoder: inPlaceEncoder });
  const compressed = await zstd.putBlob(text, { assumeAbsent: true });
  assert.equal(bodies.length, 1);
  assert.equal((bodies[0].buffer as ArrayBuffer).detached, true, "the encoded copy was released");
  assert.equal(text.length, 55000, "the caller's plaintext is untouched");
  assert.deepEqual(await zstd.loadBlob(compressed.id), text, "the target kept its own bytes");
  // Framed in place: the stored bytes are the pooled buffer, which goes back to its pool whole.
  const plain = new Repository(target, { compression: "none", encoder: inPlaceEncoder });
  const body = pool.take(70_000);
  body.set(randomBytes(70_000));
  const expected = body.slice();
  const framed = await plain.putBlob(body, { assumeAbsent: true, transfer: true });
  assert.equal(bodies[1].buffer, body.buffer, "sent from the body's own buffer");
  assert.equal((body.buffer as ArrayBuffer).detached, false, "not released: the pool owns it");
  pool.give(body);
  assert.equal(pool.take(70_000).buffer, body.buffer, "and the pool reuses it");
  assert.deepEqual(await plain.loadBlob(framed.id), expected);
});

Deno.test("a pool that is full releases what it is given instead of keeping it", () => {
  const chunks = new ChunkBufferPool(1024, 1);
  chunks.give(new ArrayBuffer(1024));
  const extra = new ArrayBuffer(1024);
  chunks.give(extra);
  assert.equal(extra.detached, true);
  const bodies = new BodyBufferPool({ largest: 1 << 16, maxIdleBytes: 16 * 1024 }); // one small buffer
  const kept = bodies.take(100);
  const dropped = bodies.take(100);
  bodies.give(kept);
  bodies.give(dropped);
  assert.equal((kept.buffer as ArrayBuffer).detached, false);
  assert.equal((dropped.buffer as ArrayBuffer).detached, true, "over the idle bound: released");
  const foreign = new Uint8Array(100);
  bodies.give(foreign);
  assert.equal((foreign.buffer as ArrayBuffer).detached, false, "not the pool's: left alone");
});
