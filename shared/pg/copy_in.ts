/**
 * `COPY … FROM STDIN` of one table from a byte stream, reporting the server's row count.
 *
 * postgres.js resolves a COPY query with its Writable and never settles the Writable when the
 * server rejects the data after the last byte was sent (a bad row, a violated constraint): the
 * error is handed to the query object, which has already resolved. So the query's own
 * resolve/reject are observed here: the COPY is done when the server answered `COPY n`, and
 * failed when it answered an error, whatever state the Writable is in.
 *
 * @module
 */
import type { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Queryable } from "./session.ts";
import { columnList, qualifiedName } from "./sql_text.ts";

/** What {@link copyIn} loads: a table and the columns the stream holds, in order. */
export interface CopyTarget {
  schema: string;
  name: string;
  columns: readonly string[];
}

/** The `COPY … FROM STDIN` statement for a table (text format, explicit column list). */
export function copyInStatement(target: CopyTarget): string {
  const table = qualifiedName(target.schema, target.name);
  return target.columns.length
    ? `copy ${table} (${columnList(target.columns)}) from stdin`
    : `copy ${table} from stdin`;
}

interface ObservableQuery {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  writable(): Promise<Writable>;
}

/**
 * Loads COPY text from `source` into a table over `connection` (inside the caller's
 * transaction). Resolves with the number of rows the server says it copied. A source error
 * aborts the COPY (the server discards it) and is rethrown as is.
 */
export async function copyIn(
  connection: Queryable,
  target: CopyTarget,
  source: AsyncIterable<Uint8Array>,
): Promise<number> {
  // Identifiers are quoted by qualifiedName/columnList; the statement has no parameters.
  const query = connection.unsafe(copyInStatement(target)) as unknown as ObservableQuery;
  let started = false;
  const completion = new Promise<number>((resolve, reject) => {
    const resolveQuery = query.resolve;
    const rejectQuery = query.reject;
    query.resolve = (value) => {
      if (started) resolve(Number((value as { count?: number } | null)?.count ?? NaN));
      started = true;
      resolveQuery(value);
    };
    query.reject = (error) => {
      reject(error);
      rejectQuery(error);
    };
  });
  completion.catch(() => {});
  const writable = await query.writable();
  const piping = pipeline(source, writable);
  piping.catch(() => {});
  try {
    await Promise.race([piping, completion]);
    return await completion;
  } catch (error) {
    if (!writable.destroyed) writable.destroy();
    throw error;
  }
}
