/**
 * Reads a restored table back the way the backup read it — the engine's own `copyOut`, in
 * text format, with the manifest's column list in its order — and hashes the whole stream, so
 * the row count and SHA-256 compare with what the manifest recorded at backup time.
 *
 * @module
 */
import { copyOut } from "../database/copy_out.ts";
import type { ManifestTable } from "../database/manifest.ts";
import type { Queryable } from "../database/session.ts";
import { tableLabel } from "../database/sql_text.ts";
import { StreamHash } from "../repository/digest.ts";

/** What a table holds now, read back. */
export interface TableChecksum {
  rows: number;
  bytes: number;
  sha256: string;
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
 * Streams the table's COPY text through SHA-256, counting rows (newlines) and bytes. Reads
 * through the engine's own `copyOut`, which handles postgres.js's socket back-pressure (a
 * plain `for await` over the COPY stream can leave the connection paused after a large table).
 */
export async function checksumTable(
  connection: Queryable,
  table: Pick<ManifestTable, "schema" | "name" | "columns">,
): Promise<TableChecksum> {
  const hash = new StreamHash();
  const counter = { rows: 0, bytes: 0 };
  for await (const piece of copyOut(connection, table, { counter })) {
    hash.update(piece);
  }
  return { rows: counter.rows, bytes: counter.bytes, sha256: hash.hex() };
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
  if (actual.rows !== table.rows) {
    return {
      table: label,
      expected,
      actual: { rows: actual.rows, sha256: actual.sha256 },
      problem: `${label} has ${actual.rows} rows, the backup ${table.rows}`,
    };
  }
  if (actual.sha256 !== table.sha256) {
    return {
      table: label,
      expected,
      actual: { rows: actual.rows, sha256: actual.sha256 },
      problem: `${label} has the backup's ${table.rows} rows but not its contents (SHA-256 ${
        actual.sha256.slice(0, 12)
      }…, the backup ${table.sha256.slice(0, 12)}…)`,
    };
  }
  return undefined;
}
