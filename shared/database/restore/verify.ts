/**
 * Phase 1 of a restore: every blob it needs verified deeply (decoded and re-hashed) before the
 * destination is touched, so a damaged backup changes nothing.
 *
 * @module
 */
import type { Repository } from "../../repository/mod.ts";
import type { DatabaseManifest, ManifestTable } from "../manifest.ts";
import { sectionBlobs } from "../sections.ts";
import { RestoreError } from "./error.ts";

/**
 * Verifies the blobs of `tables` (and of any other part listed with them, such as the large
 * objects' contents) and of both DDL sections; refuses when any is damaged.
 */
export async function verifyBlobs(
  repository: Repository,
  manifest: DatabaseManifest,
  tables: readonly Pick<ManifestTable, "blobs">[],
  signal?: AbortSignal,
): Promise<void> {
  const blobs = new Map<string, { id: string; size: number; storedSize: number }>();
  for (const table of tables) for (const blob of table.blobs) blobs.set(blob.id, blob);
  for (const blob of sectionBlobs(manifest.sections.preData)) blobs.set(blob.id, blob);
  for (const blob of sectionBlobs(manifest.sections.postData)) blobs.set(blob.id, blob);
  const refs = [...blobs.values()];
  const problems: string[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(4, refs.length) }, async () => {
    while (next < refs.length) {
      signal?.throwIfAborted();
      const check = await repository.verifyBlob(refs[next++], { deep: true });
      if (!check.ok) problems.push(check.message);
    }
  }));
  if (problems.length) {
    throw new RestoreError(
      `Backup ${manifest.backupId} is damaged, nothing was restored: ${
        problems.slice(0, 3).join("; ")
      }` +
        (problems.length > 3 ? ` (and ${problems.length - 3} more)` : ""),
      false,
    );
  }
}
