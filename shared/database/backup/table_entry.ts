/**
 * The manifest entry of a copied table: its identity, and for a table copied in slices the
 * sums and digest of its slices (see `manifest.ts`).
 *
 * @module
 */
import { type ManifestTable, slicesDigest } from "../manifest.ts";
import type { PendingTable } from "./state.ts";

/** What names a table in its manifest entry (and, for a configuration table, its extension). */
export function tableIdentity(
  table: PendingTable,
): Pick<ManifestTable, "schema" | "name" | "columns" | "kind" | "managed" | "extension"> {
  const { schema, name, columns, kind, managed, extension } = table;
  return { schema, name, columns, kind, managed, ...(extension ? { extension } : {}) };
}

/** The manifest entry of a table copied in slices, its last slice included. */
export async function slicedTable(table: PendingTable): Promise<ManifestTable> {
  const slices = table.slices!;
  const sum = (field: "rows" | "bytes" | "storedBytes") =>
    slices.reduce((total, slice) => total + slice[field], 0);
  return {
    ...tableIdentity(table),
    rows: sum("rows"),
    bytes: sum("bytes"),
    sha256: await slicesDigest(slices),
    storedBytes: sum("storedBytes"),
    blobs: slices.flatMap((slice) => slice.blobs),
    snapshotTime: slices[0].snapshotTime,
    key: table.key!.map((column) => column.name),
    slices: slices.map((slice) => ({
      through: slice.through,
      rows: slice.rows,
      bytes: slice.bytes,
      sha256: slice.sha256,
      storedBytes: slice.storedBytes,
      blobs: slice.blobs.length,
      snapshotTime: slice.snapshotTime,
    })),
  };
}
