/**
 * The one contract suite of `StorageTarget` (`shared/targets/target.ts`), importable so that
 * every implementation runs it (`tests/integration/targets/contract_test.ts`): the file and S3
 * targets and the in-memory test double (`tests/support/memory_target.ts`). Failure cases first:
 * missing objects, short, long and corrupt writes, a source failing midway, cancellation, a
 * failed save over an existing object, bad keys; then complete listings across pages, exact
 * ranges, a large streamed round trip and idempotent removes.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash, randomFillSync } from "node:crypto";
import type { ObjectInfo, StorageTarget } from "../../shared/targets/target.ts";
import { IntegrityError, NotFoundError, TargetError } from "../../shared/util/errors.ts";

/** One mebibyte. */
export const MIB = 1024 * 1024;
const encoder = new TextEncoder();

/** What the contract suite needs from one implementation. */
export interface Subject {
  target: StorageTarget;
  /** Ids of multipart uploads started and neither completed nor aborted (S3 only). */
  openUploads?: () => Promise<string[]>;
  /** Names of temporary files left in the target's directories (file only). */
  leftovers?: () => Promise<string[]>;
  /** Checks specific to the implementation, run after the shared ones. */
  extra?: (t: Deno.TestContext, target: StorageTarget) => Promise<void>;
  dispose(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// helpers

/** The UTF-8 bytes of a text. */
export function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/** SHA-256 of bytes, lowercase hex. */
export function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** A stream of the given chunks. */
export function streamOf(...chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return ReadableStream.from(chunks);
}

/** A generated stream of `size` pseudo-random bytes, hashed as it is produced. */
export function generated(
  size: number,
  options: { failAfter?: number; chunk?: number; delayMs?: number } = {},
) {
  const hash = createHash("sha256");
  const chunkSize = options.chunk ?? 64 * 1024;
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (options.failAfter !== undefined && sent >= options.failAfter) {
        controller.error(new Error("Source failed midway"));
        return;
      }
      if (sent >= size) {
        controller.close();
        return;
      }
      if (options.delayMs) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
      const chunk = randomFillSync(new Uint8Array(Math.min(chunkSize, size - sent)));
      hash.update(chunk);
      sent += chunk.byteLength;
      controller.enqueue(chunk);
    },
  }, { highWaterMark: 0 });
  return { stream, sha256: () => hash.digest("hex"), sent: () => sent };
}

/** A whole stream, read into one buffer. */
export async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** An object's content as text. */
export async function text(target: StorageTarget, key: string): Promise<string> {
  return new TextDecoder().decode(await readAll(await target.load(key)));
}

/** Fails unless the target holds nothing under `key`. */
export async function assertMissing(target: StorageTarget, key: string): Promise<void> {
  await assert.rejects(target.stat(key), NotFoundError);
}

/** Every item of a listing. */
export async function collect(iterable: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const all: ObjectInfo[] = [];
  for await (const info of iterable) all.push(info);
  return all;
}

async function inParallel<T>(items: T[], limit: number, work: (item: T) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// the contract

/**
 * Registers the contract suite (one `Deno.test` of steps, failure cases first) for the target
 * `open` makes; each run gets a fresh subject, disposed of at the end.
 */
export function targetContract(name: string, open: () => Promise<Subject>): void {
  Deno.test({
    name: `${name} honours the storage target contract`,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn(t) {
      const subject = await open();
      const { target } = subject;
      const noOpenUploads = async () => {
        if (subject.openUploads) assert.deepEqual(await subject.openUploads(), []);
        if (subject.leftovers) assert.deepEqual(await subject.leftovers(), []);
      };
      try {
        await t.step("loading or stating a missing key rejects with NotFoundError", async () => {
          await assert.rejects(target.load("missing/object"), NotFoundError);
          await assert.rejects(
            target.load("missing/object", { offset: 3, length: 2 }),
            NotFoundError,
          );
          await assert.rejects(target.stat("missing/object"), NotFoundError);
          await assert.rejects(target.stat("missing"), NotFoundError);
        });

        await t.step("a short write is rejected and nothing is kept", async () => {
          const body = bytes("0123456789");
          await assert.rejects(
            target.save("short/stream", streamOf(body), { size: 11 }),
            IntegrityError,
          );
          await assertMissing(target, "short/stream");
          await assert.rejects(target.save("short/bytes", body, { size: 11 }), IntegrityError);
          await assertMissing(target, "short/bytes");
          await noOpenUploads();
        });

        await t.step("a write longer than declared is rejected and nothing is kept", async () => {
          const body = bytes("0123456789");
          await assert.rejects(
            target.save("long/stream", streamOf(body, body), { size: 15 }),
            IntegrityError,
          );
          await assertMissing(target, "long/stream");
        });

        await t.step("a corrupt write is rejected and nothing is kept", async () => {
          const body = bytes("corrupted on the way");
          const wrong = sha256(bytes("what was meant"));
          await assert.rejects(
            target.save("corrupt/stream", streamOf(body), { sha256: wrong }),
            IntegrityError,
          );
          await assertMissing(target, "corrupt/stream");
          await assert.rejects(
            target.save("corrupt/bytes", body, { sha256: wrong }),
            IntegrityError,
          );
          await assertMissing(target, "corrupt/bytes");
          await noOpenUploads();
        });

        await t.step(
          "a stream that errors midway keeps nothing and leaves no upload open",
          async () => {
            const source = generated(30 * MIB, { failAfter: 20 * MIB, chunk: MIB });
            await assert.rejects(
              target.save("broken/stream", source.stream),
              /Source failed midway/,
            );
            await assertMissing(target, "broken/stream");
            await noOpenUploads();
          },
        );

        await t.step("cancelling through an AbortSignal keeps nothing", async () => {
          const already = AbortSignal.abort();
          await assert.rejects(
            target.save("cancelled/early", bytes("x"), { signal: already }),
            { name: "AbortError" },
          );
          await assertMissing(target, "cancelled/early");

          const controller = new AbortController();
          const source = generated(64 * MIB, { chunk: MIB, delayMs: 5 });
          const saving = target.save("cancelled/midway", source.stream, {
            signal: controller.signal,
          });
          while (source.sent() < 18 * MIB) await new Promise((r) => setTimeout(r, 10));
          controller.abort();
          await assert.rejects(saving, { name: "AbortError" });
          await assertMissing(target, "cancelled/midway");
          await noOpenUploads();
        });

        await t.step("a failed save leaves the previous object untouched", async () => {
          const key = "kept/object";
          await target.save(key, bytes("version one"));
          const next = bytes("version two");
          await assert.rejects(target.save(key, streamOf(next), { size: 3 }), IntegrityError);
          await assert.rejects(
            target.save(key, next, { sha256: sha256(bytes("x")) }),
            IntegrityError,
          );
          await assert.rejects(
            target.save(key, generated(12 * MIB, { failAfter: 10 * MIB, chunk: MIB }).stream),
            /Source failed midway/,
          );
          const controller = new AbortController();
          const saving = target.save(key, generated(4 * MIB, { delayMs: 5 }).stream, {
            signal: controller.signal,
          });
          setTimeout(() => controller.abort(), 30);
          await assert.rejects(saving, { name: "AbortError" });
          assert.equal(await text(target, key), "version one");
          await noOpenUploads();
        });

        await t.step("keys that are not relative slash-separated paths are refused", async () => {
          for (const key of ["", "/abs", "a//b", "a/../b", "./a", "a/", "a\\b"]) {
            await assert.rejects(target.save(key, bytes("x")), TargetError, `key ${key}`);
          }
          await assert.rejects(collect(target.list("../")), TargetError);
        });

        await t.step("a save reports the size and SHA-256 of what it stored", async () => {
          const body = bytes("hello, storage");
          const saved = await target.save("meta/hello.txt", body, {
            size: body.byteLength,
            sha256: sha256(body),
          });
          assert.deepEqual(saved, {
            key: "meta/hello.txt",
            size: body.byteLength,
            sha256: sha256(body),
          });
          const info = await target.stat("meta/hello.txt");
          assert.equal(info.key, "meta/hello.txt");
          assert.equal(info.size, body.byteLength);
          const fromStream = await target.save("meta/streamed.txt", streamOf(body, body));
          assert.equal(fromStream.size, 2 * body.byteLength);
          assert.equal(fromStream.sha256, sha256(bytes("hello, storagehello, storage")));
          const empty = await target.save("meta/empty", new Uint8Array(0), { size: 0 });
          assert.equal(empty.size, 0);
          assert.equal((await readAll(await target.load("meta/empty"))).byteLength, 0);
        });

        await t.step("a save replaces the previous object", async () => {
          await target.save("replace/me", bytes("old"));
          await target.save("replace/me", streamOf(bytes("new and longer")));
          assert.equal(await text(target, "replace/me"), "new and longer");
        });

        await t.step("a listing is complete across pages", async () => {
          const keys = Array.from({ length: 1100 }, (_, i) => `list/${String(i % 7)}/k${i}`);
          await inParallel(keys, 32, (key) => target.save(key, bytes(key)));
          await target.save("listx/outside", bytes("x"));
          const listed = await collect(target.list("list/"));
          assert.equal(listed.length, 1100);
          assert.deepEqual(listed.map((i) => i.key).sort(), [...keys].sort());
          const one = listed.find((i) => i.key === "list/3/k10")!;
          assert.equal(one.size, "list/3/k10".length);
          assert.equal(
            (await collect(target.list("list/3/"))).length,
            keys.filter((k) => k.startsWith("list/3/")).length,
          );
          const partial = (await collect(target.list("list/3/k10"))).map((i) => i.key).sort();
          assert.deepEqual(partial, keys.filter((k) => k.startsWith("list/3/k10")).sort());
          assert.deepEqual(await collect(target.list("nothing/here/")), []);
          const everything = await collect(target.list(""));
          assert.ok(everything.some((i) => i.key === "listx/outside"));
          assert.ok(everything.length >= 1101);
        });

        await t.step("ranges return exactly the bytes asked for", async () => {
          const body = bytes("0123456789abcdef");
          await target.save("range/object", body);
          const range = async (offset?: number, length?: number) =>
            new TextDecoder().decode(
              await readAll(await target.load("range/object", { offset, length })),
            );
          assert.equal(await range(), "0123456789abcdef");
          assert.equal(await range(10), "abcdef");
          assert.equal(await range(3, 4), "3456");
          assert.equal(await range(0, 1), "0");
          assert.equal(await range(15, 1), "f");
          assert.equal(await range(12, 100), "cdef");
          assert.equal(await range(16), "");
          assert.equal(await range(99, 5), "");
          assert.equal(await range(4, 0), "");
          await assert.rejects(target.load("range/object", { offset: -1 }), TargetError);
          await assert.rejects(target.load("range/object", { length: 1.5 }), TargetError);
        });

        await t.step("a large streamed save round-trips with its SHA-256", async () => {
          const size = 40 * MIB + 12345;
          const source = generated(size, { chunk: 256 * 1024 });
          const saved = await target.save("large/object", source.stream, { size });
          assert.equal(saved.size, size);
          assert.equal(saved.sha256, source.sha256());
          assert.equal((await target.stat("large/object")).size, size);
          const hash = createHash("sha256");
          let read = 0;
          for await (const chunk of await target.load("large/object")) {
            hash.update(chunk);
            read += chunk.byteLength;
          }
          assert.equal(read, size);
          assert.equal(hash.digest("hex"), saved.sha256);
          const tail = await readAll(await target.load("large/object", { offset: size - 10 }));
          assert.equal(tail.byteLength, 10);
          const cancelled = await target.load("large/object");
          await cancelled.cancel();
          await noOpenUploads();
        });

        await t.step("remove is idempotent", async () => {
          await target.save("gone/soon", bytes("x"));
          await target.remove("gone/soon");
          await assertMissing(target, "gone/soon");
          await target.remove("gone/soon");
          await target.remove("never/was");
        });

        await subject.extra?.(t, target);
      } finally {
        await target.close();
        await subject.dispose();
      }
    },
  });
}
