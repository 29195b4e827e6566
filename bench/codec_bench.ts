/**
 * Micro benchmark of the codecs and the repository's hot paths.
 *
 * Run: `deno run -A bench/codec_bench.ts [MiB of sample data, default 64]`
 *
 * Prints throughput (MB/s of input, wall clock) and CPU milliseconds per GB of input, measured
 * with `process.cpuUsage()` for the whole process (all threads): where CPU exceeds wall time, the
 * work ran on more than one core. The sample is synthetic COPY text (ids, names, amounts,
 * timestamps, free text) that zstd compresses about as much as a real shop database.
 *
 * @module
 */
import * as zlib from "node:zlib";
import { createHash } from "node:crypto";
import process from "node:process";
import { compress, decodeBlob, encodeBlob, Keyring } from "../shared/codec/mod.ts";
import { Repository, splitRows } from "../shared/repository/mod.ts";
import type { ObjectInfo, SavedObject, StorageTarget } from "../shared/targets/target.ts";
import { NotFoundError } from "../shared/util/errors.ts";

const MIB = 1024 * 1024;
const sampleMiB = Number(Deno.args[0] ?? 64);
const CHUNK = 4 * MIB;

function sample(bytes: number): Uint8Array<ArrayBuffer> {
  const words = [
    "alpha",
    "bravo",
    "delivered",
    "pending",
    "refunded",
    "Paris",
    "Lyon",
    "Berlin",
    "blue",
    "large",
    "customer",
    "order",
    "gift",
    "express",
  ];
  const encoder = new TextEncoder();
  const out = new Uint8Array(bytes);
  let at = 0;
  let n = 42;
  let id = 1;
  const next = () => (n = (Math.imul(n, 1103515245) + 12345) >>> 0);
  while (at < bytes) {
    let line = `${id++}\t${words[next() % 14]} ${words[next() % 14]}\t${next() % 100000}.${
      next() % 100
    }\t2026-${1 + next() % 12}-${1 + next() % 28} ${next() % 24}:${next() % 60}:${
      next() % 60
    }+00\t`;
    const words_ = next() % 12;
    for (let w = 0; w < words_; w++) line += words[next() % 14] + " ";
    line += next() % 3 === 0 ? "\\N\n" : `${(next() % 1e9).toString(36)}\n`;
    const encoded = encoder.encode(line);
    out.set(encoded.subarray(0, bytes - at), at);
    at += encoded.length;
  }
  return out;
}

function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** Accepts and discards everything; nothing is ever found. */
class NullTarget implements StorageTarget {
  readonly kind = "file" as const;
  readonly location = "null:";
  async save(key: string, body: ReadableStream<Uint8Array> | Uint8Array): Promise<SavedObject> {
    let size = 0;
    if (body instanceof Uint8Array) size = body.length;
    else for await (const piece of body) size += piece.length;
    return { key, size, sha256: "" };
  }
  load(key: string): Promise<ReadableStream<Uint8Array>> {
    return Promise.reject(new NotFoundError(key, this.location));
  }
  stat(key: string): Promise<ObjectInfo> {
    return Promise.reject(new NotFoundError(key, this.location));
  }
  async *list(): AsyncIterable<ObjectInfo> {}
  async remove(): Promise<void> {}
  async close(): Promise<void> {}
}

const results: { name: string; mbps: number; cpuPerGb: number; note: string }[] = [];

async function measure(
  name: string,
  bytes: number,
  run: () => Promise<unknown> | unknown,
  note = "",
): Promise<void> {
  await run(); // Warm up (JIT, lazily loaded codecs).
  const cpu0 = cpuMs();
  const t0 = performance.now();
  await run();
  const wall = performance.now() - t0;
  const cpu = cpuMs() - cpu0;
  const row = {
    name,
    mbps: bytes / 1e6 / (wall / 1000),
    cpuPerGb: cpu / (bytes / 1e9),
    note,
  };
  results.push(row);
  console.log(
    `${name.padEnd(44)} ${row.mbps.toFixed(0).padStart(6)} MB/s ${
      row.cpuPerGb.toFixed(0).padStart(6)
    } CPU ms/GB  ${note}`,
  );
}

const data = sample(sampleMiB * MIB);
const chunks: Uint8Array<ArrayBuffer>[] = [];
for (let at = 0; at < data.length; at += CHUNK) chunks.push(data.subarray(at, at + CHUNK));
const rowCount = data.reduce((n, byte) => n + (byte === 10 ? 1 : 0), 0);
console.log(
  `Sample: ${sampleMiB} MiB of COPY-like text, ${rowCount} rows (${
    (data.length / rowCount).toFixed(0)
  } bytes each), ${chunks.length} chunks of 4 MiB; ${navigator.hardwareConcurrency} cores`,
);

async function* pieces(size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
}

// ---- Chunking ----
await measure("splitRows (1/4/8 MiB, 64 KiB pieces)", data.length, async () => {
  let n = 0;
  for await (const chunk of splitRows(pieces(65536))) n += chunk.length;
  if (n !== data.length) throw new Error("Lost bytes");
});

// ---- SHA-256 ----
await measure("sha256 node:crypto one-shot per 4 MiB", data.length, () => {
  for (const c of chunks) createHash("sha256").update(c).digest("hex");
});
await measure("sha256 node:crypto incremental 64 KiB", data.length, () => {
  const h = createHash("sha256");
  for (let at = 0; at < data.length; at += 65536) h.update(data.subarray(at, at + 65536));
  h.digest("hex");
});
await measure("sha256 WebCrypto sequential", data.length, async () => {
  for (const c of chunks) await crypto.subtle.digest("SHA-256", c);
});
await measure("sha256 WebCrypto 4 in flight", data.length, async () => {
  await inFlight(4, (c) => crypto.subtle.digest("SHA-256", c));
});

// ---- Compression ----
const zstdParams = { params: { [zlib.constants.ZSTD_c_compressionLevel]: 1 } };
let zstdOut = 0;
await measure("zstd-1 node:zlib sync", data.length, () => {
  zstdOut = 0;
  for (const c of chunks) zstdOut += zlib.zstdCompressSync(c, zstdParams).length;
}, "");
results.at(-1)!.note = `ratio ${(zstdOut / data.length).toFixed(3)}`;
console.log(`${"".padEnd(44)} (ratio ${(zstdOut / data.length).toFixed(3)})`);
const zstdAsync = (c: Uint8Array) =>
  new Promise((resolve, reject) =>
    zlib.zstdCompress(c, zstdParams, (e, r) => e ? reject(e) : resolve(r))
  );
await measure("zstd-1 node:zlib async, one at a time", data.length, async () => {
  for (const c of chunks) await zstdAsync(c);
});
await measure("zstd-1 node:zlib async, 4 in flight", data.length, async () => {
  await inFlight(4, zstdAsync);
});
await measure("zstd-1 via compress() (codec module)", data.length, async () => {
  for (const c of chunks) await compress(c, "zstd");
});
const packed = chunks.map((c) => zlib.zstdCompressSync(c, zstdParams));
await measure("zstd decompress sync", data.length, () => {
  for (const p of packed) zlib.zstdDecompressSync(p);
});
let gzipOut = 0;
await measure("gzip-1 node:zlib sync", data.length, () => {
  gzipOut = 0;
  for (const c of chunks) gzipOut += zlib.gzipSync(c, { level: 1 }).length;
});
console.log(`${"".padEnd(44)} (ratio ${(gzipOut / data.length).toFixed(3)})`);
const gzipAsync = (c: Uint8Array) =>
  new Promise((resolve, reject) =>
    zlib.gzip(c, { level: 1 }, (e, r) => e ? reject(e) : resolve(r))
  );
await measure("gzip-1 node:zlib async, 4 in flight", data.length, async () => {
  await inFlight(4, gzipAsync);
});
const streamSlice = chunks.slice(0, Math.max(1, Math.floor(chunks.length / 8)));
await measure(
  "gzip CompressionStream (default level)",
  streamSlice.reduce((n, c) => n + c.length, 0),
  async () => {
    for (const c of streamSlice) {
      const body = new Blob([c as Uint8Array<ArrayBuffer>]).stream();
      await new Response(body.pipeThrough(new CompressionStream("gzip"))).arrayBuffer();
    }
  },
  "(1/8 of the sample)",
);

// ---- Encryption ----
const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, [
  "encrypt",
  "decrypt",
]);
const gcm = (c: Uint8Array) =>
  crypto.subtle.encrypt(
    { name: "AES-GCM", iv: crypto.getRandomValues(new Uint8Array(12)) },
    key,
    c as Uint8Array<ArrayBuffer>,
  );
await measure("AES-256-GCM WebCrypto sequential", data.length, async () => {
  for (const c of chunks) await gcm(c);
});
await measure("AES-256-GCM WebCrypto 4 in flight", data.length, async () => {
  await inFlight(4, gcm);
});

// ---- Blob format and repository ----
const { keyring } = await Keyring.generate("bench");
await measure("encodeBlob zstd+AES, one at a time", data.length, async () => {
  for (const c of chunks) await encodeBlob(c, { compression: "zstd", keyring });
});
const blobs = await Promise.all(
  chunks.map((c) => encodeBlob(c, { compression: "zstd", keyring })),
);
await measure("decodeBlob zstd+AES, one at a time", data.length, async () => {
  for (const b of blobs) await decodeBlob(b, keyring);
});
for (const encrypted of [false, true]) {
  await measure(
    `Repository.writeStream rows zstd${encrypted ? "+AES" : ""}, null target`,
    data.length,
    async () => {
      const repo = new Repository(new NullTarget(), {
        compression: "zstd",
        keyring: encrypted ? keyring : undefined,
      });
      await repo.writeStream(pieces(65536), { split: "rows", concurrency: 4 });
    },
    "split + 2 hashes + zstd (+GCM)",
  );
}

async function inFlight<T>(
  limit: number,
  fn: (c: Uint8Array<ArrayBuffer>) => Promise<T>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < chunks.length) await fn(chunks[next++]);
    }),
  );
}
