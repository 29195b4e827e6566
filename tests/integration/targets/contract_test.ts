/**
 * The storage target contract (`tests/support/target_contract.ts`) run on every target: the
 * file target, the S3 target on a local S3-protocol server (as production opens it, and
 * through a fault-injecting `fetch`), and the in-memory test double; plus target URL parsing.
 */

import assert from "node:assert/strict";
import { randomFillSync } from "node:crypto";
import { join } from "node:path";
import {
  FileTarget,
  openTarget,
  parseTargetUrl,
  S3Target,
  type StorageTarget,
} from "../../../shared/targets/mod.ts";
import { IntegrityError, TargetError } from "../../../shared/util/errors.ts";
import { type S3Server, startS3Server } from "../../../stack/s3_server.ts";
import { MemoryTarget } from "../../support/memory_target.ts";
import {
  assertMissing,
  bytes,
  collect,
  MIB,
  targetContract,
  text,
} from "../../support/target_contract.ts";

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

targetContract("The file target", async () => {
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

targetContract("The in-memory test target", () =>
  Promise.resolve({
    target: new MemoryTarget("contract"),
    dispose: () => Promise.resolve(),
  }));

/** What the fault-injecting `fetch` under the S3 target does and saw. */
interface FetchLog {
  /** Methods of the requests sent, in order. */
  requests: string[];
  /** Authorization headers sent, in order. */
  authorizations: string[];
  /** Multipart uploads started, and those completed or aborted. */
  started: Set<string>;
  ended: Set<string>;
  /** The next PUTs store their body less its last byte, yet answer success. */
  dropLastByte: boolean;
  /** PUT answers carry this ETag instead of the store's. */
  etag?: string;
}

function newLog(): FetchLog {
  return {
    requests: [],
    authorizations: [],
    started: new Set(),
    ended: new Set(),
    dropLastByte: false,
  };
}

function faultyFetch(log: FetchLog): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    const query = new URL(request.url).searchParams;
    log.requests.push(request.method);
    log.authorizations.push(request.headers.get("authorization") ?? "");
    const uploadId = query.get("uploadId");
    if (uploadId && (request.method === "POST" || request.method === "DELETE")) {
      log.ended.add(uploadId);
    }
    if (request.method !== "PUT" || (!log.dropLastByte && log.etag === undefined)) {
      const answer = await fetch(request);
      if (request.method === "POST" && query.has("uploads")) {
        const id = /<UploadId>([^<]+)<\/UploadId>/.exec(await answer.clone().text())?.[1];
        if (id) log.started.add(id);
      }
      return answer;
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

/** Checks shared by both S3 subjects: prefixes, printable locations, a server restarted. */
async function s3Extras(
  t: Deno.TestContext,
  target: StorageTarget,
  server: S3Server,
): Promise<void> {
  const keys = { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey };
  await t.step("keys live under the prefix and the location has no secrets", async () => {
    const other = new S3Target({ bucket: "contract", endpoint: server.endpoint, ...keys });
    try {
      const listed = (await collect(other.list("repo/one/meta/"))).map((i) => i.key);
      assert.ok(listed.includes("repo/one/meta/hello.txt"));
    } finally {
      await other.close();
    }
    assert.equal(
      target.location,
      `s3://contract/repo/one?endpoint=${encodeURIComponent(server.endpoint)}`,
    );
    const opened = openTarget(`s3://contract/repo/one?endpoint=${server.endpoint}`, { s3: keys });
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
}

async function disposeServer(server: S3Server): Promise<void> {
  await server.stop();
  await assert.rejects(Deno.stat(server.dir), Deno.errors.NotFound);
}

// As production opens it: uploads written from the caller's buffers over node:http.
targetContract("The S3 target", async () => {
  const server = await startS3Server({ buckets: ["contract"] });
  const target = openTarget(`s3://contract/repo/one?endpoint=${server.endpoint}`, {
    s3: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
  return {
    target,
    extra: (t, target) => s3Extras(t, target, server),
    dispose: () => disposeServer(server),
  };
});

// Every request through a fetch that records them and can corrupt what is stored.
targetContract("The S3 target through a fault-injecting fetch", async () => {
  const server = await startS3Server({ buckets: ["contract"] });
  const log = newLog();
  const target = new S3Target({
    bucket: "contract",
    prefix: "repo/one",
    endpoint: server.endpoint,
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
    fetch: faultyFetch(log),
  });
  const open = () => [...log.started].filter((id) => !log.ended.has(id));
  return {
    target,
    openUploads: () => Promise.resolve(open()),
    async extra(t, target) {
      await t.step(
        "large streams went through multipart uploads, each completed or aborted",
        () => {
          // the broken (30 MiB), cancelled (64 MiB) and large (40 MiB) saves above, at 8 MiB
          // parts; a stream failing before its second part is read starts none
          assert.ok(log.started.size >= 3, `only ${log.started.size} multipart uploads started`);
          assert.deepEqual(open(), []);
        },
      );
      await t.step("a small save is one PUT, proved by the ETag the store answers", async () => {
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
      });
      await t.step("a store keeping fewer bytes than were sent is detected", async () => {
        log.dropLastByte = true;
        try {
          await assert.rejects(target.save("short/stored", bytes("abcdef")), IntegrityError);
        } finally {
          log.dropLastByte = false;
        }
        await assertMissing(target, "short/stored");
      });
      await s3Extras(t, target, server);
    },
    dispose: () => disposeServer(server),
  };
});

Deno.test("without keys, the S3 target signs with the AWS default credential chain", async () => {
  const server = await startS3Server({ buckets: ["contract"] });
  const names = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"];
  const saved = names.map((name) => Deno.env.get(name));
  Deno.env.set("AWS_ACCESS_KEY_ID", server.accessKeyId);
  Deno.env.set("AWS_SECRET_ACCESS_KEY", server.secretAccessKey);
  Deno.env.set("AWS_SESSION_TOKEN", "session-from-the-chain");
  const log = newLog();
  const target = new S3Target({
    bucket: "contract",
    endpoint: server.endpoint,
    fetch: faultyFetch(log),
  });
  try {
    await target.save("chain/object", bytes("signed by the chain"));
    assert.equal(await text(target, "chain/object"), "signed by the chain");
    assert.ok(log.authorizations.length >= 2);
    for (const header of log.authorizations) {
      assert.match(header, /^AWS4-HMAC-SHA256 Credential=S3RVER\//);
      assert.match(header, /SignedHeaders=[^,]*x-amz-security-token/);
    }
  } finally {
    names.forEach((name, i) => {
      if (saved[i] === undefined) Deno.env.delete(name);
      else Deno.env.set(name, saved[i]!);
    });
    await target.close();
    await server.stop();
  }
});

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
