/**
 * Which tables are copied in key-ordered slices, and how many rows the next slice may hold.
 *
 * Given `sliceBytes` (a budgeted step), a table larger than that which has an ordered key
 * (`catalog/copy_keys.ts`) is copied in slices of at most about that many COPY bytes, ended at
 * keys chosen by content (`pg/slices.ts`). A table already started in slices is finished in
 * slices, whatever the step.
 *
 * @module
 */
import type { PendingTable } from "./state.ts";

/** Whether a table is copied in slices: it has a key, and it is large or already started. */
export function inSlices(table: PendingTable, sliceBytes: number | undefined): boolean {
  if (!table.key?.length) return false;
  if (table.slices?.length) return true;
  return sliceBytes !== undefined && table.estimatedBytes > sliceBytes;
}

/** Width assumed for a row when nothing is known yet: wide, so a first slice errs small. */
const UNKNOWN_ROW_BYTES = 1024;

/**
 * At most how many rows the table's next slice may hold to stay within `sliceBytes` of COPY
 * text (`pg/slices.ts` ends it by content, on average about half as far): from the widest of the
 * slices so far (all of them together, or the last one when it had enough rows to tell),
 * else from the catalog's estimate, else from a wide guess. While fewer than 16 rows were
 * copied the width is a guess, so the answer grows at most fourfold from them (plus 16) rather
 * than overshooting. The same rows give the same answer, so an unchanged table is cut the same
 * way by the next backup.
 */
export function rowsPerSlice(table: PendingTable, sliceBytes: number): number {
  const slices = table.slices ?? [];
  const last = slices.at(-1);
  const rows = slices.reduce((sum, slice) => sum + slice.rows, 0);
  const bytes = slices.reduce((sum, slice) => sum + slice.bytes, 0);
  const width = rows > 0
    ? Math.max(bytes / rows, last && last.rows >= 16 ? last.bytes / last.rows : 0)
    : (table.estimatedRows ?? 0) > 0 && table.estimatedBytes > 0
    ? table.estimatedBytes / table.estimatedRows!
    : UNKNOWN_ROW_BYTES;
  let count = Math.floor(sliceBytes / Math.max(1, width));
  if (slices.length > 0 && rows < 16) count = Math.min(count, rows * 4 + 16);
  return Math.max(1, Math.min(count, Number.MAX_SAFE_INTEGER));
}
