/**
 * Checking one restored table against its manifest entry, on a scratch database: the whole
 * table at once (what the worker's restore test does for every table), or one slice of a
 * sliced table at a time (what a budgeted step does, so a large table's check spreads over
 * several steps). Each read is one `readBack` transaction.
 *
 * @module
 */
import type postgres from "postgres";
import type { ManifestTable } from "../database/manifest.ts";
import { copyOut } from "../pg/copy_out.ts";
import { enterRange, type KeyColumn, type KeyRange, leaveRange } from "../pg/slices.ts";
import { tableLabel } from "../pg/sql_text.ts";
import { StreamHash } from "../repository/digest.ts";
import type { Repository } from "../repository/mod.ts";
import { withScratchCondition } from "./large_objects_check.ts";
import { readBack } from "./read_back.ts";
import { checksumTable, compareTable, rowSetDigest, type TableMismatch } from "./table_checksum.ts";

/** What a table's check read back, and how it compares. */
export interface TableCheck {
  rows: number;
  bytes: number;
  mismatch?: TableMismatch;
}

/**
 * Reads the whole table back and compares it; a table read whole by the backup whose rows are
 * the same rows in another physical order passes (compared as sets of rows, the stored stream
 * still the manifest's). A read that fails is a mismatch naming why.
 */
export async function checkWholeTable(
  sql: postgres.Sql,
  repository: Repository,
  table: ManifestTable,
  signal?: AbortSignal,
): Promise<TableCheck> {
  try {
    const actual = await readBack(
      sql,
      async (tx) => checksumTable(tx, await withScratchCondition(tx, table)),
    );
    let mismatch = compareTable(table, actual);
    if (mismatch && !table.slices?.length && actual.rows === table.rows) {
      const [stored, loaded] = await Promise.all([
        rowSetDigest(repository.readStream(table.blobs, { signal })),
        readBack(sql, async (tx) => {
          const source = await withScratchCondition(tx, table);
          return await rowSetDigest(copyOut(tx, source, { counter: { rows: 0, bytes: 0 } }));
        }),
      ]);
      // The stored rows must still be the ones the manifest recorded, in its order.
      if (
        stored.sha256 === table.sha256 && stored.rows === loaded.rows &&
        stored.digest === loaded.digest
      ) {
        mismatch = undefined;
      }
    }
    return { rows: actual.rows, bytes: actual.bytes, ...(mismatch ? { mismatch } : {}) };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { rows: 0, bytes: 0, mismatch: compareTable(table, null, message)! };
  }
}

/**
 * Reads slice `index` of a sliced table back (its key range, in key order, through the
 * restored key index) and compares it with the slice's rows and SHA-256.
 */
export async function checkTableSlice(
  sql: postgres.Sql,
  table: ManifestTable,
  index: number,
): Promise<TableCheck> {
  const slices = table.slices!;
  const slice = slices[index];
  const label = tableLabel(table);
  const expected = { rows: slice.rows, sha256: slice.sha256 };
  const which = `slice ${index + 1} of ${slices.length}`;
  try {
    const counter = { rows: 0, bytes: 0 };
    const sha256 = await readBack(sql, async (tx) => {
      const range: KeyRange = {
        key: await keyColumns(tx, table),
        after: index === 0 ? null : slices[index - 1].through,
        // The last slice runs to the table's end: rows past the backup's last key are extra.
        through: index === slices.length - 1 ? null : slice.through,
      };
      await enterRange(tx, range);
      const hash = new StreamHash();
      for await (const piece of copyOut(tx, { ...table, range }, { counter })) hash.update(piece);
      await leaveRange(tx);
      return hash.hex();
    });
    const actual = { rows: counter.rows, sha256 };
    if (counter.rows === slice.rows && counter.bytes === slice.bytes && sha256 === slice.sha256) {
      return { rows: counter.rows, bytes: counter.bytes };
    }
    const problem = counter.rows !== slice.rows
      ? `${label} has ${counter.rows} rows in ${which}, the backup ${slice.rows}`
      : `${label} has the backup's rows in ${which} but not their contents (SHA-256 ${
        sha256.slice(0, 12)
      }…, the backup ${slice.sha256.slice(0, 12)}…)`;
    return {
      rows: counter.rows,
      bytes: counter.bytes,
      mismatch: { table: label, expected, actual, problem },
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return {
      rows: 0,
      bytes: 0,
      mismatch: {
        table: label,
        expected,
        actual: null,
        problem: `${label} could not be read back (${which}): ${message}`,
      },
    };
  }
}

/** The table's key columns with their types, as the restored catalog has them. */
async function keyColumns(tx: postgres.TransactionSql, table: ManifestTable): Promise<KeyColumn[]> {
  const rows = await tx<KeyColumn[]>`
    select a.attname as name, tn.nspname as "typeSchema", t.typname as "typeName"
    from pg_catalog.pg_attribute a
    join pg_catalog.pg_class c on c.oid = a.attrelid
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    join pg_catalog.pg_type t on t.oid = a.atttypid
    join pg_catalog.pg_namespace tn on tn.oid = t.typnamespace
    where n.nspname = ${table.schema} and c.relname = ${table.name}
      and a.attname = any(${[...table.key!]}) and a.attnum > 0 and not a.attisdropped`;
  const byName = new Map(rows.map((row) => [row.name, row]));
  return table.key!.map((name) => {
    const column = byName.get(name);
    if (!column) throw new Error(`its key column ${name} is missing`);
    return column;
  });
}
