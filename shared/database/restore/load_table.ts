/**
 * Loading one table's rows: in its own transaction (`TRUNCATE` first when asked), streamed
 * from the repository into `COPY … FROM STDIN`; the server's row count, and the rows and bytes
 * read, must equal the manifest's, or the load is rolled back.
 *
 * @module
 */
import type postgres from "postgres";
import type { Repository } from "../../repository/mod.ts";
import { copyIn } from "../../pg/copy_in.ts";
import { countNewlines } from "../../pg/copy_out.ts";
import { qualifiedName, tableLabel } from "../../pg/sql_text.ts";
import type { ManifestTable } from "../manifest.ts";
import type { Destination } from "./destination.ts";
import type { RestoreTask } from "./task_pool.ts";

/**
 * The task that loads `table`: `onLoaded` runs once its rows are committed (a failure there
 * fails the load), then `then` (what the rows unblock).
 */
export function loadTableTask(
  table: ManifestTable,
  options: {
    repository: Repository;
    destination: Destination;
    truncate: boolean;
    /** Aborts the blob reads (the pool's signal). */
    signal: AbortSignal;
    onLoaded: (rows: number, bytes: number) => void;
    then: () => void;
  },
): RestoreTask {
  const label = tableLabel(table);
  return {
    cost: table.bytes,
    run: async (connection) => {
      try {
        await connection`begin`;
        if (options.truncate && options.destination.tables.get(label)?.hasRows) {
          await emptyTable(connection, table);
        }
        const read = { rows: 0, bytes: 0 };
        const stream = options.repository.readStream(table.blobs, {
          prefetch: 2,
          signal: options.signal,
        });
        const copied = await copyIn(connection, table, counted(stream, read));
        if (copied !== table.rows || read.rows !== table.rows || read.bytes !== table.bytes) {
          throw new Error(
            `the server copied ${copied} rows (${read.rows} rows, ${read.bytes} bytes read), ` +
              `the backup holds ${table.rows} rows (${table.bytes} bytes)`,
          );
        }
        await connection`commit`;
        options.onLoaded(copied, read.bytes);
      } catch (error) {
        await connection`rollback`.catch(() => {});
        const message = error instanceof Error ? error.message : String(error);
        throw new Error(`Could not load table ${label}: ${message}`, { cause: error });
      }
      options.then();
    },
  };
}

/** Passes a stream on, counting its rows and bytes. */
async function* counted(
  stream: AsyncIterable<Uint8Array>,
  totals: { rows: number; bytes: number },
): AsyncGenerator<Uint8Array> {
  for await (const piece of stream) {
    totals.bytes += piece.length;
    totals.rows += countNewlines(piece);
    yield piece;
  }
}

/**
 * Empties a table inside the caller's transaction (undone with the load if it fails):
 * TRUNCATE, or DELETE when other tables' foreign keys reference it (TRUNCATE refuses that;
 * with `session_replication_role = replica` the DELETE checks no foreign key).
 */
async function emptyTable(connection: postgres.ReservedSql, table: ManifestTable): Promise<void> {
  // The name is quoted by qualifiedName; the statements have no parameters.
  const name = qualifiedName(table.schema, table.name);
  await connection`savepoint sauvegarde_empty`;
  try {
    await connection.unsafe(`truncate table only ${name}`);
    await connection`release savepoint sauvegarde_empty`;
  } catch (error) {
    if ((error as { code?: string }).code !== "0A000") throw error;
    await connection`rollback to savepoint sauvegarde_empty`;
    await connection.unsafe(`delete from only ${name}`);
  }
}
