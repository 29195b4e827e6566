/**
 * Large objects' contents as a COPY stream, and back: how a backup reads every large object
 * of a database in one `COPY … TO STDOUT` inside its snapshot, and how a restore writes that
 * stream into large objects that already exist (created by the DDL, `lo_create`).
 *
 * The stream is COPY text, one row per piece of at most {@link LARGE_OBJECT_PIECE_BYTES} of an
 * object: `oid`, the piece's offset, and its bytes in base64 on one line (`encode(…, 'base64')`
 * without its line breaks, which needs no COPY escaping), in oid then offset order. An empty
 * object has no row. Base64 rather than hex: a third more text than the bytes rather than twice
 * as much to hash, compress and store (measured on 1 GiB: backup 34 → 20 s, restore 37 → 23 s;
 * both compress back to the bytes' size). Pieces are read
 * with `lo_get(oid, offset, length)`, which only needs SELECT on the object (reading
 * `pg_largeobject` itself needs a superuser), so memory stays bounded by one piece whatever an
 * object's size, and thousands of small objects are one COPY, not one query each.
 *
 * A restore parses the rows itself and writes them with `lo_put` in batches (many small pieces
 * per statement, about {@link WRITE_BATCH_BYTES} of base64 at most), the batch's fields as bind
 * parameters (each field checked: digits or base64): nothing read from a backup becomes SQL
 * text.
 *
 * @module
 */
import type { Queryable } from "./session.ts";

/** Bytes of a large object per row of the stream (its last piece may be shorter). */
export const LARGE_OBJECT_PIECE_BYTES = 1024 * 1024;

/** `lo_open` mode for reading (`INV_READ`): the object as of the transaction's snapshot. */
const INV_READ = 0x40000;

/**
 * Each large object's oid and size, read without reading its contents: opened for reading,
 * sought to its end, closed (the `offset 0` fences keep the three calls in that order, one
 * object at a time).
 */
const SIZES = `
  select m.oid, z.size
  from pg_catalog.pg_largeobject_metadata m
  cross join lateral (
    select s.size, pg_catalog.lo_close(s.fd) as closed from (
      select f.fd, pg_catalog.lo_lseek64(f.fd, 0, 2) as size
      from (select pg_catalog.lo_open(m.oid, ${INV_READ}) as fd offset 0) f
      offset 0
    ) s
    offset 0
  ) z`;

/**
 * The `COPY … TO STDOUT` of every large object's contents (see the module notes). The pieces
 * are listed and sorted first, then read one by one, so the sort never holds contents.
 */
export function largeObjectsCopyStatement(): string {
  return `copy (
  select p.oid, p.off,
    pg_catalog.translate(pg_catalog.encode(
      pg_catalog.lo_get(p.oid, p.off, ${LARGE_OBJECT_PIECE_BYTES}), 'base64'), E'\\n', '')
  from (
    select o.oid, g.off
    from (${SIZES}) o
    cross join lateral pg_catalog.generate_series(0::pg_catalog.int8, o.size - 1,
      ${LARGE_OBJECT_PIECE_BYTES}) as g(off)
    order by o.oid, g.off
    offset 0
  ) p
) to stdout`;
}

/** What a database's large objects are, as of a snapshot: to see whether they changed. */
export interface LargeObjectCensus {
  /** How many large objects there are. */
  count: number;
  /** Their contents' bytes, all together. */
  bytes: number;
  /** SHA-256 (hex) of their oids in order, comma-separated: which objects they are. */
  digest: string;
}

/** Counts the large objects visible in the caller's transaction, with their sizes. */
export async function largeObjectCensus(sql: Queryable): Promise<LargeObjectCensus> {
  // Constant text: no parameters.
  const [row] = await sql.unsafe<{ count: string; bytes: string; digest: string }[]>(`
    select pg_catalog.count(*)::text as count,
      coalesce(pg_catalog.sum(o.size), 0)::text as bytes,
      pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(coalesce(
        pg_catalog.string_agg(o.oid::text, ',' order by o.oid), ''), 'UTF8')), 'hex') as digest
    from (${SIZES}) o`);
  return { count: Number(row.count), bytes: Number(row.bytes), digest: row.digest };
}

/** What {@link writeLargeObjects} wrote. */
export interface LargeObjectsWritten {
  /** Rows (pieces) of the stream. */
  rows: number;
  /** Bytes written into large objects. */
  bytes: number;
}

/** Base64 characters of pieces sent in one statement at most (a larger piece goes alone). */
export const WRITE_BATCH_BYTES = 2 * 1024 * 1024;
/** Pieces sent in one statement at most. */
const WRITE_BATCH_ROWS = 1000;

const NEWLINE = 10;
const TAB = 9;
const DIGITS = /^\d{1,10}$/;
const OFFSET = /^\d{1,19}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** A row of the stream that is not `oid \t offset \t base64`. */
export class LargeObjectRowError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LargeObjectRowError";
  }
}

/** One parsed row of the stream. */
export interface LargeObjectPiece {
  oid: string;
  offset: string;
  /** The piece's bytes in base64, on one line. */
  data: string;
}

/**
 * Splits a stream of large-object COPY text (as {@link largeObjectsCopyStatement} writes it)
 * into pieces, each field checked (digits, digits, base64 of a whole number of bytes); throws
 * {@link LargeObjectRowError} on anything else, an unfinished last row included.
 */
export async function* largeObjectPieces(
  source: AsyncIterable<Uint8Array>,
): AsyncGenerator<LargeObjectPiece, void, undefined> {
  const decoder = new TextDecoder();
  const indexOf = Uint8Array.prototype.indexOf;
  let carry: Uint8Array | undefined;
  for await (const piece of source) {
    let bytes = piece;
    if (carry) {
      bytes = new Uint8Array(carry.length + piece.length);
      bytes.set(carry);
      bytes.set(piece, carry.length);
      carry = undefined;
    }
    let start = 0;
    while (start < bytes.length) {
      const end = indexOf.call(bytes, NEWLINE, start);
      if (end === -1) break;
      const first = indexOf.call(bytes, TAB, start);
      const second = first === -1 || first > end ? -1 : indexOf.call(bytes, TAB, first + 1);
      if (second === -1 || second > end) {
        throw new LargeObjectRowError("A large object row does not have three fields");
      }
      const row = {
        oid: decoder.decode(bytes.subarray(start, first)),
        offset: decoder.decode(bytes.subarray(first + 1, second)),
        data: decoder.decode(bytes.subarray(second + 1, end)),
      };
      if (
        !DIGITS.test(row.oid) || !OFFSET.test(row.offset) || row.data.length % 4 !== 0 ||
        !BASE64.test(row.data)
      ) {
        throw new LargeObjectRowError(
          `A large object row is malformed (oid ${row.oid.slice(0, 12)})`,
        );
      }
      yield row;
      start = end + 1;
    }
    if (start < bytes.length) carry = bytes.slice(start);
  }
  if (carry?.length) throw new LargeObjectRowError("The large object stream ends mid-row");
}

/**
 * Writes a large-object stream into the objects it names over `connection` (inside the
 * caller's transaction): `lo_put` at each piece's offset, pieces batched into one statement up
 * to {@link WRITE_BATCH_BYTES} of base64 or a thousand pieces. The objects must exist.
 */
export async function writeLargeObjects(
  connection: Queryable,
  source: AsyncIterable<Uint8Array>,
): Promise<LargeObjectsWritten> {
  let oids: string[] = [];
  let offsets: string[] = [];
  let datas: string[] = [];
  let batchBytes = 0;
  const written: LargeObjectsWritten = { rows: 0, bytes: 0 };
  const flush = async () => {
    if (oids.length === 0) return;
    // Comma-separated text rather than arrays: postgres.js escapes an array's elements
    // character by character (measured: three times slower for large pieces).
    const rows = await connection`
      select pg_catalog.lo_put(t.o::pg_catalog.oid, t.f::pg_catalog.int8,
        pg_catalog.decode(t.d, 'base64'))
      from rows from (
        pg_catalog.unnest(pg_catalog.string_to_array(${oids.join(",")}::pg_catalog.text, ',')),
        pg_catalog.unnest(pg_catalog.string_to_array(${offsets.join(",")}::pg_catalog.text, ',')),
        pg_catalog.unnest(pg_catalog.string_to_array(${datas.join(",")}::pg_catalog.text, ','))
      ) as t(o, f, d)`;
    if (rows.length !== oids.length) {
      throw new Error(`the server wrote ${rows.length} of ${oids.length} large object pieces`);
    }
    oids = [];
    offsets = [];
    datas = [];
    batchBytes = 0;
  };
  for await (const piece of largeObjectPieces(source)) {
    if (batchBytes > 0 && batchBytes + piece.data.length > WRITE_BATCH_BYTES) await flush();
    oids.push(piece.oid);
    offsets.push(piece.offset);
    datas.push(piece.data);
    batchBytes += piece.data.length;
    written.rows++;
    written.bytes += decodedLength(piece.data);
    if (oids.length >= WRITE_BATCH_ROWS) await flush();
  }
  await flush();
  return written;
}

/** Bytes that a base64 text (checked by {@link largeObjectPieces}) decodes to. */
export function decodedLength(base64: string): number {
  const padding = base64.endsWith("==") ? 2 : base64.endsWith("=") ? 1 : 0;
  return (base64.length / 4) * 3 - padding;
}
