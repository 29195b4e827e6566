/**
 * Reads a restored table back the way the backup read it — the engine's own `copyOut`, in
 * text format, with the manifest's column list in its order — and hashes the stream, so the
 * row count and SHA-256 compare with what the manifest recorded at backup time.
 *
 * A table the backup read in key-ordered slices (`slices` in its manifest entry) was stored as
 * the slices' streams one after the other: the whole table in key order. Its physical order
 * once restored need not be that order (a heap fills free space left on earlier pages when row
 * widths vary), so it is read back in key order (`COPY (SELECT … ORDER BY key)`, the restored
 * key index serving it), the read-back cut at the slices' byte boundaries and each part
 * hashed: every slice is compared with its own SHA-256, and the table's `sha256` (for a sliced
 * table, the digest of its slices' SHA-256s) is computed from those parts the same way. The
 * order is the restored database's: its text keys sort as the source's only with the same
 * collations, as a restore into the same kind of server has.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { copyOut, countNewlines } from "../pg/copy_out.ts";
import { type ManifestTable, slicesDigest } from "../database/manifest.ts";
import type { Queryable } from "../pg/session.ts";
import { tableLabel } from "../pg/sql_text.ts";
import { StreamHash } from "../repository/digest.ts";

/** One part of a table's read-back, cut where a slice of the backup ended. */
export interface SliceChecksum {
  rows: number;
  bytes: number;
  sha256: string;
}

/** What a table holds now, read back. */
export interface TableChecksum {
  rows: number;
  bytes: number;
  /** SHA-256 of the read-back; for a sliced table, the digest of `slices`' SHA-256s. */
  sha256: string;
  /**
   * For a sliced table: the read-back cut at the backup's slice boundaries, one part per
   * slice (the last part holds whatever follows the backup's last byte).
   */
  slices?: SliceChecksum[];
}

/** A restored table that does not hold what the backup recorded. */
export interface TableMismatch {
  /** `schema.table`. */
  table: string;
  expected: { rows: number; sha256: string };
  actual: { rows: number; sha256: string } | null;
  /** One sentence naming the table and the difference. */
  problem: string;
}

/**
 * Streams the table's COPY text through SHA-256, counting rows (newlines) and bytes; for a
 * table with slices, read in key order, one hash per slice, cut at the slices' byte
 * boundaries. Reads through
 * the engine's own `copyOut`, which handles postgres.js's socket back-pressure (a plain
 * `for await` over the COPY stream can leave the connection paused after a large table).
 * With a `condition`, only the rows it selects (an extension's configuration table, whose
 * other rows are the extension's: `large_objects_check.ts`).
 */
export async function checksumTable(
  connection: Queryable,
  table: Pick<ManifestTable, "schema" | "name" | "columns" | "key" | "slices"> & {
    condition?: string;
  },
): Promise<TableChecksum> {
  const counter = { rows: 0, bytes: 0 };
  if (!table.slices?.length || !table.key?.length) {
    const hash = new StreamHash();
    for await (const piece of copyOut(connection, table, { counter })) hash.update(piece);
    return { rows: counter.rows, bytes: counter.bytes, sha256: hash.hex() };
  }
  const ends = table.slices.map((slice) => slice.bytes);
  const parts: Array<{ rows: number; bytes: number; hash: StreamHash }> = [];
  const start = () => parts.push({ rows: 0, bytes: 0, hash: new StreamHash() });
  start();
  let left = ends[0];
  const source = { schema: table.schema, name: table.name, columns: table.columns };
  for await (let piece of copyOut(connection, { ...source, order: table.key }, { counter })) {
    while (piece.length > 0) {
      const isLast = parts.length === ends.length;
      const take = isLast ? piece.length : Math.min(left, piece.length);
      const part = parts[parts.length - 1];
      const head = piece.subarray(0, take);
      part.hash.update(head);
      part.rows += countNewlines(head);
      part.bytes += take;
      piece = piece.subarray(take);
      left -= take;
      if (!isLast && left === 0) {
        start();
        left = ends[parts.length - 1];
      }
    }
  }
  while (parts.length < ends.length) start();
  const slices = parts.map((part) => ({
    rows: part.rows,
    bytes: part.bytes,
    sha256: part.hash.hex(),
  }));
  return {
    rows: counter.rows,
    bytes: counter.bytes,
    sha256: await slicesDigest(slices),
    slices,
  };
}

/** Compares one table's checksum with its manifest entry; undefined when they agree. */
export function compareTable(
  table: ManifestTable,
  actual: TableChecksum | null,
  failure?: string,
): TableMismatch | undefined {
  const label = tableLabel(table);
  const expected = { rows: table.rows, sha256: table.sha256 };
  if (!actual) {
    return {
      table: label,
      expected,
      actual: null,
      problem: `${label} could not be read back${failure ? `: ${failure}` : ""}`,
    };
  }
  const found = { rows: actual.rows, sha256: actual.sha256 };
  if (actual.rows !== table.rows) {
    return {
      table: label,
      expected,
      actual: found,
      problem: `${label} has ${actual.rows} rows, the backup ${table.rows}`,
    };
  }
  const slice = firstDifferentSlice(table, actual);
  if (slice !== undefined) {
    const slices = table.slices!;
    const after = slice === 0 ? "" : ` (rows after key ${describeKey(slices[slice - 1].through)})`;
    return {
      table: label,
      expected,
      actual: found,
      problem: `${label} has the backup's ${table.rows} rows but not its contents: slice ${
        slice + 1
      } of ${slices.length}${after} differs (SHA-256 ${
        actual.slices![slice].sha256.slice(0, 12)
      }…, the backup ${slices[slice].sha256.slice(0, 12)}…)`,
    };
  }
  if (actual.sha256 !== table.sha256) {
    return {
      table: label,
      expected,
      actual: found,
      problem: `${label} has the backup's ${table.rows} rows but not its contents (SHA-256 ${
        actual.sha256.slice(0, 12)
      }…, the backup ${table.sha256.slice(0, 12)}…)`,
    };
  }
  return undefined;
}

/** Index of the first slice whose read-back differs from the backup's, if any. */
function firstDifferentSlice(table: ManifestTable, actual: TableChecksum): number | undefined {
  if (!table.slices || !actual.slices) return undefined;
  const index = table.slices.findIndex((slice, i) => {
    const part = actual.slices![i];
    return !part || part.bytes !== slice.bytes || part.rows !== slice.rows ||
      part.sha256 !== slice.sha256;
  });
  return index === -1 ? undefined : index;
}

function describeKey(key: readonly string[] | null): string {
  if (key === null) return "(end)";
  const text = key.length === 1
    ? JSON.stringify(key[0])
    : `(${key.map((v) => JSON.stringify(v)).join(", ")})`;
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

/** An order-independent digest of COPY text rows, how many rows it covers, and the stream's SHA-256. */
export interface RowSetDigest {
  rows: number;
  digest: string;
  /** SHA-256 of the stream as read, in its order. */
  sha256: string;
}

/**
 * A digest of the multiset of rows in a COPY text stream, whatever their order: each row's
 * SHA-256 added into eight 32-bit lanes. A table the backup read whole was stored in the
 * source's physical order, which a restore need not reproduce (COPY puts a short row into
 * room left on an earlier page); when its SHA-256 differs but its rows are the same rows, the
 * table holds what the backup recorded.
 */
export async function rowSetDigest(pieces: AsyncIterable<Uint8Array>): Promise<RowSetDigest> {
  const lanes = new Uint32Array(8);
  const whole = new StreamHash();
  let rows = 0;
  let carry: Uint8Array = new Uint8Array(0);
  const add = (row: Uint8Array) => {
    const sum = createHash("sha256").update(row).digest();
    for (let i = 0; i < 8; i++) lanes[i] = (lanes[i] + sum.readUInt32BE(i * 4)) >>> 0;
    rows++;
  };
  for await (const piece of pieces) {
    whole.update(piece);
    let start = 0;
    let end = piece.indexOf(0x0a);
    while (end !== -1) {
      if (carry.length > 0) {
        const row = new Uint8Array(carry.length + end - start);
        row.set(carry);
        row.set(piece.subarray(start, end), carry.length);
        add(row);
        carry = new Uint8Array(0);
      } else {
        add(piece.subarray(start, end));
      }
      start = end + 1;
      end = piece.indexOf(0x0a, start);
    }
    if (start < piece.length) {
      const rest = piece.subarray(start);
      const joined = new Uint8Array(carry.length + rest.length);
      joined.set(carry);
      joined.set(rest, carry.length);
      carry = joined;
    }
  }
  if (carry.length > 0) add(carry);
  return {
    rows,
    digest: [...lanes].map((lane) => lane.toString(16).padStart(8, "0")).join(""),
    sha256: whole.hex(),
  };
}
