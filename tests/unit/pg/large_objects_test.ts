import assert from "node:assert/strict";
import {
  decodedLength,
  largeObjectPieces,
  LargeObjectRowError,
} from "../../../shared/pg/large_objects.ts";
import {
  isLargeObjectStatement,
  largeObjectOids,
} from "../../../shared/database/catalog/large_objects.ts";

const encoder = new TextEncoder();

async function pieces(...chunks: string[]) {
  async function* source() {
    for (const chunk of chunks) yield encoder.encode(chunk);
  }
  const out = [];
  for await (const piece of largeObjectPieces(source())) out.push(piece);
  return out;
}

Deno.test("large object rows split across pieces of the stream are read whole", async () => {
  assert.deepEqual(await pieces("16385\t0\taGVs", "bG8=\n16386\t1048576\t\n", "7\t2\tAA==\n"), [
    { oid: "16385", offset: "0", data: "aGVsbG8=" },
    { oid: "16386", offset: "1048576", data: "" },
    { oid: "7", offset: "2", data: "AA==" },
  ]);
  assert.deepEqual(await pieces(), []);
});

Deno.test("a malformed large object row is refused, never passed on", async () => {
  for (
    const text of [
      "16385\t0\n",
      "16385\t0\taGVsbG8=\textra\n",
      "x16385\t0\taGVsbG8=\n",
      "16385\t-1\taGVsbG8=\n",
      "16385\t0\taGVsbG8\n",
      "16385\t0\t'); drop table t; --\n",
      "16385\t0\taGVsbG8=",
    ]
  ) {
    await assert.rejects(pieces(text), LargeObjectRowError, JSON.stringify(text));
  }
});

Deno.test("base64 pieces decode to the bytes they hold", () => {
  assert.equal(decodedLength(""), 0);
  assert.equal(decodedLength("AA=="), 1);
  assert.equal(decodedLength("AAA="), 2);
  assert.equal(decodedLength("aGVsbG8="), 5);
  assert.equal(decodedLength(btoa("x".repeat(1024 * 1024))), 1024 * 1024);
});

Deno.test("large objects' statements are told apart and their oids read back", () => {
  const blob = {
    kind: "BLOB",
    name: "16385..16386",
    sql: "SELECT pg_catalog.lo_create('16385');\nSELECT pg_catalog.lo_create('16386');",
  };
  assert.equal(isLargeObjectStatement(blob), true);
  assert.equal(isLargeObjectStatement({ kind: "ACL", name: "LARGE OBJECT 16385" }), true);
  assert.equal(isLargeObjectStatement({ kind: "OWNER", name: "LARGE OBJECT 16385..16386" }), true);
  assert.equal(isLargeObjectStatement({ kind: "ACL", name: "TABLE public.t" }), false);
  assert.equal(isLargeObjectStatement({ kind: "COMMENT", name: "TABLE LARGE OBJECT" }), false);
  assert.deepEqual(largeObjectOids([blob, { kind: "TABLE", sql: "lo_create('1')" }]), [
    "16385",
    "16386",
  ]);
});
