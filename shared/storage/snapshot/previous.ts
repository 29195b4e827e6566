/**
 * The previous snapshot index: what earlier snapshots on a repository hold of this snapshot's
 * buckets, so that an object whose size, ETag and last-modified time match is referenced
 * without being read, and the blobs those snapshots reference are known to be stored (no
 * request needed before referencing one).
 *
 * @module
 */
import {
  entryKey,
  type ObjectEntry,
  parseStorageManifest,
  STORAGE_MANIFEST_KIND,
  type StorageManifest,
} from "../manifest.ts";
import type { SnapshotRepository } from "../repository_port.ts";
import { listSnapshotIds } from "../snapshot_list.ts";
import type { SnapshotCheckpoint } from "./checkpoint.ts";

/** How many earlier snapshots are searched for buckets the latest one did not cover. */
const PREVIOUS_SEARCH_DEPTH = 10;

/** What earlier snapshots on the repository hold, as one snapshot step uses it. */
export interface Previous {
  /** The newest snapshot used. */
  id: string;
  /** Entries of the snapshot's buckets, by {@link entryKey}. */
  index: Map<string, ObjectEntry>;
  /** Snapshots used: every blob they reference is taken as stored. */
  used: string[];
  /** Those blobs, with their stored sizes. */
  known: Map<string, number>;
  /** Every Storage snapshot the repository holds. */
  present: Set<string>;
}

/**
 * What earlier snapshots on the repository hold of the snapshot's buckets: each bucket from
 * the newest snapshot that covered it (a snapshot of chosen buckets does not make the others
 * look new to the next full snapshot).
 */
export async function loadPrevious(
  repository: SnapshotRepository,
  currentId: string,
  buckets: string[],
): Promise<Previous | undefined> {
  const all = await listSnapshotIds(repository);
  const present = new Set(all);
  const ids = all.filter((id) => id !== currentId).slice(0, PREVIOUS_SEARCH_DEPTH);
  const wanted = new Set(buckets);
  const index = new Map<string, ObjectEntry>();
  const used: string[] = [];
  const known = new Map<string, number>();
  // An unchanged object whose stored copy verification found damaged is read again.
  const damaged = await repository.damagedBlobs();
  let newest: string | undefined;
  for (const id of ids) {
    if (wanted.size === 0) break;
    let manifest: StorageManifest;
    try {
      manifest = parseStorageManifest(await repository.loadManifest(STORAGE_MANIFEST_KIND, id), id);
    } catch (error) {
      console.error(
        `Storage snapshot ${id} is unreadable, not used for the incremental comparison: ${
          error instanceof Error ? error.message : error
        }`,
      );
      continue;
    }
    const covered = new Set(manifest.buckets.map((b) => b.name).filter((b) => wanted.has(b)));
    if (covered.size === 0) continue;
    newest ??= id;
    used.push(id);
    for (const entry of manifest.objects) {
      if (entry.blobs.some((blob) => damaged.has(blob.id))) continue;
      if (covered.has(entry.bucket)) index.set(entryKey(entry.bucket, entry.key), entry);
      for (const blob of entry.blobs) known.set(blob.id, blob.storedSize);
    }
    for (const bucket of covered) wanted.delete(bucket);
  }
  return newest ? { id: newest, index, used, known, present } : undefined;
}

/**
 * Records in `state` the previous snapshots this step builds on, after checking that those an
 * earlier step of the run built on are still there: a prune between two steps may have swept
 * their blobs, so the run fails rather than write a manifest naming them.
 */
export function buildOn(
  state: SnapshotCheckpoint,
  previous: Previous | undefined,
  target: string,
): void {
  const gone = (state.basedOn ?? []).filter((id) => !previous?.present.has(id));
  if (gone.length) {
    throw new Error(
      `Storage snapshot ${gone.join(", ")} on target "${target}", which this run builds on, ` +
        `was removed while the run was paused (by a prune): the run stops rather than ` +
        `reference blobs that may be gone; the next run starts afresh`,
    );
  }
  state.basedOn = [...new Set([...(state.basedOn ?? []), ...(previous?.used ?? [])])];
}
