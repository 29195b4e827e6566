/**
 * The order tables are copied and listed in.
 *
 * @module
 */
import { tableLabel } from "../../pg/sql_text.ts";
import type { PendingTable } from "./state.ts";

/**
 * Tables started in slices first (to finish them), then the large objects' contents (so they
 * are read in the snapshot their definitions were, see `copy_tables.ts`), then the largest
 * first.
 */
export function byProgressThenSize(a: PendingTable, b: PendingTable): number {
  return Number(Boolean(b.slices?.length)) - Number(Boolean(a.slices?.length)) ||
    Number(Boolean(b.largeObjects)) - Number(Boolean(a.largeObjects)) ||
    b.estimatedBytes - a.estimatedBytes || compareText(tableLabel(a), tableLabel(b));
}

/** Code-unit order of two strings (locale-independent, as the manifest is sorted). */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
