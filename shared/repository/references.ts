/**
 * What a manifest references, whatever its kind: the mark phase of prune, replication and
 * verification all walk manifests through here, so a new manifest kind (or a new place in an
 * existing one where blobs are listed, such as DDL statements stored as blobs) is covered
 * without touching them.
 *
 * @module
 */
import { isSha256Hex } from "./digest.ts";
import type { BlobRef } from "./repository.ts";

/**
 * Every blob reference in a manifest: each object anywhere in the JSON shaped
 * `{ id: <64 lowercase hex>, size: <number>, storedSize: <number> }`, once per id, in the order
 * first met (depth first). Other properties of such an object are ignored, and the walk goes on
 * inside it. Anything that is not plain JSON data (a cycle, a class instance) is not followed.
 *
 * @example
 * ```ts
 * const refs = referencedBlobs(await repository.loadManifest("database", id));
 * ```
 */
export function referencedBlobs(manifest: unknown): BlobRef[] {
  const found = new Map<string, BlobRef>();
  const seen = new Set<object>();
  const stack: unknown[] = [manifest];
  while (stack.length > 0) {
    const value = stack.pop();
    if (value === null || typeof value !== "object" || seen.has(value)) continue;
    seen.add(value);
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push(value[i]);
      continue;
    }
    const record = value as Record<string, unknown>;
    if (isBlobRef(record) && !found.has(record.id)) {
      found.set(record.id, { id: record.id, size: record.size, storedSize: record.storedSize });
    }
    const entries = Object.values(record);
    for (let i = entries.length - 1; i >= 0; i--) stack.push(entries[i]);
  }
  return [...found.values()];
}

/** Whether a value has the shape of a blob reference. */
export function isBlobRef(value: unknown): value is BlobRef {
  if (value === null || typeof value !== "object") return false;
  const { id, size, storedSize } = value as Record<string, unknown>;
  return typeof id === "string" && isSha256Hex(id) && isByteCount(size) &&
    isByteCount(storedSize);
}

const ID_STAMP = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/;

/**
 * When a backup was taken: the manifest's `finishedAt`, else its `startedAt`, else the
 * timestamp its id starts with (`20261125T141500Z-…`); undefined when none is readable.
 */
export function manifestTime(id: string, manifest: unknown): Date | undefined {
  if (manifest !== null && typeof manifest === "object") {
    const record = manifest as Record<string, unknown>;
    for (const field of ["finishedAt", "startedAt"]) {
      const value = record[field];
      if (typeof value === "string") {
        const time = Date.parse(value);
        if (!Number.isNaN(time)) return new Date(time);
      }
    }
  }
  return idTime(id);
}

/** The timestamp a backup id starts with (`20261125T141500Z-…`), if any. */
export function idTime(id: string): Date | undefined {
  const match = ID_STAMP.exec(id);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number);
  const time = Date.UTC(year, month - 1, day, hour, minute, second);
  const date = new Date(time);
  // Reject impossible dates (month 13, day 32) instead of letting Date roll them over.
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined;
  return date;
}

function isByteCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}
