import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { KeyError, Keyring } from "../../../shared/codec/mod.ts";
import {
  blobKey,
  type BlobRef,
  LockedError,
  Repository,
  resolveChunking,
  RowCutter,
  splitBytes,
  splitRows,
} from "../../../shared/repository/mod.ts";
import { FileTarget } from "../../../shared/targets/file_target.ts";
import type { StorageTarget } from "../../../shared/targets/target.ts";
import { IntegrityError, NotFoundError } from "../../../shared/util/errors.ts";
import { MemoryTarget } from "../../support/memory_target.ts";

const KEY_A = btoa(String.fromCharCode(...new Uint8Array(32).fill(7)));
const KEY_B = btoa(String.fromCharCode(...new Uint8Array(32).fill(9)));
const TINY = { minSize: 2 * 1024, avgSize: 8 * 1024, maxSize: 32 * 1024 };

/** Deterministic COPY-like rows: `id \t name \t amount \t note \n`, widths varying. */
function rows(count: number, options: { seed?: number; firstId?: number } = {}): string[] {
  let n = options.seed ?? 1;
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    n = (Math.imul(n, 1103515245) + 12345) >>> 0;
    const id = (options.firstId ?? 1) + i;
    out.push(`${id}\tcustomer ${n % 977}\t${n % 100000}.${n % 100}\t${"x".repeat(n % 90)}\n`);
  }
  return out;
}

function bytes(text: string | string[]): Uint8Array {
  return new TextEncoder().encode(Array.isArray(text) ? text.join("") : text);
}

/** Delivers data in pieces of the given size. */
async function* pieces(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const chunk of chunks) out.push(chunk);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function randomBytes(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let at = 0; at < size; at += 65536) crypto.getRandomValues(out.subarray(at, at + 65536));
  return out;
}

function sha(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

async function rejectsWith(
  fn: () => Promise<unknown>,
  type: new (...args: never[]) => Error,
  pattern?: RegExp,
): Promise<Error> {
  let caught: unknown;
  try {
    await fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof type, `expected ${type.name}, got ${caught}`);
  if (pattern) assert.match((caught as Error).message, pattern);
  return caught as Error;
}

function flipStored(target: MemoryTarget, id: string, at = -5): void {
  const entry = target.objects.get(blobKey(id))!;
  entry.bytes[at < 0 ? entry.bytes.length + at : at] ^= 0x40;
}

// ---- Chunker: failures and edge cases first ---------------------------------------------

Deno.test("an empty stream yields no chunks", async () => {
  assert.deepEqual(await collect(splitRows(pieces(new Uint8Array(0), 10), TINY)), []);
  assert.deepEqual(await collect(splitRows(new ReadableStream({ start: (c) => c.close() }))), []);
  async function* empties() {
    yield new Uint8Array(0);
    yield new Uint8Array(0);
  }
  assert.deepEqual(await collect(splitRows(empties(), TINY)), []);
  assert.deepEqual(await collect(splitBytes(empties(), { chunkSize: 4 })), []);
});

Deno.test("inconsistent chunk sizes are rejected", () => {
  assert.throws(() => resolveChunking({ minSize: 10, avgSize: 5, maxSize: 20 }), RangeError);
  assert.throws(() => resolveChunking({ minSize: 0, avgSize: 5, maxSize: 20 }), RangeError);
  assert.throws(() => resolveChunking({ minSize: 1, avgSize: 30, maxSize: 20 }), RangeError);
});

Deno.test("rows are never split and chunks respect the size bounds", async () => {
  const data = bytes(rows(20000));
  const chunks = await collect(splitRows(pieces(data, 1000), TINY));
  assert.deepEqual(concat(chunks), data);
  for (const [i, chunk] of chunks.entries()) {
    assert.equal(chunk.at(-1), 10, `chunk ${i} ends inside a row`);
    assert.ok(chunk.length <= TINY.maxSize, `chunk ${i} is ${chunk.length}`);
    if (i < chunks.length - 1) assert.ok(chunk.length >= TINY.minSize, `chunk ${i} too small`);
  }
  const average = data.length / chunks.length;
  assert.ok(average > TINY.minSize * 2 && average < TINY.maxSize, `average ${average}`);
});

Deno.test("chunk boundaries do not depend on how the input is delivered", async () => {
  const data = bytes(rows(3000));
  const whole = await collect(splitRows(pieces(data, data.length), TINY));
  for (const size of [1, 7, 4096, 65536]) {
    const other = await collect(splitRows(pieces(data, size), TINY));
    assert.deepEqual(other.map(sha), whole.map(sha), `pieces of ${size}`);
  }
});

Deno.test("the row-at-a-time cutter cuts exactly where splitRows does, huge rows included", async () => {
  const lines = rows(6000);
  // Rows wider than a whole chunk, rows of one byte, and rows around the minimum size.
  lines.splice(100, 0, "x".repeat(TINY.maxSize * 3) + "\n", "\n", "y".repeat(TINY.minSize) + "\n");
  lines.splice(4000, 0, "z".repeat(TINY.maxSize + 1) + "\n");
  const data = bytes(lines.join(""));
  const expected = await collect(splitRows(pieces(data, 4096), TINY));
  const cutter = new RowCutter(TINY);
  const got: Uint8Array[] = [];
  let counted = 0;
  const emit = (chunk: Uint8Array, rowCount: number) => {
    got.push(chunk);
    counted += rowCount;
  };
  for (const line of lines) cutter.add(bytes(line), emit);
  cutter.finish(emit);
  assert.deepEqual(got.map(sha), expected.map(sha));
  assert.equal(counted, lines.length);
});

Deno.test("an insert near the start leaves most later chunks identical", async () => {
  const all = rows(40000);
  const before = await collect(splitRows(pieces(bytes(all), 8192), TINY));
  const edited = [...all.slice(0, 50), "999999\tinserted\t1.00\tnew row\n", ...all.slice(50)];
  const after = await collect(splitRows(pieces(bytes(edited), 8192), TINY));
  const known = new Set(before.map(sha));
  const shared = after.filter((chunk) => known.has(sha(chunk))).length;
  assert.ok(before.length > 100, `only ${before.length} chunks`);
  assert.ok(shared >= after.length - 3, `${shared} of ${after.length} chunks unchanged`);
});

Deno.test("a deleted row in the middle changes only the chunks around it", async () => {
  const all = rows(40000, { seed: 5 });
  const before = await collect(splitRows(pieces(bytes(all), 8192), TINY));
  const edited = [...all.slice(0, 20000), ...all.slice(20001)];
  const after = await collect(splitRows(pieces(bytes(edited), 8192), TINY));
  const known = new Set(before.map(sha));
  const changed = after.filter((chunk) => !known.has(sha(chunk))).length;
  assert.ok(changed <= 3, `${changed} of ${after.length} chunks changed`);
});

Deno.test("a row larger than the maximum is a chunk of its own", async () => {
  const head = rows(500);
  const huge = `1\t${"h".repeat(TINY.maxSize * 5)}\n`;
  const tail = rows(500, { firstId: 1000 });
  const data = bytes([...head, huge, ...tail]);
  const chunks = await collect(splitRows(pieces(data, 3000), TINY));
  assert.deepEqual(concat(chunks), data);
  const big = chunks.filter((chunk) => chunk.length > TINY.maxSize);
  assert.equal(big.length, 1);
  assert.equal(new TextDecoder().decode(big[0]), huge);
});

Deno.test("input without a final newline ends with the remainder", async () => {
  const data = bytes([...rows(2000), "last row without newline"]);
  const chunks = await collect(splitRows(pieces(data, 500), TINY));
  assert.deepEqual(concat(chunks), data);
  assert.match(new TextDecoder().decode(chunks.at(-1)!), /last row without newline$/);
});

Deno.test("chunks are fresh buffers the caller owns", async () => {
  const data = bytes(rows(2000));
  const source = data.slice();
  const chunks = await collect(splitRows(pieces(source, 1000), TINY));
  source.fill(0);
  assert.deepEqual(concat(chunks), data);
});

Deno.test("bytes are cut at fixed sizes", async () => {
  const data = crypto.getRandomValues(new Uint8Array(10_000));
  const chunks = await collect(splitBytes(pieces(data, 333), { chunkSize: 4096 }));
  assert.deepEqual(chunks.map((c) => c.length), [4096, 4096, 1808]);
  assert.deepEqual(concat(chunks), data);
});

// ---- Repository: failures first ---------------------------------------------------------

Deno.test("loading a missing blob is a NotFoundError", async () => {
  const repo = new Repository(new MemoryTarget(), { compression: "zstd" });
  await rejectsWith(() => repo.loadBlob("0".repeat(64)), NotFoundError);
  await rejectsWith(() => repo.loadBlob("not-an-id"), RangeError);
});

Deno.test("a corrupt blob is an IntegrityError naming it, whatever the codec", async () => {
  const ring = await Keyring.parse(`k1:${KEY_A}`);
  for (
    const options of [
      { compression: "none" as const },
      { compression: "zstd" as const },
      { compression: "gzip" as const },
      { compression: "zstd" as const, keyring: ring },
    ]
  ) {
    const target = new MemoryTarget();
    const repo = new Repository(target, options);
    const { id } = await repo.putBlob(bytes(rows(300)));
    flipStored(target, id);
    const error = await rejectsWith(() => repo.loadBlob(id), IntegrityError);
    assert.ok(error.message.includes(id), error.message);
  }
});

Deno.test("a blob stored under another blob's id is detected", async () => {
  const target = new MemoryTarget();
  const repo = new Repository(target, { compression: "zstd" });
  const a = await repo.putBlob(bytes("a\n"));
  const b = await repo.putBlob(bytes("b\n"));
  target.objects.get(blobKey(b.id))!.bytes = target.objects.get(blobKey(a.id))!.bytes;
  await rejectsWith(() => repo.loadBlob(b.id), IntegrityError, /does not match its id/);
});

Deno.test("a blob encrypted with an unknown key names the key", async () => {
  const target = new MemoryTarget();
  const writer = new Repository(target, { keyring: await Keyring.parse(`k2:${KEY_A}`) });
  const { id } = await writer.putBlob(bytes("secret\n"));
  const reader = new Repository(target, { keyring: await Keyring.parse(`k1:${KEY_B}`) });
  await rejectsWith(() => reader.loadBlob(id), KeyError, /key "k2" which is not configured/);
  const check = await reader.verifyBlob(id, { deep: true });
  assert.equal(check.ok, false);
  assert.equal(!check.ok && check.problem, "key");
});

Deno.test("a truncated blob is reported by shallow and deep verification", async () => {
  const target = new MemoryTarget();
  const repo = new Repository(target, { compression: "zstd" });
  const ref = await repo.putBlob(bytes(rows(200)));
  const entry = target.objects.get(blobKey(ref.id))!;
  entry.bytes = entry.bytes.slice(0, -7);
  const shallow = await repo.verifyBlob(ref);
  assert.equal(!shallow.ok && shallow.problem, "size");
  const deep = await repo.verifyBlob(ref.id, { deep: true });
  assert.equal(!deep.ok && deep.problem, "corrupt");
  await repo.removeBlob(ref.id);
  const missing = await repo.verifyBlob(ref.id);
  assert.equal(!missing.ok && missing.problem, "missing");
});

Deno.test("a corrupt blob in the middle errors the read stream after earlier bytes", async () => {
  const target = new MemoryTarget();
  const repo = new Repository(target, { compression: "zstd" });
  const data = bytes(rows(20000));
  const written = await repo.writeStream(pieces(data, 4096), { split: "rows", chunking: TINY });
  const victim = written.blobs[Math.floor(written.blobs.length / 2)];
  flipStored(target, victim.id);
  const reader = repo.readStream(written.blobs).getReader();
  let delivered = 0;
  const error = await rejectsWith(async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      delivered += value.length;
    }
  }, IntegrityError);
  assert.ok(error.message.includes(victim.id));
  const expected = written.blobs.slice(0, written.blobs.indexOf(victim))
    .reduce((n, b) => n + b.size, 0);
  assert.equal(delivered, expected);
});

Deno.test("a blob ref with the wrong size fails the read stream", async () => {
  const repo = new Repository(new MemoryTarget(), { compression: "none" });
  const ref = await repo.putBlob(bytes("row\n"));
  const stream = repo.readStream([{ ...ref, size: 99 }]);
  await rejectsWith(() => new Response(stream).arrayBuffer(), IntegrityError, /manifest says 99/);
});

Deno.test("a failing upload fails the write and stops reading the source", async () => {
  const target = new MemoryTarget();
  let saves = 0;
  const original = target.save.bind(target);
  target.save = (key, body, options) => {
    if (++saves === 3) return Promise.reject(new Error("Disk full"));
    return original(key, body, options);
  };
  let pulled = 0;
  let cancelled = false;
  const data = bytes(rows(50000));
  const source = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled >= data.length) return controller.close();
      controller.enqueue(data.subarray(pulled, pulled + 4096));
      pulled += 4096;
    },
    cancel() {
      cancelled = true;
    },
  });
  const repo = new Repository(target, { compression: "none" });
  await rejectsWith(
    () => repo.writeStream(source, { split: "rows", chunking: TINY, concurrency: 2 }),
    Error,
    /Disk full/,
  );
  assert.ok(cancelled, "source was not cancelled");
  assert.ok(pulled < data.length / 2, `read ${pulled} of ${data.length}`);
});

Deno.test("a source that fails fails the write", async () => {
  const repo = new Repository(new MemoryTarget(), { compression: "zstd" });
  async function* source() {
    yield* pieces(bytes(rows(5000)), 4096);
    throw new Error("Connection reset");
  }
  await rejectsWith(
    () => repo.writeStream(source(), { split: "rows", chunking: TINY }),
    Error,
    /Connection reset/,
  );
});

Deno.test("an aborted write rejects with the abort reason", async () => {
  const repo = new Repository(new MemoryTarget(), { compression: "zstd" });
  const controller = new AbortController();
  let n = 0;
  async function* source() {
    for await (const piece of pieces(bytes(rows(20000)), 4096)) {
      if (++n === 20) controller.abort(new Error("Stopped by test"));
      yield piece;
    }
  }
  await rejectsWith(
    () => repo.writeStream(source(), { split: "rows", chunking: TINY, signal: controller.signal }),
    Error,
    /Stopped by test/,
  );
});

Deno.test("invalid manifest kinds and ids are refused", async () => {
  const repo = new Repository(new MemoryTarget());
  await rejectsWith(() => repo.saveManifest("../x", "a", {}), RangeError);
  await rejectsWith(() => repo.saveManifest("database", "../a", {}), RangeError);
  await rejectsWith(() => repo.saveManifest("database", "a/b", {}), RangeError);
  await rejectsWith(() => repo.loadManifest("database", "missing"), NotFoundError);
});

Deno.test("a manifest that is not JSON is an IntegrityError", async () => {
  const target = new MemoryTarget();
  const repo = new Repository(target);
  await repo.saveManifest("database", "r1", { ok: true });
  target.objects.get("manifests/database/r1.json")!.bytes = bytes("{broken");
  await rejectsWith(() => repo.loadManifest("database", "r1"), IntegrityError);
});

Deno.test("with keys a manifest is stored sealed: none of its text shows, and it reads back", async () => {
  const target = new MemoryTarget();
  const keyring = await Keyring.parse(`k1:${KEY_A}`);
  const repo = new Repository(target, { compression: "zstd", keyring });
  const manifest = {
    bucket: "user-files",
    key: "u1/passport scan.pdf",
    metadata: { owner: "ada" },
  };
  const saved = await repo.saveManifest("storage", "s1", manifest);
  const stored = target.objects.get("manifests/storage/s1.json")!.bytes;
  assert.equal(saved.size, stored.length);
  const text = new TextDecoder("latin1").decode(stored);
  for (const secret of ["user-files", "passport", "ada", "bucket"]) {
    assert.ok(!text.includes(secret), `"${secret}" is readable in the stored manifest`);
  }
  assert.deepEqual(await repo.loadManifest("storage", "s1"), manifest);
  assert.deepEqual(await repo.decodeManifest(stored, "storage", "s1"), manifest);
  // Each save seals afresh (random nonce): equal manifests are not equal bytes.
  await repo.saveManifest("storage", "s2", manifest);
  assert.notDeepEqual(target.objects.get("manifests/storage/s2.json")!.bytes, stored);
});

Deno.test("a sealed manifest needs its key and refuses any changed byte", async () => {
  const target = new MemoryTarget();
  const writer = new Repository(target, { keyring: await Keyring.parse(`k1:${KEY_A}`) });
  await writer.saveManifest("database", "r1", { tables: [] });
  await assert.rejects(
    () => new Repository(target).loadManifest("database", "r1"),
    (error: unknown) =>
      error instanceof KeyError &&
      /^Manifest database\/r1 is encrypted with key "k1" but no encryption keys are configured/
        .test(error.message),
  );
  await assert.rejects(
    async () =>
      await new Repository(target, { keyring: await Keyring.parse(`k2:${KEY_B}`) })
        .loadManifest("database", "r1"),
    /Manifest database\/r1 is encrypted with key "k1" which is not configured/,
  );
  const entry = target.objects.get("manifests/database/r1.json")!;
  entry.bytes[entry.bytes.length - 3] ^= 1;
  await rejectsWith(() => writer.loadManifest("database", "r1"), IntegrityError);
});

Deno.test("a plain manifest, written before keys were set, reads with keys only through the opt-in", async () => {
  const target = new MemoryTarget();
  await new Repository(target).saveManifest("database", "old", { tables: [1] });
  assert.equal(
    new TextDecoder().decode(target.objects.get("manifests/database/old.json")!.bytes)[0],
    "{",
  );
  const keyring = await Keyring.parse(`k1:${KEY_A}`);
  await rejectsWith(
    () => new Repository(target, { keyring }).loadManifest("database", "old"),
    IntegrityError,
    /plain JSON, not sealed, but encryption keys are configured/,
  );
  const keyed = new Repository(target, { keyring, acceptUnauthenticated: true });
  assert.deepEqual(await keyed.loadManifest("database", "old"), { tables: [1] });
});

Deno.test("a live lock cannot be taken, an expired one can", async () => {
  let now = 1_000_000;
  const repo = new Repository(new MemoryTarget(), { clock: () => now });
  const prune = await repo.acquireLock("prune", { owner: "prune job", ttlMs: 60_000 });
  await rejectsWith(
    () => repo.acquireLock("prune", { owner: "other", ttlMs: 1000 }),
    LockedError,
    /held by "prune job"/,
  );
  assert.deepEqual((await repo.listLocks()).map((l) => l.name), ["prune"]);
  now += 61_000;
  assert.deepEqual(await repo.listLocks(), []);
  const other = await repo.acquireLock("prune", { owner: "other", ttlMs: 1000 });
  await rejectsWith(() => prune.refresh({ ttlMs: 60_000 }), LockedError, /no longer held/);
  await prune.release(); // Not ours any more: leaves the other holder's lock alone.
  assert.equal((await repo.listLocks())[0].owner, "other");
  await other.refresh({ ttlMs: 5000 });
  assert.equal(other.expiresAt.getTime(), now + 5000);
  await repo.releaseLock(other);
  assert.deepEqual(await repo.listLocks({ includeExpired: true }), []);
  await rejectsWith(() => repo.acquireLock("../x", { owner: "o", ttlMs: 1 }), RangeError);
});

// ---- Repository: behaviour --------------------------------------------------------------

Deno.test("a blob is stored once and then reused", async () => {
  const target = new MemoryTarget();
  const repo = new Repository(target, { compression: "zstd" });
  const data = bytes(rows(1000));
  const first = await repo.putBlob(data);
  const second = await repo.putBlob(data);
  assert.equal(first.reused, false);
  assert.equal(second.reused, true);
  assert.equal(first.id, sha(data));
  assert.equal(second.storedSize, first.storedSize);
  assert.equal(target.counts.save, 1);
  assert.deepEqual(await repo.loadBlob(first.id), data);
  assert.equal(await repo.hasBlob(first.id), true);
});

Deno.test("the same content in flight twice is uploaded once", async () => {
  const target = new MemoryTarget();
  const repo = new Repository(target, { compression: "zstd" });
  const data = bytes(rows(1000));
  const results = await Promise.all([repo.putBlob(data), repo.putBlob(data), repo.putBlob(data)]);
  assert.equal(results.filter((r) => !r.reused).length, 1);
  assert.equal(target.counts.save, 1);
});

Deno.test("writing the same stream twice uploads nothing the second time", async () => {
  const target = new MemoryTarget();
  const repo = new Repository(target, { compression: "zstd" });
  const data = bytes(rows(20000));
  const first = await repo.writeStream(pieces(data, 5000), { split: "rows", chunking: TINY });
  const saves = target.counts.save;
  const second = await repo.writeStream(pieces(data, 777), { split: "rows", chunking: TINY });
  assert.equal(target.counts.save, saves);
  assert.equal(second.reusedBlobs, second.blobs.length);
  assert.equal(second.uploadedSize, 0);
  assert.deepEqual(second.blobs, first.blobs);
  assert.equal(first.sha256, sha(data));
  assert.equal(first.size, data.length);
  assert.equal(first.storedSize, first.blobs.reduce((n, b) => n + b.storedSize, 0));
});

Deno.test("an insert uploads only the chunks around it", async () => {
  const target = new MemoryTarget();
  const repo = new Repository(target, { compression: "zstd" });
  const all = rows(40000);
  const first = await repo.writeStream(pieces(bytes(all), 8192), { split: "rows", chunking: TINY });
  const edited = [...all.slice(0, 100), "0\tnew\t0\t\n", ...all.slice(100)];
  const second = await repo.writeStream(pieces(bytes(edited), 8192), {
    split: "rows",
    chunking: TINY,
  });
  assert.ok(second.blobs.length - second.reusedBlobs <= 3, `${second.reusedBlobs} reused`);
  assert.ok(first.blobs.length > 100);
});

async function roundTrip(target: StorageTarget, keyring?: Keyring): Promise<void> {
  const repo = new Repository(target, { compression: "zstd", keyring });
  const row = rows(4000, { seed: 9 }).join("");
  const size = 50 * 1024 * 1024;
  let sent = 0;
  const hash = createHash("sha256");
  const source = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= size) return controller.close();
      // A different prefix each round, so the content is not one repeated chunk.
      const piece = bytes(`${sent}\tround\n${row}`);
      hash.update(piece);
      controller.enqueue(piece);
      sent += piece.length;
    },
  });
  const written = await repo.writeStream(source, {
    split: "rows",
    chunking: { minSize: 16 * 1024, avgSize: 64 * 1024, maxSize: 256 * 1024 },
    concurrency: 4,
  });
  assert.equal(written.sha256, hash.digest("hex"));
  assert.equal(written.size, sent);
  assert.ok(written.blobs.length > 200, `${written.blobs.length} blobs`);
  const check = createHash("sha256");
  let read = 0;
  for await (const piece of repo.readStream(written.blobs, { prefetch: 3 })) {
    check.update(piece);
    read += piece.length;
  }
  assert.equal(read, sent);
  assert.equal(check.digest("hex"), written.sha256);
}

Deno.test("a 50 MiB stream reads back byte-identical from memory", async () => {
  await roundTrip(new MemoryTarget());
});

Deno.test("a 50 MiB encrypted stream reads back byte-identical from files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sauvegarde-repo-" });
  try {
    await roundTrip(new FileTarget(dir), await Keyring.parse(`k1:${KEY_A}`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("binary objects are written in fixed-size blobs and read back", async () => {
  const repo = new Repository(new MemoryTarget(), { compression: "zstd" });
  const data = randomBytes(300_000);
  const written = await repo.writeStream(pieces(data, 10_000), {
    split: "bytes",
    chunking: { maxSize: 65536 },
  });
  assert.deepEqual(written.blobs.map((b) => b.size), [65536, 65536, 65536, 65536, 37856]);
  assert.ok(written.blobs.every((b) => b.storedSize > b.size)); // Random: stored as is.
  const back = new Uint8Array(await new Response(repo.readStream(written.blobs)).arrayBuffer());
  assert.deepEqual(back, data);
});

Deno.test("an empty stream writes no blobs and reads back empty", async () => {
  const target = new MemoryTarget();
  const repo = new Repository(target);
  const written = await repo.writeStream(pieces(new Uint8Array(0), 1), { split: "rows" });
  assert.deepEqual(written.blobs, []);
  assert.equal(written.sha256, sha(new Uint8Array(0)));
  assert.equal(target.counts.save, 0);
  const back = await new Response(repo.readStream([])).arrayBuffer();
  assert.equal(back.byteLength, 0);
});

Deno.test("the read stream can be cancelled part way", async () => {
  const repo = new Repository(new MemoryTarget(), { compression: "zstd" });
  const written = await repo.writeStream(pieces(bytes(rows(20000)), 4096), {
    split: "rows",
    chunking: TINY,
  });
  const reader = repo.readStream(written.blobs).getReader();
  await reader.read();
  await reader.cancel();
});

Deno.test("writing keeps a bounded number of chunks in memory", async () => {
  const target = new MemoryTarget();
  const original = target.save.bind(target);
  let saved = 0;
  target.save = async (key, body, options) => {
    await new Promise((resolve) => setTimeout(resolve, 2)); // A slow store.
    const result = await original(key, body, options);
    saved += options?.size === undefined ? 0 : 1;
    return result;
  };
  const chunking = { minSize: 8 * 1024, avgSize: 16 * 1024, maxSize: 32 * 1024 };
  const data = randomBytes(4 * 1024 * 1024);
  let pulled = 0;
  let worst = 0;
  const concurrency = 3;
  const source = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled >= data.length) return controller.close();
      controller.enqueue(data.subarray(pulled, pulled + 4096));
      pulled += 4096;
      // Bytes read from the source but not yet stored.
      worst = Math.max(worst, pulled - saved * chunking.maxSize);
    },
  }, { highWaterMark: 0 });
  const repo = new Repository(target, { compression: "none" });
  const written = await repo.writeStream(source, { split: "bytes", chunking, concurrency });
  assert.equal(written.size, data.length);
  assert.ok(
    worst <= (concurrency + 2) * chunking.maxSize,
    `${worst} bytes ahead of storage, limit ${(concurrency + 2) * chunking.maxSize}`,
  );
});

Deno.test("manifests are saved, listed in order, loaded and removed", async () => {
  const target = new MemoryTarget();
  const repo = new Repository(target);
  const blobs: BlobRef[] = [{ id: "a".repeat(64), size: 1, storedSize: 2 }];
  for (const id of ["2026-11-25T10:00:00Z", "2026-11-24T10:00:00Z", "2026-11-26T10:00:00Z"]) {
    const saved = await repo.saveManifest("database", id, { id, blobs });
    assert.equal(saved.key, `manifests/database/${id}.json`);
  }
  await repo.saveManifest("storage", "s1", {});
  assert.deepEqual(await repo.listManifests("database"), [
    "2026-11-24T10:00:00Z",
    "2026-11-25T10:00:00Z",
    "2026-11-26T10:00:00Z",
  ]);
  assert.deepEqual(await repo.listManifests("storage"), ["s1"]);
  assert.deepEqual(await repo.listManifests("other"), []);
  assert.deepEqual(await repo.loadManifest("database", "2026-11-25T10:00:00Z"), {
    id: "2026-11-25T10:00:00Z",
    blobs,
  });
  await repo.removeManifest("database", "2026-11-25T10:00:00Z");
  await repo.removeManifest("database", "2026-11-25T10:00:00Z");
  assert.equal((await repo.listManifests("database")).length, 2);
});

Deno.test("blobs are listed and removed", async () => {
  const repo = new Repository(new MemoryTarget());
  const a = await repo.putBlob(bytes("a\n"));
  const b = await repo.putBlob(bytes("b\n"));
  await repo.saveManifest("database", "x", {});
  const ids: string[] = [];
  for await (const id of repo.listBlobs()) ids.push(id);
  assert.deepEqual(ids.sort(), [a.id, b.id].sort());
  await repo.removeBlob(a.id);
  const objects = [];
  for await (const object of repo.listBlobObjects()) objects.push(object);
  assert.deepEqual(objects.map((o) => o.id), [b.id]);
  assert.equal(objects[0].storedSize, b.storedSize);
  assert.ok(objects[0].lastModified instanceof Date);
});
