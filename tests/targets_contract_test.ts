/**
 * The one contract suite every storage target runs (failure cases first), plus target URL
 * parsing and the wrappers. The S3 target runs against a local S3-protocol server.
 */

import assert from "node:assert/strict";
import { createHash, randomFillSync } from "node:crypto";
import { join } from "node:path";
import { ListMultipartUploadsCommand, S3Client } from "@aws-sdk/client-s3";
import {
  FileTarget,
  IntegrityError,
  isTransientError,
  LimitedTarget,
  NotFoundError,
  type ObjectInfo,
  openTarget,
  parseTargetUrl,
  RetryingTarget,
  S3Target,
  type StorageTarget,
  TargetError,
} from "../shared/targets/mod.ts";
import { startS3Server } from "../stack/s3_server.ts";

const MIB = 1024 * 1024;
const encoder = new TextEncoder();

/** What the contract suite needs from one implementation. */
interface Subject {
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

function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

function streamOf(...chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return ReadableStream.from(chunks);
}

/** A generated stream of `size` pseudo-random bytes, hashed as it is produced. */
function generated(
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

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function text(target: StorageTarget, key: string): Promise<string> {
  return new TextDecoder().decode(await readAll(await target.load(key)));
}

async function assertMissing(target: StorageTarget, key: string): Promise<void> {
  await assert.rejects(target.stat(key), NotFoundError);
}

async function collect(iterable: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
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

function contract(name: string, open: () => Promise<Subject>): void {
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

// ---------------------------------------------------------------------------------------------
// implementations

async function tempFileNames(root: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isDirectory) await walk(join(dir, entry.name));
      else if (/\.tmp-[0-9a-f]{16}$/.test(entry.name)) found.push(entry.name);
    }
  };
  await walk(root).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
  return found;
}

contract("The file target", async () => {
  const root = await Deno.makeTempDir({ prefix: "file-target-" });
  const dir = join(root, "repo");
  return {
    target: new FileTarget(dir),
    leftovers: () => tempFileNames(dir),
    async extra(t, target) {
      await t.step("directories are created 0700 and files 0600", async () => {
        await target.save("modes/deep/object", bytes("secret"));
        assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o700);
        assert.equal((await Deno.stat(join(dir, "modes"))).mode! & 0o777, 0o700);
        assert.equal((await Deno.stat(join(dir, "modes/deep"))).mode! & 0o777, 0o700);
        assert.equal((await Deno.stat(join(dir, "modes/deep/object"))).mode! & 0o777, 0o600);
      });
      await t.step("the location is a file URL of the root", () => {
        assert.equal(target.location, `file://${dir}`);
        assert.equal(target.kind, "file");
      });
    },
    dispose: () => Deno.remove(root, { recursive: true }),
  };
});

contract("The file target behind the retry and concurrency wrappers", async () => {
  const root = await Deno.makeTempDir({ prefix: "file-target-wrapped-" });
  return {
    target: new RetryingTarget(new LimitedTarget(new FileTarget(root), { limit: 4 })),
    leftovers: () => tempFileNames(root),
    dispose: () => Deno.remove(root, { recursive: true }),
  };
});

/** What the fault-injecting `fetch` under the S3 target does and saw. */
interface FetchLog {
  /** Methods of the requests sent, in order. */
  requests: string[];
  /** The next PUTs store their body less its last byte, yet answer success. */
  dropLastByte: boolean;
  /** PUT answers carry this ETag instead of the store's. */
  etag?: string;
}

function faultyFetch(log: FetchLog): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    log.requests.push(request.method);
    if (request.method !== "PUT" || (!log.dropLastByte && log.etag === undefined)) {
      return await fetch(request);
    }
    let body = new Uint8Array(await request.arrayBuffer());
    if (log.dropLastByte) body = body.slice(0, -1);
    const headers = new Headers(request.headers);
    headers.delete("content-md5");
    const answer = await fetch(request.url, { method: "PUT", headers, body });
    if (log.etag === undefined) return answer;
    const replaced = new Headers(answer.headers);
    replaced.set("etag", log.etag);
    return new Response(answer.body, { status: answer.status, headers: replaced });
  };
}

/**
 * The S3 target on the local server: with static credentials (single uploads and heads as
 * signed `fetch` requests), or with only an SDK client (the SDK's credential chain: every
 * request through the SDK).
 */
function s3Subject(signed: boolean) {
  return async (): Promise<Subject> => {
    const server = await startS3Server({ buckets: ["contract"] });
    // Records multipart uploads, for stores without ListMultipartUploads (s3rver has none).
    const started = new Set<string>();
    const ended = new Set<string>();
    let shortenHead = false;
    const log: FetchLog = { requests: [], dropLastByte: false };
    const client = new S3Client({
      endpoint: server.endpoint,
      region: server.region,
      forcePathStyle: true,
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { UploadId?: string };
        if (
          context.commandName === "CompleteMultipartUploadCommand" ||
          context.commandName === "AbortMultipartUploadCommand"
        ) {
          ended.add(input.UploadId!);
        }
        const result = await next(args);
        const output = result.output as { UploadId?: string; ContentLength?: number };
        if (context.commandName === "CreateMultipartUploadCommand") started.add(output.UploadId!);
        if (context.commandName === "HeadObjectCommand" && shortenHead) {
          output.ContentLength = (output.ContentLength ?? 0) - 1;
        }
        return result;
      },
      { step: "initialize", name: "uploadLedger" },
    );
    const credentials = signed
      ? {
        endpoint: server.endpoint,
        accessKeyId: server.accessKeyId,
        secretAccessKey: server.secretAccessKey,
        fetch: faultyFetch(log),
      }
      : {};
    const target = new S3Target({ bucket: "contract", prefix: "repo/one", client, ...credentials });
    return {
      target,
      async openUploads() {
        try {
          const listed = await client.send(new ListMultipartUploadsCommand({ Bucket: "contract" }));
          return (listed.Uploads ?? []).map((u) => u.UploadId!);
        } catch (error) {
          if ((error as Error).name !== "NotImplemented") throw error;
        }
        // Settle: a failed upload finishes its in-flight parts before aborting.
        return [...started].filter((id) => !ended.has(id));
      },
      async extra(t, target) {
        await t.step(
          "large streams went through multipart uploads, each completed or aborted",
          () => {
            // the broken, cancelled and large saves above, at 8 MiB parts
            assert.ok(started.size >= 4, `only ${started.size} multipart uploads started`);
            assert.deepEqual([...started].filter((id) => !ended.has(id)), []);
          },
        );
        if (signed) {
          await t.step(
            "a small save is one PUT, proved by the ETag the store answers",
            async () => {
              log.requests = [];
              await target.save("proof/small", bytes("abcdef"));
              assert.deepEqual(log.requests, ["PUT"]);
              const large = randomFillSync(new Uint8Array(2 * MIB));
              log.requests = [];
              await target.save("proof/large", large, { size: large.length });
              assert.deepEqual(log.requests, ["PUT", "HEAD"], "a large body's length is checked");
              log.etag = '"0123456789abcdef0123456789abcdef"';
              log.requests = [];
              try {
                await target.save("proof/other-etag", bytes("abcdef"));
              } finally {
                log.etag = undefined;
              }
              assert.deepEqual(log.requests, ["PUT", "HEAD"], "an ETag that is not the MD5");
              assert.equal(await text(target, "proof/other-etag"), "abcdef");
            },
          );
          await t.step("a store keeping fewer bytes than were sent is detected", async () => {
            log.dropLastByte = true;
            try {
              await assert.rejects(target.save("short/stored", bytes("abcdef")), IntegrityError);
            } finally {
              log.dropLastByte = false;
            }
            await assertMissing(target, "short/stored");
          });
        } else {
          await t.step("a store keeping fewer bytes than were sent is detected", async () => {
            shortenHead = true;
            try {
              await assert.rejects(target.save("short/stored", bytes("abcdef")), IntegrityError);
            } finally {
              shortenHead = false;
            }
            await assertMissing(target, "short/stored");
          });
        }
        await t.step("keys live under the prefix and the location has no secrets", async () => {
          const other = new S3Target({ bucket: "contract", client });
          const keys = (await collect(other.list("repo/one/meta/"))).map((i) => i.key);
          assert.ok(keys.includes("repo/one/meta/hello.txt"));
          assert.equal(
            target.location,
            `s3://contract/repo/one${
              signed ? `?endpoint=${encodeURIComponent(server.endpoint)}` : ""
            }`,
          );
          const opened = openTarget(`s3://contract/repo/one?endpoint=${server.endpoint}`, {
            s3: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
          });
          try {
            assert.equal(await text(opened, "meta/hello.txt"), "hello, storage");
            await opened.save("meta/opened.txt", bytes("through openTarget"));
            assert.equal(await text(target, "meta/opened.txt"), "through openTarget");
            assert.ok(!opened.location.includes(server.secretAccessKey));
          } finally {
            await opened.close();
          }
        });
        await t.step("the local S3 server keeps its data across a kill and a restart", async () => {
          await target.save("survives/restart", bytes("still here"));
          await server.kill();
          await assert.rejects(target.stat("survives/restart"));
          await server.restart();
          assert.equal(await text(target, "survives/restart"), "still here");
          await server.createBucket("second-bucket");
          await server.createBucket("second-bucket");
        });
      },
      async dispose() {
        client.destroy();
        await server.stop();
        await assert.rejects(Deno.stat(server.dir), Deno.errors.NotFound);
      },
    };
  };
}

contract("The S3 target", s3Subject(true));

contract("The S3 target with an SDK client only", s3Subject(false));

// ---------------------------------------------------------------------------------------------
// target URLs

Deno.test("A plain path or file URL opens a file target", () => {
  assert.deepEqual(parseTargetUrl("/var/backups/x"), { kind: "file", path: "/var/backups/x" });
  assert.deepEqual(parseTargetUrl("file:///var/backups/with%20space"), {
    kind: "file",
    path: "/var/backups/with space",
  });
  assert.deepEqual(parseTargetUrl("file://localhost/srv/b"), { kind: "file", path: "/srv/b" });
  assert.deepEqual(parseTargetUrl("relative/dir"), {
    kind: "file",
    path: join(Deno.cwd(), "relative/dir"),
  });
  const target = openTarget("file:///srv/backups");
  assert.equal(target.kind, "file");
  assert.equal(target.location, "file:///srv/backups");
});

Deno.test("An s3 URL names a bucket, a prefix and connection settings", () => {
  assert.deepEqual(parseTargetUrl("s3://my-bucket"), {
    kind: "s3",
    bucket: "my-bucket",
    prefix: "",
  });
  assert.deepEqual(
    parseTargetUrl(
      "s3://my-bucket/a/b/?endpoint=http://127.0.0.1:9000&region=eu-west-3&path_style=false",
    ),
    {
      kind: "s3",
      bucket: "my-bucket",
      prefix: "a/b",
      endpoint: "http://127.0.0.1:9000",
      region: "eu-west-3",
      forcePathStyle: false,
    },
  );
  const target = openTarget("s3://my-bucket/prod?endpoint=https://s3.example.test", {
    s3: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "very-secret-value", region: "auto" },
  });
  assert.equal(target.kind, "s3");
  assert.equal(target.location, "s3://my-bucket/prod?endpoint=https%3A%2F%2Fs3.example.test");
  assert.ok(!target.location.includes("very-secret-value"));
  assert.ok(!target.location.includes("AKIDEXAMPLE"));
});

Deno.test("Bad target URLs are refused with a clear message", () => {
  const cases: [string, RegExp][] = [
    ["", /Target URL is empty/],
    ["gs://bucket/x", /scheme "gs:" is not supported/],
    ["s3://key:secret@bucket/x", /must not contain credentials/],
    ["s3://key@bucket/x", /must not contain credentials/],
    ["s3://bucket/x?secretAccessKey=abc", /must not carry secrets/],
    ["s3://bucket/x?access_key_id=abc", /must not carry secrets/],
    ["s3://bucket/x?sessionToken=abc", /must not carry secrets/],
    ["s3://bucket/x?colour=blue", /parameter "colour" is not known/],
    ["s3:///x", /must name a bucket/],
    ["s3://ab/x", /Bucket name "ab" is not valid/],
    ["s3://Bad_Bucket/x", /Bucket name .* is not valid/],
    ["s3://bucket/x?endpoint=ftp://host", /endpoint parameter must be an absolute http/],
    ["s3://bucket/x?endpoint=http://u:p@host", /must not contain credentials/],
    ["s3://bucket/x?path_style=yes", /must be true or false/],
    ["s3://bucket/a/../b", /not allowed/],
    ["file://otherhost/x", /must not name a host/],
    ["file:///x?y=1", /must not have a query/],
    ["file:///", /below the filesystem root/],
  ];
  for (const [url, message] of cases) {
    assert.throws(() => openTarget(url), (error: unknown) => {
      assert.ok(error instanceof TargetError, `${url} threw ${error}`);
      assert.match(error.message, message, url);
      assert.doesNotMatch(error.message, /\.$/, "no trailing period");
      assert.doesNotMatch(error.message, /secret=|:p@|abc/, "no secret echoed");
      return true;
    });
  }
  assert.throws(
    () => openTarget("s3://bucket/x", { s3: { endpoint: "http://u:p@host" } }),
    /must not contain credentials/,
  );
});

// ---------------------------------------------------------------------------------------------
// wrappers

/** A target whose every operation first fails `failures` times with the given error. */
class FlakyTarget extends FileTarget {
  calls = 0;
  constructor(root: string, readonly failures: number, readonly error: () => unknown) {
    super(root);
  }
  #maybeFail() {
    if (this.calls++ < this.failures) throw this.error();
  }
  override save(...args: Parameters<FileTarget["save"]>) {
    try {
      this.#maybeFail();
    } catch (error) {
      return Promise.reject(error);
    }
    return super.save(...args);
  }
  override stat(key: string) {
    try {
      this.#maybeFail();
    } catch (error) {
      return Promise.reject(error);
    }
    return super.stat(key);
  }
}

function serverError(status: number, name = "InternalError") {
  return Object.assign(new Error("We encountered an internal error"), {
    name,
    $metadata: { httpStatusCode: status },
  });
}

Deno.test("The retrying wrapper retries transient failures and nothing else", async () => {
  const root = await Deno.makeTempDir({ prefix: "retrying-target-" });
  try {
    const flaky = new FlakyTarget(root, 2, () => serverError(503, "ServiceUnavailable"));
    const retries: number[] = [];
    const target = new RetryingTarget(flaky, {
      baseDelayMs: 1,
      onRetry: ({ attempt }) => retries.push(attempt),
    });
    await target.save("a/b", bytes("x"));
    assert.deepEqual(retries, [1, 2]);
    assert.equal((await target.stat("a/b")).size, 1);

    const streamed = new FlakyTarget(root, 1, () => serverError(500));
    await assert.rejects(
      new RetryingTarget(streamed, { baseDelayMs: 1 }).save("a/c", streamOf(bytes("x"))),
      /internal error/,
    );
    assert.equal(streamed.calls, 1, "a stream is never replayed");

    const missing = new RetryingTarget(new FlakyTarget(root, 0, () => null), { baseDelayMs: 1 });
    const counting = new FlakyTarget(root, 0, () => null);
    await assert.rejects(
      new RetryingTarget(counting, { baseDelayMs: 1 }).stat("nope"),
      NotFoundError,
    );
    assert.equal(counting.calls, 1, "NotFoundError is not retried");
    await assert.rejects(missing.load("nope"), NotFoundError);

    const corrupt = new FlakyTarget(root, 3, () => new IntegrityError("Bad bytes"));
    await assert.rejects(
      new RetryingTarget(corrupt, { baseDelayMs: 1 }).save("a/d", bytes("x")),
      IntegrityError,
    );
    assert.equal(corrupt.calls, 1, "IntegrityError is not retried");

    const always = new FlakyTarget(root, 99, () => serverError(502));
    await assert.rejects(new RetryingTarget(always, { attempts: 3, baseDelayMs: 1 }).stat("a/b"));
    assert.equal(always.calls, 3);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("Transient errors are told apart from permanent ones", () => {
  assert.ok(isTransientError(serverError(503)));
  assert.ok(isTransientError(serverError(429, "TooManyRequests")));
  assert.ok(isTransientError({ name: "SlowDown" }));
  assert.ok(isTransientError(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })));
  assert.ok(isTransientError(new TargetError("Saving failed", { cause: serverError(500) })));
  assert.ok(isTransientError(new Deno.errors.ConnectionReset("reset")));
  assert.ok(!isTransientError(serverError(403, "AccessDenied")));
  assert.ok(!isTransientError(new NotFoundError("k", "somewhere")));
  assert.ok(!isTransientError(new IntegrityError("Bad bytes")));
  assert.ok(!isTransientError(new DOMException("Aborted", "AbortError")));
});

Deno.test("The concurrency wrapper never runs more operations than its limit", async () => {
  let running = 0;
  let peak = 0;
  const slow: StorageTarget = {
    kind: "file",
    location: "memory",
    async stat(key) {
      running++;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
      return { key, size: 0 };
    },
    save: () => Promise.reject(new Error("unused")),
    load: () => Promise.resolve(streamOf(bytes("abc"))),
    async *list() {},
    remove: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  const target = new LimitedTarget(slow, { limit: 3 });
  await Promise.all(Array.from({ length: 20 }, (_, i) => target.stat(`k${i}`)));
  assert.equal(peak, 3);
  // An open download holds its slot until it is read to the end or cancelled.
  const one = new LimitedTarget(slow, { limit: 1 });
  const first = await one.load("a");
  let secondOpened = false;
  const second = one.load("b").then((s) => (secondOpened = true, s));
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(secondOpened, false);
  assert.equal(new TextDecoder().decode(await readAll(first)), "abc");
  await (await second).cancel();
  await one.stat("c");
  assert.throws(() => new LimitedTarget(slow, { limit: 0 }), TargetError);
});
