/**
 * What a repository holds, read once for a prune: every manifest of every kind with its time
 * (and, for database backups, class) and the blobs it references, and every stored blob with
 * its size and age.
 *
 * @module
 */
import { type BackupClass, looseBackupClass } from "../database/backup_class.ts";
import { DATABASE_MANIFEST_KIND } from "../database/manifest.ts";
import { referencedBlobs } from "../repository/references.ts";
import { manifestTime } from "../repository/references.ts";
import type { BlobObject, BlobRef, Repository } from "../repository/repository.ts";

/** One manifest of the repository. */
export interface HeldManifest {
  kind: string;
  id: string;
  /** When the backup was taken; undefined when neither the manifest nor its id says. */
  time?: Date;
  /** A database backup's class (`database/backup_class.ts`); undefined for other kinds. */
  class?: BackupClass;
  refs: BlobRef[];
}

/** The repository's manifests and blobs. */
export interface Holdings {
  manifests: HeldManifest[];
  blobs: Map<string, BlobObject>;
}

/** A manifest could not be read: pruning would not know what it references. */
export class HoldingsError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "HoldingsError";
  }
}

/** The manifest kinds present in a repository (the folders under `manifests/`). */
export async function manifestKinds(repository: Repository): Promise<string[]> {
  const kinds = new Set<string>();
  for await (const info of repository.target.list("manifests/")) {
    const parts = info.key.split("/");
    if (parts.length === 3 && parts[2].endsWith(".json")) kinds.add(parts[1]);
  }
  return [...kinds].sort();
}

/** Every manifest key (`kind/id`) in the repository. */
export async function listManifestKeys(repository: Repository): Promise<string[]> {
  const keys: string[] = [];
  for (const kind of await manifestKinds(repository)) {
    for (const id of await repository.listManifests(kind)) keys.push(`${kind}/${id}`);
  }
  return keys;
}

/**
 * Loads one manifest's references and time.
 *
 * @throws {HoldingsError} when it cannot be read or parsed
 */
export async function loadCatalogManifest(
  repository: Repository,
  kind: string,
  id: string,
): Promise<HeldManifest> {
  let value: unknown;
  try {
    value = await repository.loadManifest(kind, id);
  } catch (error) {
    throw new HoldingsError(
      `Manifest ${kind}/${id} could not be read (${
        error instanceof Error ? error.message : String(error)
      }), so what it references is unknown`,
      { cause: error },
    );
  }
  return {
    kind,
    id,
    time: manifestTime(id, value),
    ...(kind === DATABASE_MANIFEST_KIND ? { class: looseBackupClass(value) } : {}),
    refs: referencedBlobs(value),
  };
}

/** Reads every manifest and lists every blob. */
export async function readHoldings(
  repository: Repository,
  options: { concurrency?: number } = {},
): Promise<Holdings> {
  const blobs = new Map<string, BlobObject>();
  for await (const blob of repository.listBlobObjects()) blobs.set(blob.id, blob);
  const keys = await listManifestKeys(repository);
  const manifests = new Array<HeldManifest>(keys.length);
  let next = 0;
  const worker = async () => {
    while (next < keys.length) {
      const at = next++;
      const [kind, id] = splitKey(keys[at]);
      manifests[at] = await loadCatalogManifest(repository, kind, id);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
  return { manifests, blobs };
}

/** `kind/id` → [kind, id]. */
export function splitKey(key: string): [string, string] {
  const slash = key.indexOf("/");
  return [key.slice(0, slash), key.slice(slash + 1)];
}
