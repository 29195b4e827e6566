/**
 * The COPY tap (`shared/pg/copy_tap.ts`): whatever way the socket's reads cut the
 * protocol stream, a capture gets every CopyData row whole and in order, postgres.js gets
 * every other byte unchanged (and everything when no capture is open), and a capture ends as
 * copied, failed or lost as the server's messages say. Back-pressure pauses and resumes the
 * socket. The tap over a real PostgreSQL connection is exercised by every database test; the
 * last tests here check that engine connections really carry one.
 */
import assert from "node:assert/strict";
import { type CaptureEnd, CopyTap, type TapPort } from "../../../shared/pg/copy_tap.ts";
import { engineSql } from "../../../shared/pg/connect.ts";
import { copyOut } from "../../../shared/pg/copy_out.ts";
import { tapOf, tlsModeOf } from "../../../shared/pg/wire_socket.ts";
import { startPostgres } from "../../../stack/postgres.ts";

const encoder = new TextEncoder();

/** One protocol message: type byte, length (counting itself), body. */
function message(type: string, body: Uint8Array | string = new Uint8Array()): Uint8Array {
  const bytes = typeof body === "string" ? encoder.encode(body) : body;
  const out = new Uint8Array(5 + bytes.length);
  out[0] = type.charCodeAt(0);
  new DataView(out.buffer).setUint32(1, bytes.length + 4);
  out.set(bytes, 5);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

const decoder = new TextDecoder();

/** A port that records what the tap passes on and whether it paused the socket. */
function recordingPort(): TapPort & { forwarded: Uint8Array[]; pid?: number; paused: boolean } {
  const port = {
    forwarded: [] as Uint8Array[],
    pid: undefined as number | undefined,
    paused: false,
    // The tap may reuse its read buffer: keep a copy, as postgres.js's socket would get.
    forward: (bytes: Uint8Array) => port.forwarded.push(bytes.slice()),
    pause: () => port.paused = true,
    resume: () => port.paused = false,
    identified: (pid: number) => port.pid = pid,
  };
  return port;
}

const rows = ["1\tapple\n", "2\t\\N\n", "", "3\t" + "x".repeat(300) + "\n", "4\tlast\n"];
const before = [message("T", "row description"), message("H", "\0\0\0")];
const copyData = rows.map((row) => message("d", row));
const after = [message("c"), message("C", "COPY 5\0"), message("Z", "I")];
const stream = concat([...before, ...copyData, ...after]);
const passedThrough = concat([...before, ...after]);

/** Feeds `bytes` cut at `cuts` (sorted offsets), each read in a reused buffer if `reuse`. */
function feedCut(tap: CopyTap, bytes: Uint8Array, cuts: number[], reuse: boolean): void {
  const shared = new Uint8Array(bytes.length);
  let from = 0;
  for (const to of [...cuts, bytes.length]) {
    if (to <= from) continue;
    if (reuse) {
      shared.fill(0xee);
      shared.set(bytes.subarray(from, to), 0);
      tap.feed(shared, to - from, false);
    } else {
      tap.feed(bytes.slice(from, to), to - from, true);
    }
    from = to;
  }
}

function capturedRun(cuts: number[], reuse: boolean) {
  const port = recordingPort();
  const tap = new CopyTap(port);
  const got: string[] = [];
  const capture = tap.capture(
    { row: (bytes, start, end) => got.push(decoder.decode(bytes.subarray(start, end))) },
    () => false,
  );
  feedCut(tap, stream, cuts, reuse);
  return { port, got, capture };
}

Deno.test("a capture gets every row and postgres.js every other byte, however reads cut the stream", async () => {
  // An empty CopyData (never sent by a server, but legal) reaches the sink as an empty row.
  const expectedRows = rows;
  for (let cut = 0; cut <= stream.length; cut++) {
    for (const reuse of [false, true]) {
      const { port, got, capture } = capturedRun([cut], reuse);
      assert.deepEqual(got, expectedRows, `rows, one cut at ${cut}`);
      assert.deepEqual(concat(port.forwarded), passedThrough, `passed on, one cut at ${cut}`);
      assert.equal(await capture.done, "copied");
    }
  }
  // Two cuts everywhere inside the first rows and the CopyDone, and reads of one byte each.
  for (let a = 30; a < 90; a += 3) {
    for (let b = a; b < stream.length; b += 7) {
      const { port, got } = capturedRun([a, b], true);
      assert.deepEqual(got, expectedRows, `cuts at ${a} and ${b}`);
      assert.deepEqual(concat(port.forwarded), passedThrough);
    }
  }
  const single = Array.from({ length: stream.length }, (_, i) => i);
  const { port, got } = capturedRun(single, true);
  assert.deepEqual(got, expectedRows);
  assert.deepEqual(concat(port.forwarded), passedThrough);
});

Deno.test("without a capture the tap passes every byte on unchanged and reads the backend id", () => {
  const key = new Uint8Array(8);
  new DataView(key.buffer).setUint32(0, 0xdeadbeef);
  const startup = concat([message("R", "\0\0\0\0"), message("K", key), message("Z", "I")]);
  const whole = concat([startup, stream]);
  for (const cut of [0, 3, 7, 12, 14, 19, whole.length - 2]) {
    const port = recordingPort();
    feedCut(new CopyTap(port), whole, [cut], true);
    assert.deepEqual(concat(port.forwarded), whole, `cut at ${cut}`);
    assert.equal(port.pid, 0xdeadbeef, `cut at ${cut}`);
  }
});

Deno.test("an error from the server ends a capture as failed and the error reaches postgres.js", async () => {
  const error = message("E", "SERROR\0Mcanceling statement\0\0");
  const port = recordingPort();
  const tap = new CopyTap(port);
  const got: number[] = [];
  const capture = tap.capture({ row: (_b, start, end) => got.push(end - start) }, () => false);
  feedCut(tap, concat([...before, copyData[0], error, message("Z", "E")]), [40], true);
  assert.equal(await capture.done, "failed");
  assert.deepEqual(got, [rows[0].length]);
  assert.deepEqual(concat(port.forwarded), concat([...before, error, message("Z", "E")]));
  // The connection is free for the next COPY.
  const next = tap.capture({ row: () => {} }, () => false);
  next.release();
  assert.equal(await next.done, "failed");
});

Deno.test("a connection closed midway ends a capture as lost and refuses new ones", async () => {
  const tap = new CopyTap(recordingPort());
  const capture = tap.capture({ row: () => {} }, () => false);
  feedCut(tap, concat([...before, copyData[0]]).subarray(0, 25), [], true);
  tap.closed();
  const end: CaptureEnd = await capture.done;
  assert.equal(end, "lost");
  assert.throws(
    () => tap.capture({ row: () => {} }, () => false),
    (error: Error & { code?: string }) => {
      assert.match(error.message, /connection is closed/);
      assert.equal(error.code, "CONNECTION_CLOSED", "named as a lost connection by callers");
      return true;
    },
  );
});

Deno.test("one capture at a time per connection", () => {
  const tap = new CopyTap(recordingPort());
  tap.capture({ row: () => {} }, () => false);
  assert.throws(() => tap.capture({ row: () => {} }, () => false), /already copying/);
});

Deno.test("a full consumer pauses the socket until it takes, and a discarded capture drops rows", async () => {
  const port = recordingPort();
  const tap = new CopyTap(port);
  let full = true;
  let seen = 0;
  const capture = tap.capture({ row: () => seen++ }, () => full);
  feedCut(tap, concat([...before, copyData[0]]), [], true);
  assert.equal(port.paused, true);
  full = false;
  capture.resume();
  assert.equal(port.paused, false);
  capture.discard();
  feedCut(tap, concat(copyData.slice(1)), [], true);
  assert.equal(seen, 1, "rows after discard() are dropped");
  feedCut(tap, concat(after), [], true);
  assert.equal(await capture.done, "copied");
  assert.deepEqual(concat(port.forwarded), passedThrough);
});

Deno.test("sslmode values are read as postgres.js reads them, and an unknown one is refused", () => {
  assert.equal(tlsModeOf("postgres://h/db"), "disable");
  assert.equal(tlsModeOf("postgres://h/db?sslmode=require"), "require");
  assert.equal(tlsModeOf("postgres://h/db?sslmode=verify-full"), "verify");
  assert.equal(tlsModeOf("postgres://h/db?sslmode=prefer"), "prefer");
  assert.throws(
    () => tlsModeOf("postgres://h/db?sslmode=sometimes"),
    /Unknown sslmode "sometimes"/,
  );
});

Deno.test("engine connections carry a tap and copy the same bytes as a plain postgres.js pool", async () => {
  const pg = await startPostgres({ supabase: false });
  const tapped = engineSql(pg.url, { max: 1 });
  const plain = (await import("postgres")).default(pg.url, { max: 1, onnotice: () => {} });
  try {
    await tapped.unsafe(`
      create table t (id int primary key, body text, raw bytea);
      insert into t select i, repeat(chr(9) || 'é\\N' || chr(10), i % 50), decode(md5(i::text), 'hex')
        from generate_series(1, 20000) i;`);
    const read = async (sql: typeof tapped) => {
      const tx = await sql.reserve();
      try {
        const pieces: Uint8Array[] = [];
        const counter = { rows: 0, bytes: 0 };
        for await (
          const piece of copyOut(tx, {
            schema: "public",
            name: "t",
            columns: ["id", "body", "raw"],
          }, {
            counter,
            pieceSize: 64 * 1024,
          })
        ) pieces.push(piece);
        return { tap: await tapOf(tx), bytes: concat(pieces), rows: counter.rows };
      } finally {
        tx.release();
      }
    };
    const a = await read(tapped);
    const b = await read(plain);
    assert.notEqual(a.tap, null, "engine connections are tapped");
    assert.equal(b.tap, null, "a plain pool is not");
    assert.equal(a.rows, 20000);
    assert.equal(b.rows, 20000);
    assert.ok(a.bytes.length > 1_000_000);
    assert.deepEqual(a.bytes, b.bytes);
  } finally {
    await tapped.end();
    await plain.end();
    await pg.stop();
  }
});
