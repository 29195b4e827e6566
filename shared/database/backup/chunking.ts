/**
 * How table data is cut into blobs and how many of a table's blobs are written at once.
 *
 * @module
 */
import type { ChunkingOptions, Repository } from "../../repository/mod.ts";

/**
 * Blob sizes for table data: 0.5 / 2 / 4 MiB (minimum, average, maximum). Smaller than the
 * repository's general default to keep memory flat with several tables in flight (each holds
 * up to `writeConcurrency + 1` blobs); boundaries stay content-defined, so unchanged tables
 * still produce the same blobs as long as these sizes stay the same.
 */
export const TABLE_CHUNKING: Readonly<Required<ChunkingOptions>> = Object.freeze({
  minSize: 512 * 1024,
  avgSize: 2 * 1024 * 1024,
  maxSize: 4 * 1024 * 1024,
});

/**
 * Blobs a table has in flight while it copies: one on a local disk, where a write is done before
 * the next blob is cut (measured: no slower than two, and 8 MiB less for two tables in flight);
 * two on an object store, to hide each upload's round trips.
 */
export function defaultWriteConcurrency(repository: Repository): number {
  return repository.target.kind === "file" ? 1 : 2;
}
