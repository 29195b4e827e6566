/**
 * Request bodies are capped at 64 KiB for every function that reads one, over real HTTP
 * through the functions host: a larger body is answered 413 with a clear JSON message, whether
 * it declares its length, streams without one (it would never end), or declares less than it
 * sends; a body at the cap is still read.
 */
import assert from "node:assert/strict";
import { startLocalStack } from "../../../stack/local_stack.ts";
import { HttpError, MAX_BODY_BYTES, readJson } from "../../../shared/http/mod.ts";

const FUNCTIONS_READING_BODIES = ["notify", "storage-snapshot", "trigger-backup", "verify-backups"];

/** A body that does not end until told to, counting what was pulled from it. */
function endless(): { body: ReadableStream<Uint8Array>; pulled: () => number; end(): void } {
  const chunk = new TextEncoder().encode(`{"padding":"${"x".repeat(16 * 1024)}`);
  let pulled = 0;
  let ended = false;
  return {
    body: new ReadableStream({
      pull(controller) {
        if (ended) return controller.close();
        pulled += chunk.byteLength;
        controller.enqueue(chunk);
      },
    }),
    pulled: () => pulled,
    end: () => void (ended = true),
  };
}

/** Sends raw HTTP/1.1 and returns the status line and body of the answer. */
async function rawRequest(port: number, head: string, body: Uint8Array): Promise<string> {
  const connection = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await connection.write(new TextEncoder().encode(head));
    // The server may answer and close before all of it is sent.
    await connection.write(body).catch(() => {});
    const chunks: Uint8Array[] = [];
    const buffer = new Uint8Array(16 * 1024);
    for (;;) {
      const n = await connection.read(buffer).catch(() => null);
      if (n === null) break;
      chunks.push(buffer.slice(0, n));
      if (new TextDecoder().decode(chunks.at(-1)).includes("}")) break;
    }
    return chunks.map((c) => new TextDecoder().decode(c)).join("");
  } finally {
    connection.close();
  }
}

Deno.test("every function that reads a body answers 413 past 64 KiB, without reading the rest", async (t) => {
  const stack = await startLocalStack();
  const cron = { "x-sauvegarde-secret": stack.env.SAUVEGARDE_CRON_SECRET };
  try {
    for (const name of FUNCTIONS_READING_BODIES) {
      await t.step(`${name}: a declared length over the cap`, async () => {
        const response = await fetch(stack.functionUrl(name), {
          method: "POST",
          headers: { ...cron, "content-type": "application/json" },
          body: JSON.stringify({ padding: "x".repeat(MAX_BODY_BYTES) }),
        });
        assert.equal(response.status, 413);
        const json = await response.json();
        assert.equal(
          json.error,
          "The request body is larger than 64 KiB: send a small JSON object",
        );
      });

      await t.step(`${name}: a body without a length that never ends`, async () => {
        const stream = endless();
        try {
          const response = await fetch(stack.functionUrl(name), {
            method: "POST",
            headers: { ...cron, "content-type": "application/json" },
            body: stream.body,
          });
          assert.equal(response.status, 413);
          assert.match((await response.json()).error, /larger than 64 KiB/);
          // The answer came while the body was still being sent: it was never read whole.
          assert.ok(stream.pulled() < 64 * 1024 * 1024, `pulled ${stream.pulled()} bytes`);
        } finally {
          stream.end();
        }
      });
    }

    await t.step("a chunked body whose Content-Length header says less", async () => {
      const port = new URL(stack.functions.url).port;
      const chunk = "x".repeat(32 * 1024);
      const chunked = [1, 2, 3].map(() => `${chunk.length.toString(16)}\r\n${chunk}\r\n`).join("") +
        "0\r\n\r\n";
      const answer = await rawRequest(
        Number(port),
        `POST /functions/v1/notify HTTP/1.1\r\nhost: 127.0.0.1\r\n` +
          `x-sauvegarde-secret: ${stack.env.SAUVEGARDE_CRON_SECRET}\r\n` +
          `content-type: application/json\r\ncontent-length: 10\r\n` +
          `transfer-encoding: chunked\r\nconnection: close\r\n\r\n`,
        new TextEncoder().encode(chunked),
      );
      // Refused by the server as malformed, or by the function as too large: never read whole.
      assert.match(answer, /^HTTP\/1\.1 (400|413)/, answer.slice(0, 200));
    });

    await t.step("a body at the cap is read", async () => {
      const body = JSON.stringify({ severity: "info", title: "t", details: "d" });
      const padded = body + " ".repeat(MAX_BODY_BYTES - body.length);
      const response = await fetch(stack.functionUrl("notify"), {
        method: "POST",
        headers: { ...cron, "content-type": "application/json" },
        body: padded,
      });
      // The body was accepted; the local stack has no channel configured.
      assert.equal(response.status, 503);
      assert.match((await response.json()).error, /No notification channel is configured/);
    });
  } finally {
    await stack.stop();
  }
});

Deno.test("a body larger than its Content-Length says is cut off at the cap, not trusted", async () => {
  let pulled = 0;
  const chunk = new Uint8Array(8 * 1024).fill(0x20);
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled += chunk.byteLength;
      controller.enqueue(chunk);
    },
  });
  const request = new Request("http://localhost/functions/v1/notify", {
    method: "POST",
    headers: { "content-length": "10" },
    body,
  });
  assert.equal(request.headers.get("content-length"), "10");
  await assert.rejects(
    readJson(request),
    (error) => error instanceof HttpError && error.status === 413,
  );
  assert.ok(pulled <= MAX_BODY_BYTES + 2 * chunk.byteLength, `pulled ${pulled} bytes`);
});
