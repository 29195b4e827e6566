/**
 * What a repository trusts, tried as someone who can write to the target but holds no key: a
 * plain manifest or blob planted beside sealed ones, a sealed manifest renamed or swapped under
 * another id, and stored blobs damaged after they were written (truncated, padded, flipped),
 * which a later backup must store again rather than reference.
 */
import assert from "node:assert/strict";
import { decodeBlob, encodeBlob, Keyring } from "../../../shared/codec/mod.ts";
import {
  blobKey,
  isAuthenticated,
  manifestKey,
  Repository,
  requireAuthenticated,
  UnauthenticatedBackupError,
} from "../../../shared/repository/mod.ts";
import { sha256Hex } from "../../../shared/repository/digest.ts";
import { IntegrityError } from "../../../shared/util/errors.ts";
import { MemoryTarget } from "../../support/memory_target.ts";

const text = (value: string) => new TextEncoder().encode(value);

async function keyed(options: { acceptUnauthenticated?: boolean } = {}) {
  const { keyring } = await Keyring.generate("k1");
  const target = new MemoryTarget();
  const repository = new Repository(target, { compression: "zstd", keyring, ...options });
  return { keyring, target, repository };
}

function plant(target: MemoryTarget, key: string, bytes: Uint8Array) {
  target.objects.set(key, { bytes, lastModified: new Date() });
}

function stored(target: MemoryTarget, key: string): Uint8Array {
  const object = target.objects.get(key);
  assert.ok(object, `${key} is stored`);
  return object.bytes;
}

Deno.test("with keys set, a plain JSON manifest planted on the target is refused with a clear error", async () => {
  const { target, repository } = await keyed();
  plant(target, manifestKey("database", "20261207T100000Z-forged"), text('{"forged":true}'));
  await assert.rejects(
    repository.loadManifest("database", "20261207T100000Z-forged"),
    (error: Error) =>
      error instanceof IntegrityError &&
      /Manifest database\/20261207T100000Z-forged is plain JSON, not sealed, but encryption keys are configured/
        .test(error.message) &&
      /SAUVEGARDE_ACCEPT_UNAUTHENTICATED/.test(error.message),
  );
});

Deno.test("a sealed manifest opens authenticated under its own name and is refused under any other", async () => {
  const { target, repository } = await keyed();
  await repository.saveManifest("database", "20261207T100000Z-aaaaaa", { n: 1 });
  const opened = await repository.openManifest("database", "20261207T100000Z-aaaaaa");
  assert.deepEqual(opened, { value: { n: 1 }, authenticated: true });
  assert.ok(isAuthenticated(await repository.loadManifest("database", "20261207T100000Z-aaaaaa")));

  // Renamed to look newer, or copied over another backup's manifest: authentication fails.
  const bytes = stored(target, manifestKey("database", "20261207T100000Z-aaaaaa"));
  plant(target, manifestKey("database", "20991231T000000Z-zzzzzz"), bytes);
  await assert.rejects(
    repository.loadManifest("database", "20991231T000000Z-zzzzzz"),
    (error: Error) =>
      error instanceof IntegrityError && /20991231T000000Z-zzzzzz/.test(error.message),
  );
  plant(target, manifestKey("storage", "20261207T100000Z-aaaaaa"), bytes);
  await assert.rejects(
    repository.loadManifest("storage", "20261207T100000Z-aaaaaa"),
    IntegrityError,
  );
});

Deno.test("a manifest sealed without its name bound (before binding existed) is refused unless opted in, then unauthenticated", async () => {
  const { keyring, target, repository } = await keyed();
  const unbound = await encodeBlob(text('{"old":true}\n'), { compression: "zstd", keyring });
  plant(target, manifestKey("database", "20261101T000000Z-oldold"), unbound);
  await assert.rejects(
    repository.loadManifest("database", "20261101T000000Z-oldold"),
    /sealed without being bound to its name/,
  );
  const lenient = new Repository(target, { keyring, acceptUnauthenticated: true });
  const opened = await lenient.openManifest("database", "20261101T000000Z-oldold");
  assert.deepEqual(opened, { value: { old: true }, authenticated: false });
});

Deno.test("the opt-in reads plain manifests and blobs stored before keys were set, as unauthenticated", async () => {
  const target = new MemoryTarget();
  const before = new Repository(target, { compression: "zstd" });
  await before.saveManifest("database", "20261101T000000Z-before", { plain: true });
  const blob = await before.putBlob(text("rows stored before keys were set"));

  const { keyring } = await Keyring.generate("k1");
  const strict = new Repository(target, { keyring });
  await assert.rejects(strict.loadManifest("database", "20261101T000000Z-before"), /not sealed/);
  await assert.rejects(
    strict.loadBlob(blob.id),
    /is not encrypted, but encryption keys are configured/,
  );

  const lenient = new Repository(target, { keyring, acceptUnauthenticated: true });
  const opened = await lenient.openManifest("database", "20261101T000000Z-before");
  assert.deepEqual(opened, { value: { plain: true }, authenticated: false });
  assert.equal(
    new TextDecoder().decode(await lenient.loadBlob(blob.id)),
    "rows stored before keys were set",
  );
  // Without keys nothing is authenticated, whatever the manifest.
  assert.equal(
    (await before.openManifest("database", "20261101T000000Z-before")).authenticated,
    false,
  );
});

Deno.test("decodeBlob refuses an unencrypted blob when a keyring is given, unless told to accept plaintext", async () => {
  const { keyring } = await Keyring.generate("k1");
  const plain = await encodeBlob(text("planted"), { compression: "zstd" });
  await assert.rejects(
    decodeBlob(plain, { keyring }),
    /is not encrypted, but encryption keys are configured/,
  );
  assert.equal(
    new TextDecoder().decode(await decodeBlob(plain, { keyring, acceptPlaintext: true })),
    "planted",
  );
  // A manifest's seal is not data: it does not open where a blob is expected.
  const context = text("sauvegarde manifest database/x");
  const bound = await encodeBlob(text("{}"), { compression: "zstd", keyring, context });
  await assert.rejects(decodeBlob(bound, { keyring }), /sealed for a manifest/);
  assert.equal(new TextDecoder().decode(await decodeBlob(bound, { keyring, context })), "{}");
  await assert.rejects(decodeBlob(bound, { keyring, context: text("another") }), IntegrityError);
});

Deno.test("an unauthenticated manifest drives a restore only with the operator's consent", async () => {
  const target = new MemoryTarget();
  const repository = new Repository(target, { compression: "zstd" });
  await repository.saveManifest("database", "20261207T100000Z-nokeys", { n: 1 });
  const manifest = await repository.loadManifest("database", "20261207T100000Z-nokeys");
  assert.throws(
    () => requireAuthenticated(manifest, { what: "Database backup 20261207T100000Z-nokeys" }),
    (error: Error) =>
      error instanceof UnauthenticatedBackupError &&
      /^Database backup 20261207T100000Z-nokeys is not authenticated/.test(error.message) &&
      /--allow-unauthenticated/.test(error.message) &&
      /SAUVEGARDE_ENCRYPTION_KEYS/.test(error.message),
  );
  requireAuthenticated(manifest, { what: "it", allowUnauthenticated: true });
});

for (
  const [damage, change] of [
    ["truncated", (bytes: Uint8Array) => bytes.slice(0, bytes.length - 7)],
    ["padded", (bytes: Uint8Array) => new Uint8Array([...bytes, 1, 2, 3])],
    ["cut to its header", (bytes: Uint8Array) => bytes.slice(0, 20)],
  ] as const
) {
  Deno.test(`a stored blob found ${damage} is stored again by the next write, not reused`, async () => {
    const { target, repository } = await keyed();
    const content = text("x".repeat(50_000) + damage);
    const first = await repository.putBlob(content);
    const key = blobKey(first.id);
    const good = stored(target, key);
    plant(target, key, change(good));

    const again = await repository.putBlob(content);
    assert.equal(again.reused, false, "the damaged copy is not referenced");
    assert.equal(again.storedSize, stored(target, key).length);
    assert.equal(
      new TextDecoder().decode(await repository.loadBlob(first.id)),
      new TextDecoder().decode(content),
    );
    // Undamaged, the next write references it.
    assert.equal((await repository.putBlob(content)).reused, true);
  });
}

Deno.test("with keys set, a plain blob planted under a blob's name is replaced by a sealed one on the next write", async () => {
  const { target, repository } = await keyed();
  const content = text("customer rows");
  const plain = await encodeBlob(content, { compression: "zstd" });
  const id = await sha256Hex(content);
  plant(target, blobKey(id), plain);
  const put = await repository.putBlob(content);
  assert.equal(put.reused, false);
  assert.equal(new TextDecoder().decode(await repository.loadBlob(id)), "customer rows");
});

Deno.test("a blob verification marked damaged is stored again by the next write and the mark cleared", async () => {
  const { keyring, target, repository } = await keyed();
  const content = text("y".repeat(10_000));
  const first = await repository.putBlob(content);
  const key = blobKey(first.id);
  // A flipped payload byte keeps every size: only reading it back finds it.
  const flipped = stored(target, key).slice();
  flipped[flipped.length - 20] ^= 0xff;
  plant(target, key, flipped);
  assert.equal((await repository.putBlob(content)).reused, true, "sizes alone cannot tell");
  const check = await repository.verifyBlob(first, { deep: true });
  assert.equal(check.ok, false);
  assert.ok(!check.ok && check.problem === "corrupt");
  await repository.markDamaged(first.id, check);

  // Another process (the next backup) sees the mark, known sizes notwithstanding.
  const next = new Repository(target, { keyring });
  const known = new Map([[first.id, first.storedSize]]);
  const healed = await next.putBlob(content, { known });
  assert.equal(healed.reused, false);
  assert.equal((await next.verifyBlob(first, { deep: true })).ok, true);
  assert.equal(target.objects.has(`damaged/${first.id}.json`), false, "the mark is cleared");
  assert.equal((await next.damagedBlobs()).size, 0);
});
