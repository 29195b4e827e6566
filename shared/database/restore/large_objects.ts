/**
 * A restore's large objects: refused, before anything is written, when the destination
 * already has an object the backup creates (its `lo_create` would fail half-way, or mix two
 * objects' contents); and their contents, written once the pre-data created them, in one
 * transaction, from the verified blobs through `lo_put` (`pg/large_objects.ts`). The stream's
 * rows, bytes and SHA-256, and the bytes written, must equal the manifest's.
 *
 * @module
 */
import type postgres from "postgres";
import type { Repository } from "../../repository/mod.ts";
import { StreamHash } from "../../repository/digest.ts";
import { countNewlines } from "../../pg/copy_out.ts";
import { writeLargeObjects } from "../../pg/large_objects.ts";
import type { ManifestLargeObjects } from "../manifest.ts";
import { RestoreError } from "./error.ts";
import type { RestoreTask } from "./task_pool.ts";

/** Refuses when the destination already has any of the large objects `oids`. */
export async function refuseExistingLargeObjects(
  sql: postgres.Sql,
  oids: readonly string[],
): Promise<void> {
  if (oids.length === 0) return;
  const found = await sql<{ oid: string }[]>`
    select l.oid::text as oid from pg_catalog.pg_largeobject_metadata l
    where l.oid = any(${[...oids]}::pg_catalog.oid[])
    order by l.oid
    limit 6`;
  if (found.length === 0) return;
  const shown = found.slice(0, 5).map((row) => row.oid).join(", ");
  throw new RestoreError(
    `The destination already has large object${found.length > 1 ? "s" : ""} ${shown}` +
      `${found.length > 5 ? " and more" : ""} that the backup creates: restore into a ` +
      "database without them, or remove them first (lo_unlink)",
    false,
  );
}

/** The task that writes the large objects' contents; `onLoaded` once they are committed. */
export function loadLargeObjectsTask(
  entry: ManifestLargeObjects,
  options: { repository: Repository; signal: AbortSignal; onLoaded: () => void },
): RestoreTask {
  return {
    cost: entry.streamBytes,
    run: async (session) => {
      try {
        await session.transaction(async (tx) => {
          const read = { rows: 0, bytes: 0, hash: new StreamHash() };
          const stream = options.repository.readStream(entry.blobs, {
            prefetch: 2,
            signal: options.signal,
          });
          const written = await writeLargeObjects(tx, hashed(stream, read));
          const sha256 = read.hash.hex();
          if (
            read.rows !== entry.rows || read.bytes !== entry.streamBytes ||
            sha256 !== entry.sha256 || written.bytes !== entry.bytes
          ) {
            throw new Error(
              `${written.bytes} bytes were written from ${read.rows} pieces (${read.bytes} ` +
                `bytes, SHA-256 ${sha256}), the backup holds ${entry.bytes} bytes in ` +
                `${entry.rows} pieces (${entry.streamBytes} bytes, SHA-256 ${entry.sha256})`,
            );
          }
        });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new Error(`Could not load the large objects: ${message}`, { cause: error });
      }
      options.onLoaded();
    },
  };
}

/** Passes a stream on, counting its rows and bytes and hashing it. */
async function* hashed(
  stream: AsyncIterable<Uint8Array>,
  totals: { rows: number; bytes: number; hash: StreamHash },
): AsyncGenerator<Uint8Array> {
  for await (const piece of stream) {
    totals.bytes += piece.length;
    totals.rows += countNewlines(piece);
    totals.hash.update(piece);
    yield piece;
  }
}
