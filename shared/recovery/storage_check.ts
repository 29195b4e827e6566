/**
 * The post-restore Storage check: every object of the snapshot is present at the destination
 * with the snapshot's size (one listing per bucket, no download).
 *
 * @module
 */
import type { StorageDestination } from "../storage/destination.ts";
import type { StorageManifest } from "../storage/manifest.ts";

/** An object of the snapshot that is missing or of the wrong size. */
export interface StorageProblem {
  bucket: string;
  key: string;
  expected: number;
  /** Size found; null when missing. */
  actual: number | null;
}

/** What the check found. */
export interface StorageCheck {
  objects: number;
  present: number;
  missing: StorageProblem[];
  wrongSize: StorageProblem[];
  ok: boolean;
}

/** Checks that the destination holds every object of `manifest` with the right size. */
export async function checkRestoredStorage(
  destination: StorageDestination,
  manifest: Pick<StorageManifest, "buckets" | "objects">,
): Promise<StorageCheck> {
  const check: StorageCheck = { objects: 0, present: 0, missing: [], wrongSize: [], ok: true };
  const buckets = await destination.listBuckets();
  for (const bucket of manifest.buckets) {
    const existing = buckets.has(bucket.name)
      ? await destination.listExisting(bucket.name)
      : new Map<string, { size: number }>();
    for (const entry of manifest.objects) {
      if (entry.bucket !== bucket.name) continue;
      check.objects++;
      const found = existing.get(entry.key);
      const problem = { bucket: entry.bucket, key: entry.key, expected: entry.size };
      if (!found) check.missing.push({ ...problem, actual: null });
      else if (found.size !== entry.size) check.wrongSize.push({ ...problem, actual: found.size });
      else check.present++;
    }
  }
  check.ok = check.missing.length === 0 && check.wrongSize.length === 0;
  return check;
}

/** One sentence for a failed check, naming the first few objects. */
export function describeStorageCheck(check: StorageCheck): string {
  const name = (problem: StorageProblem) => `${problem.bucket}/${problem.key}`;
  const parts: string[] = [];
  if (check.missing.length) {
    parts.push(
      `${check.missing.length} object(s) missing (${
        check.missing.slice(0, 3).map(name).join(", ")
      })`,
    );
  }
  if (check.wrongSize.length) {
    parts.push(
      `${check.wrongSize.length} of the wrong size (${
        check.wrongSize.slice(0, 3).map(name).join(", ")
      })`,
    );
  }
  return parts.length
    ? `Storage check failed: ${parts.join("; ")}`
    : `Storage check passed: ${check.present} of ${check.objects} objects present with their sizes`;
}
