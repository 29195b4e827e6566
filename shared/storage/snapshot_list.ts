/**
 * The Storage snapshots a repository holds, newest first.
 *
 * Snapshot ids start with their UTC start time to the second, so sorting ids orders them,
 * except for snapshots started within the same second: those are ordered by the finish time
 * their manifests record.
 *
 * @module
 */
import { STORAGE_MANIFEST_KIND } from "./manifest.ts";
import type { SnapshotRepository } from "./repository_port.ts";

/** Ids of every Storage snapshot on the repository, newest first. */
export async function listSnapshotIds(repository: SnapshotRepository): Promise<string[]> {
  const ids = [...await repository.listManifests(STORAGE_MANIFEST_KIND)].sort().reverse();
  const out: string[] = [];
  for (let i = 0; i < ids.length;) {
    const stamp = ids[i].split("-")[0];
    let j = i + 1;
    while (j < ids.length && ids[j].split("-")[0] === stamp) j++;
    if (j - i === 1) out.push(ids[i]);
    else out.push(...await byFinishTime(repository, ids.slice(i, j)));
    i = j;
  }
  return out;
}

async function byFinishTime(repository: SnapshotRepository, ids: string[]): Promise<string[]> {
  const finished = await Promise.all(ids.map(async (id) => {
    try {
      const manifest = await repository.loadManifest(STORAGE_MANIFEST_KIND, id) as {
        finishedAt?: string;
      };
      return { id, at: manifest?.finishedAt ?? "" };
    } catch {
      return { id, at: "" };
    }
  }));
  return finished.sort((a, b) => b.at.localeCompare(a.at) || b.id.localeCompare(a.id))
    .map((f) => f.id);
}
