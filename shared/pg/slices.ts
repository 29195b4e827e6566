/**
 * Key-ordered slices of a large table: how a budgeted backup step reads part of a table and
 * the next step goes on where it stopped.
 *
 * A slice is the rows whose key is above the previous slice's last key and at most its own
 * last key, read with `COPY (SELECT … FROM ONLY t WHERE key > after AND key <= through ORDER
 * BY key) TO STDOUT`. Its end is found first by a query over the key's index, in the same
 * snapshot ({@link findSliceEnd}: at most `n` rows on, at a key chosen by content so unchanged
 * ranges are cut the same way next time); when none is found before the table's end, the
 * slice has no upper bound and is the table's last.
 *
 * Key values are kept as their text forms (`value::text`), which are JSON-safe, and are never
 * written into SQL text: the end query takes them as a bind parameter; COPY takes no
 * parameters, so the bounds are handed to it in a transaction-local setting
 * ({@link SLICE_SETTING}, set through a bind parameter) that the statement reads and casts to
 * each column's type by its catalog name. The same transaction-local settings turn sequential
 * scans, bitmap scans and sorts off for the slice's statement, so it is always a range scan of
 * the key's index in key order (the bounds are not known when the statement is planned), and
 * are put back once the slice is read.
 *
 * @module
 */
import type { Queryable } from "./session.ts";
import { columnList, qualifiedName, quoteIdent } from "./sql_text.ts";

/** A column of a table's ordered key, with its type's catalog name (to cast key values to). */
export interface KeyColumn {
  /** Unquoted column name. */
  name: string;
  /** Schema of the column's type (`pg_catalog` for built-in types). */
  typeSchema: string;
  /** The type's catalog name, without modifiers (`int8`, `bpchar`, `uuid`, `my_enum`). */
  typeName: string;
}

/** The transaction-local setting that carries a slice's bounds to its COPY statement. */
export const SLICE_SETTING = "sauvegarde.slice";

const PLANNER_SETTINGS = ["enable_seqscan", "enable_bitmapscan", "enable_sort"] as const;

/**
 * A key range of a table. `after`: the key of the last row before the range (exclusive), or
 * null from the table's start; `through`: the key of the range's last row (inclusive), or null
 * to the table's end. Keys are the key columns' text forms, in key order.
 */
export interface KeyRange {
  key: readonly KeyColumn[];
  after: readonly string[] | null;
  through: readonly string[] | null;
}

/** A table and the columns it is copied with (what `copyOut` reads). */
interface Table {
  schema: string;
  name: string;
  columns: readonly string[];
}

/**
 * Where a slice of at most `maxRows` rows after `after` (from the table's start when null)
 * ends: the key of its last row, or null when the rest of the table is the slice (no end was
 * found before the table's end).
 *
 * The end is chosen by content, as the repository cuts blobs, so that the next backup of an
 * unchanged key range cuts the same slices and stores no new blob, and a row inserted or
 * deleted moves the ends of its own slice only: it is the first row, at least
 * {@link sliceSpacing}`/4` rows on, whose key's hash (`hashtextextended` of the key's JSON
 * text) is a multiple of the spacing, a power of two chosen from `maxRows` (so a close
 * estimate gives the same one); the `maxRows`-th row if none comes first. Slices hold about
 * 1.25 spacings on average, a third to a half of `maxRows`, never more than `maxRows`. The
 * query reads at most `maxRows` entries of the key's index.
 */
export async function findSliceEnd(
  connection: Queryable,
  table: Table,
  key: readonly KeyColumn[],
  after: readonly string[] | null,
  maxRows: number,
): Promise<string[] | null> {
  checkKey(key, after);
  if (!Number.isSafeInteger(maxRows) || maxRows < 1) {
    throw new RangeError(`A slice must hold a positive number of rows, got ${maxRows}`);
  }
  const spacing = sliceSpacing(maxRows);
  const minRows = Math.max(1, Math.floor(spacing / 4));
  const keyText = key.map((column) => `${quoteIdent(column.name)}::pg_catalog.text`).join(", ");
  const keys = key.map((column) => quoteIdent(column.name)).join(", ");
  const next = after === null ? 1 : 2;
  const lower = after === null
    ? ""
    : ` where ${
      compare(key, ">", (i) =>
        castValue(`($1::pg_catalog.text::pg_catalog.jsonb ->> ${i})`, key[i]))
    }`;
  const [max, min, mask] = [`$${next}`, `$${next + 1}`, `$${next + 2}`];
  // Identifiers are quoted; the key values and the numbers are bind parameters.
  const statement = `select w.through from (` +
    `select r.through, pg_catalog.row_number() over () as n from (` +
    `select pg_catalog.json_build_array(${keyText}) as through from (` +
    `select ${keys} from only ${qualifiedName(table.schema, table.name)}${lower} ` +
    `order by ${orderBy(key)} limit ${max}::pg_catalog.int8) k) r) w ` +
    `where w.n >= ${min}::pg_catalog.int8 and (w.n = ${max}::pg_catalog.int8 or ` +
    `(pg_catalog.hashtextextended(w.through::pg_catalog.text, 0) ` +
    `& ${mask}::pg_catalog.int8) = 0) ` +
    `order by w.n limit 1`;
  const numbers = [maxRows, minRows, spacing - 1];
  const parameters = after === null ? numbers : [JSON.stringify(after), ...numbers];
  const found = await connection.unsafe(statement, parameters);
  if (found.length === 0) return null;
  const through = found[0].through as unknown;
  if (
    !Array.isArray(through) || through.length !== key.length ||
    !through.every((value) => typeof value === "string")
  ) {
    throw new Error(`The end of a slice of ${table.schema}.${table.name} could not be read`);
  }
  return through;
}

/**
 * The spacing of slice ends for slices of at most `maxRows` rows: the largest power of two
 * not above half of it (at least 1).
 */
export function sliceSpacing(maxRows: number): number {
  let spacing = 1;
  while (spacing * 4 <= maxRows) spacing *= 2;
  return spacing;
}

/**
 * The `COPY (SELECT …) TO STDOUT` statement of a key range: the table's own rows (`ONLY`), in
 * key order, the columns in the same order and text format as a whole-table COPY. The bounds
 * come from {@link SLICE_SETTING} (see {@link enterRange}).
 */
export function rangeCopyStatement(table: Table, range: KeyRange): string {
  checkKey(range.key, range.after);
  checkKey(range.key, range.through);
  const value = (bound: "after" | "through") => (i: number) =>
    castValue(
      `(pg_catalog.current_setting('${SLICE_SETTING}')::pg_catalog.jsonb -> '${bound}' ->> ${i})`,
      range.key[i],
    );
  const conditions = [
    ...(range.after === null ? [] : [compare(range.key, ">", value("after"))]),
    ...(range.through === null ? [] : [compare(range.key, "<=", value("through"))]),
  ];
  const where = conditions.length ? ` where ${conditions.join(" and ")}` : "";
  return `copy (select ${columnList(table.columns)} from only ${
    qualifiedName(table.schema, table.name)
  }${where} order by ${orderBy(range.key)}) to stdout`;
}

/**
 * `COPY (SELECT … FROM ONLY t ORDER BY columns) TO STDOUT`: the whole table in key order, as
 * a sliced backup stored it (its slices one after the other). The planner picks the plan.
 */
export function orderedCopyStatement(table: Table, order: readonly string[]): string {
  if (order.length === 0) throw new Error("An ordered read needs at least one column");
  return `copy (select ${columnList(table.columns)} from only ${
    qualifiedName(table.schema, table.name)
  } order by ${columnList(order)}) to stdout`;
}

/**
 * Hands a range's bounds to the next {@link rangeCopyStatement} on this connection and makes
 * it a scan of the key's index, in key order. Settings last until {@link leaveRange} or the
 * end of the transaction.
 */
export async function enterRange(connection: Queryable, range: KeyRange): Promise<void> {
  const bounds = JSON.stringify({ after: range.after, through: range.through });
  await connection`
    select pg_catalog.set_config(${SLICE_SETTING}, ${bounds}, true),
      pg_catalog.set_config('enable_seqscan', 'off', true),
      pg_catalog.set_config('enable_bitmapscan', 'off', true),
      pg_catalog.set_config('enable_sort', 'off', true)`;
}

/** Puts the planner settings {@link enterRange} changed back to the session's values. */
export async function leaveRange(connection: Queryable): Promise<void> {
  await connection`
    select pg_catalog.set_config(name, reset_val, true) from pg_catalog.pg_settings
    where name = any(${[...PLANNER_SETTINGS]})`;
}

function checkKey(key: readonly KeyColumn[], values: readonly string[] | null): void {
  if (key.length === 0) throw new Error("A slice needs a key of at least one column");
  if (values !== null && values.length !== key.length) {
    throw new Error(`A key of ${key.length} columns cannot take ${values.length} values`);
  }
}

/** `value_expression::"schema"."type"`: the column's type by catalog name, no modifiers. */
function castValue(text: string, column: KeyColumn): string {
  return `${text}::${qualifiedName(column.typeSchema, column.typeName)}`;
}

/** `k > v` for one column, `(k1, k2) > (v1, v2)` (row comparison, key order) for several. */
function compare(key: readonly KeyColumn[], operator: ">" | "<=", value: (i: number) => string) {
  if (key.length === 1) return `${quoteIdent(key[0].name)} ${operator} ${value(0)}`;
  const columns = key.map((column) => quoteIdent(column.name)).join(", ");
  const values = key.map((_, i) => value(i)).join(", ");
  return `(${columns}) ${operator} (${values})`;
}

function orderBy(key: readonly KeyColumn[]): string {
  return key.map((column) => quoteIdent(column.name)).join(", ");
}
