/**
 * Loading one table's rows: in its own transaction (`TRUNCATE` first when asked), streamed
 * from the repository into `COPY … FROM STDIN`; the server's row count, and the rows and bytes
 * read, must equal the manifest's, or the load is rolled back. An extension's configuration
 * table gets its rows appended (never emptied when its extension set a condition), with
 * triggers on.
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
    /** What the destination held: needed with `truncate` (an empty table is left alone). */
    destination?: Destination;
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
    run: async (session) => {
      try {
        // One transaction, begun with the restore settings (triggers off where allowed).
        const { copied, bytes } = await session.transaction(async (tx) => {
          // An extension's configuration table loads with its triggers on, as pg_dump's script
          // loads it (pg_cron learns of its restored jobs so); its loadAfter order keeps its
          // foreign keys satisfied.
          if (table.extension && session.triggersOff) {
            await tx`select pg_catalog.set_config('session_replication_role', 'origin', true)`;
          }
          // Only the whole table is the backup's when the extension set no condition: the
          // rest of a table with one is the extension's own (PostGIS's SRIDs), never emptied.
          const ownRows = !table.extension?.condition;
          if (options.truncate && ownRows && options.destination?.tables.get(label)?.hasRows) {
            await emptyTable(tx, table);
          }
          const read = { rows: 0, bytes: 0 };
          const stream = options.repository.readStream(table.blobs, {
            prefetch: 2,
            signal: options.signal,
          });
          const copied = await copyIn(tx, table, counted(stream, read));
          if (copied !== table.rows || read.rows !== table.rows || read.bytes !== table.bytes) {
            throw new Error(
              `the server copied ${copied} rows (${read.rows} rows, ${read.bytes} bytes read), ` +
                `the backup holds ${table.rows} rows (${table.bytes} bytes)`,
            );
          }
          return { copied, bytes: read.bytes };
        });
        options.onLoaded(copied, bytes);
      } catch (error) {
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
