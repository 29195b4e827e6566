import assert from "node:assert/strict";
import {
  compress,
  decodeBlob,
  decompress,
  defaultCompression,
  encodeBlob,
  isCompressionAvailable,
  KeyError,
  Keyring,
  readBlobHeader,
} from "../../../shared/codec/mod.ts";
import { IntegrityError } from "../../../shared/util/errors.ts";

const KEY_A = btoa(String.fromCharCode(...new Uint8Array(32).fill(7)));
const KEY_B = btoa(String.fromCharCode(...new Uint8Array(32).fill(9)));
const CODECS = ["zstd", "gzip", "none"] as const;

function text(size: number, seed = 1): Uint8Array {
  let line = "";
  let out = "";
  let n = seed;
  while (out.length < size) {
    n = (Math.imul(n, 1103515245) + 12345) >>> 0;
    line = `${n}\tcustomer ${n % 977}\t${n % 10000}.${n % 100}\t2024-01-0${n % 9 + 1}\n`;
    out += line;
  }
  return new TextEncoder().encode(out.slice(0, size));
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

// ---- Keyring: failures first -----------------------------------------------------------

Deno.test("a keyring entry without an id is rejected by position", async () => {
  const error = await rejectsWith(() => Keyring.parse(`k1:${KEY_A},${KEY_B}`), KeyError, /entry 2/);
  assert.ok(!error.message.includes(KEY_B));
});

Deno.test("a key of the wrong length is rejected naming its id, not its material", async () => {
  const short = btoa("0123456789abcdef");
  const error = await rejectsWith(
    () => Keyring.parse(`k1:${KEY_A},k2:${short}`),
    KeyError,
    /entry 2 \("k2"\).*32-byte/,
  );
  assert.ok(!error.message.includes(short));
  assert.ok(!error.message.includes(KEY_A));
});

Deno.test("a key that is not base64 is rejected without echoing it", async () => {
  const error = await rejectsWith(() => Keyring.parse("k1:not*base64!"), KeyError, /entry 1/);
  assert.ok(!error.message.includes("not*base64"));
});

Deno.test("an empty keyring string, a bad id and a duplicate id are rejected", async () => {
  await rejectsWith(() => Keyring.parse(""), KeyError);
  await rejectsWith(() => Keyring.parse(`bad id:${KEY_A}`), KeyError, /invalid id/);
  await rejectsWith(() => Keyring.parse(`k1:${KEY_A},k1:${KEY_B}`), KeyError, /twice/);
});

Deno.test("a keyring never prints its keys", async () => {
  const ring = await Keyring.parse(` k1:${KEY_A} , k2:${KEY_B} `);
  assert.deepEqual(ring.ids, ["k1", "k2"]);
  assert.equal(ring.active.id, "k1");
  for (const shown of [String(ring), JSON.stringify(ring), Deno.inspect(ring)]) {
    assert.ok(!shown.includes(KEY_A) && !shown.includes(KEY_B), shown);
  }
});

Deno.test("URL-safe base64 keys without padding are accepted", async () => {
  const raw = new Uint8Array(32).map((_, i) => 250 - i);
  const b64url = btoa(String.fromCharCode(...raw)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
  const ring = await Keyring.parse(`k:${b64url}`);
  assert.equal(ring.active.id, "k");
});

// ---- Blob format: failures first -------------------------------------------------------

Deno.test("a blob read with the wrong key material fails authentication", async () => {
  const written = await Keyring.parse(`k1:${KEY_A}`);
  const other = await Keyring.parse(`k1:${KEY_B}`);
  const blob = await encodeBlob(text(5000), { compression: "zstd", keyring: written });
  await rejectsWith(() => decodeBlob(blob, other), IntegrityError, /failed authentication/);
});

Deno.test("a blob encrypted with a key id that is not configured names the key", async () => {
  const written = await Keyring.parse(`k2:${KEY_A}`);
  const other = await Keyring.parse(`k1:${KEY_B}`);
  const blob = await encodeBlob(text(100), { compression: "gzip", keyring: written });
  await rejectsWith(
    () => decodeBlob(blob, { keyring: other, label: "abc" }),
    KeyError,
    /^Blob abc is encrypted with key "k2" which is not configured$/,
  );
  await rejectsWith(() => decodeBlob(blob), KeyError, /no encryption keys are configured/);
});

Deno.test("every flipped byte of an encrypted blob is detected", async () => {
  const ring = await Keyring.parse(`k1:${KEY_A}`);
  const plain = text(300);
  for (const compression of CODECS) {
    const blob = await encodeBlob(plain, { compression, keyring: ring });
    for (let i = 0; i < blob.length; i++) {
      const bad = blob.slice();
      bad[i] ^= 0x20;
      let error: unknown;
      try {
        await decodeBlob(bad, ring);
      } catch (caught) {
        error = caught;
      }
      assert.ok(
        error instanceof IntegrityError || error instanceof KeyError,
        `${compression}: flip at ${i} of ${blob.length} went unnoticed`,
      );
    }
  }
});

Deno.test("no flipped byte of a compressed plaintext blob yields different data", async () => {
  // Without encryption a few codec header bits (zstd window, gzip mtime) do not change the
  // output; everything else must be detected. The repository re-hashes against the id anyway.
  const plain = text(8000);
  for (const compression of ["zstd", "gzip"] as const) {
    const blob = await encodeBlob(plain, { compression });
    let detected = 0;
    for (let at = 0; at < blob.length; at++) {
      const bad = blob.slice();
      bad[at] ^= 0x01;
      try {
        assert.deepEqual(await decodeBlob(bad), plain, `${compression}: flip at ${at}`);
      } catch (error) {
        if (error instanceof assert.AssertionError) throw error;
        assert.ok(error instanceof IntegrityError, `${compression}: ${error}`);
        detected++;
      }
    }
    assert.ok(detected > blob.length - 16, `${compression}: ${detected} of ${blob.length}`);
  }
});

Deno.test("a truncated blob is detected, encrypted or not", async () => {
  const ring = await Keyring.parse(`k1:${KEY_A}`);
  for (const compression of CODECS) {
    for (const keyring of [undefined, ring]) {
      const blob = await encodeBlob(text(4000), { compression, keyring });
      for (const cut of [1, 4, 17, blob.length - 10]) {
        await rejectsWith(
          () => decodeBlob(blob.subarray(0, blob.length - cut), ring),
          IntegrityError,
        );
      }
      const longer = new Uint8Array(blob.length + 3);
      longer.set(blob);
      await rejectsWith(() => decodeBlob(longer, ring), IntegrityError, /too long/);
    }
  }
});

Deno.test("an unknown compression id in the header is reported as corrupt", async () => {
  const blob = await encodeBlob(text(100), { compression: "none" });
  blob[5] = 9;
  await rejectsWith(() => decodeBlob(blob), IntegrityError, /unknown compression \(id 9\)/);
});

Deno.test("bad magic, unknown version and unknown flags are reported as corrupt", async () => {
  const blob = await encodeBlob(text(100), { compression: "none" });
  const magic = blob.slice();
  magic[0] = 0x58;
  await rejectsWith(() => decodeBlob(magic), IntegrityError, /not in the Sauvegarde blob format/);
  const version = blob.slice();
  version[4] = 2;
  await rejectsWith(() => decodeBlob(version), IntegrityError, /unsupported format version 2/);
  const flags = blob.slice();
  flags[6] = 4;
  await rejectsWith(() => decodeBlob(flags), IntegrityError, /unknown flags/);
  await rejectsWith(() => decodeBlob(new Uint8Array(0)), IntegrityError);
});

Deno.test("a header claiming a different plaintext size is rejected", async () => {
  const blob = await encodeBlob(text(1000), { compression: "zstd" });
  const header = readBlobHeader(blob);
  const view = new DataView(blob.buffer, header.headerSize - 16, 16);
  view.setBigUint64(0, BigInt(header.plainSize - 1));
  await rejectsWith(() => decodeBlob(blob), IntegrityError);
});

Deno.test("a blob claiming more content than the limit is refused before decompressing", async () => {
  const blob = await encodeBlob(new Uint8Array(100_000), { compression: "zstd" });
  await rejectsWith(
    () => decodeBlob(blob, { maxSize: 50_000, label: "b1" }),
    IntegrityError,
    /^Blob b1 claims 100000 bytes of content, more than the limit of 50000$/,
  );
});

// ---- Blob format: round trips ----------------------------------------------------------

Deno.test("blobs round-trip with every codec, with and without encryption", async () => {
  const ring = await Keyring.parse(`k1:${KEY_A}`);
  for (const plain of [new Uint8Array(0), text(1), text(100_000)]) {
    for (const compression of CODECS) {
      for (const keyring of [undefined, ring]) {
        const blob = await encodeBlob(plain, { compression, keyring });
        const header = readBlobHeader(blob);
        assert.equal(header.keyId, keyring ? "k1" : undefined);
        assert.equal(header.plainSize, plain.length);
        // A keyring reads a plain blob only when told to (anyone can write one).
        assert.deepEqual(await decodeBlob(blob, { keyring: ring, acceptPlaintext: true }), plain);
      }
    }
  }
});

Deno.test("encoding and decoding free only their own buffers: the caller's bytes stay whole", async () => {
  const ring = await Keyring.parse(`k1:${KEY_A}`);
  const random = crypto.getRandomValues(new Uint8Array(50_000)); // stored uncompressed
  for (const plain of [text(100_000), random]) {
    for (const compression of CODECS) {
      const kept = plain.slice();
      const blob = await encodeBlob(plain, { compression, keyring: ring });
      assert.deepEqual(plain, kept, `${compression}: the plaintext given to encode is intact`);
      const stored = blob.slice();
      const decoded = await decodeBlob(blob, ring);
      assert.deepEqual(decoded, kept);
      assert.deepEqual(blob, stored, `${compression}: the stored bytes given to decode are intact`);
    }
  }
});

Deno.test("encrypting the same plaintext twice gives different blobs", async () => {
  const ring = await Keyring.parse(`k1:${KEY_A}`);
  const plain = text(1000);
  const a = await encodeBlob(plain, { compression: "zstd", keyring: ring });
  const b = await encodeBlob(plain, { compression: "zstd", keyring: ring });
  assert.notDeepEqual(a, b);
});

Deno.test("incompressible data is stored uncompressed", async () => {
  const random = crypto.getRandomValues(new Uint8Array(50_000));
  const blob = await encodeBlob(random, { compression: "zstd" });
  assert.equal(readBlobHeader(blob).compression, "none");
  assert.deepEqual(await decodeBlob(blob), random);
});

Deno.test("compressible text is stored compressed", async () => {
  const blob = await encodeBlob(text(100_000), { compression: "gzip" });
  assert.equal(readBlobHeader(blob).compression, "gzip");
  assert.ok(blob.length < 50_000);
});

Deno.test("after key rotation, new blobs use the new key and old blobs still decode", async () => {
  const before = await Keyring.parse(`k1:${KEY_A}`);
  const after = await Keyring.parse(`k2:${KEY_B},k1:${KEY_A}`);
  const old = await encodeBlob(text(500), { compression: "zstd", keyring: before });
  const fresh = await encodeBlob(text(500), { compression: "zstd", keyring: after });
  assert.equal(readBlobHeader(fresh).keyId, "k2");
  assert.deepEqual(await decodeBlob(old, after), text(500));
  assert.deepEqual(await decodeBlob(fresh, after), text(500));
  await rejectsWith(() => decodeBlob(fresh, before), KeyError, /"k2"/);
});

Deno.test("a generated keyring round-trips through its configuration string", async () => {
  const { keyring, text: config } = await Keyring.generate("main");
  const parsed = await Keyring.parse(config);
  const blob = await encodeBlob(text(64), { compression: "none", keyring });
  assert.deepEqual(await decodeBlob(blob, parsed), text(64));
});

// ---- Compression -----------------------------------------------------------------------

Deno.test("decompression refuses output larger than expected", async () => {
  const big = await compress(new Uint8Array(1_000_000), "zstd");
  await rejectsWith(() => decompress(big, "zstd", { expectedSize: 1000 }), IntegrityError);
  const gz = await compress(new Uint8Array(1_000_000), "gzip");
  await rejectsWith(() => decompress(gz, "gzip", { expectedSize: 1000 }), IntegrityError);
});

Deno.test("zstd is detected here and is the default", () => {
  assert.equal(isCompressionAvailable("zstd"), true);
  assert.equal(defaultCompression(), "zstd");
  assert.equal(isCompressionAvailable("gzip"), true);
});

Deno.test("compression round-trips one chunk with every codec", async () => {
  const plain = text(200_000);
  for (const codec of CODECS) {
    const packed = await compress(plain, codec);
    assert.deepEqual(await decompress(packed, codec, { expectedSize: plain.length }), plain);
  }
});

Deno.test("a flipped byte anywhere in a large zstd blob is caught, its last bytes included", async () => {
  const rows = Array.from({ length: 20_000 }, (_, i) => `${i}\tname ${i}\t${i * 7}\n`).join("");
  const plain = new TextEncoder().encode(rows);
  const stored = await encodeBlob(plain, { compression: "zstd" });
  const positions = [
    ...Array.from({ length: 32 }, (_, k) => stored.length - 1 - k),
    ...Array.from({ length: 50 }, (_, k) => Math.floor((stored.length * k) / 50)),
  ];
  for (const position of positions) {
    const copy = stored.slice();
    copy[position] ^= 0x01;
    await assert.rejects(
      decodeBlob(copy),
      `a flip at byte ${position} of ${stored.length} went unnoticed`,
    );
  }
});
