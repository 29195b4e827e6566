/**
 * What verification needs from a manifest, whatever its kind: the blobs it references,
 * whether it says its blobs are encrypted, and when it was taken. Each kind's own zod schema
 * validates the manifest first, so an invalid manifest is reported, never half-read.
 *
 * @module
 */
import { parseManifest } from "../database/manifest.ts";
import type { BlobRef } from "../repository/mod.ts";
import { parseStorageManifest } from "../storage/manifest.ts";
import type { BackupKind } from "./types.ts";

/** The facts of one validated manifest. */
export interface ManifestFacts {
  kind: BackupKind;
  id: string;
  /** Every blob referenced, each once, sorted by id. */
  blobs: BlobRef[];
  /** The manifest says its blobs were encrypted. */
  encrypted: boolean;
  startedAt: Date;
  finishedAt: Date;
}

/**
 * Validates a manifest with its kind's schema and extracts its facts.
 *
 * @throws {Error} saying what is invalid
 */
export function manifestFacts(kind: BackupKind, id: string, value: unknown): ManifestFacts {
  const blobs: BlobRef[] = [];
  if (kind === "database") {
    const manifest = parseManifest(value, id);
    for (const section of [manifest.sections.preData, manifest.sections.postData]) {
      if ("blobs" in section) blobs.push(...section.blobs);
    }
    for (const table of manifest.tables) blobs.push(...table.blobs);
    if (manifest.largeObjects) blobs.push(...manifest.largeObjects.blobs);
    return {
      kind,
      id,
      blobs: unique(blobs),
      encrypted: manifest.options.encryptionKeyId !== null,
      startedAt: new Date(manifest.startedAt),
      finishedAt: new Date(manifest.finishedAt),
    };
  }
  const manifest = parseStorageManifest(value, id);
  if (manifest.id !== id) throw new Error(`Storage snapshot ${id} names another snapshot`);
  for (const object of manifest.objects) blobs.push(...object.blobs);
  return {
    kind,
    id,
    blobs: unique(blobs),
    encrypted: manifest.options.encrypted,
    startedAt: new Date(manifest.startedAt),
    finishedAt: new Date(manifest.finishedAt),
  };
}

function unique(blobs: BlobRef[]): BlobRef[] {
  const byId = new Map<string, BlobRef>();
  for (const blob of blobs) {
    byId.set(blob.id, { id: blob.id, size: blob.size, storedSize: blob.storedSize });
  }
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export { idTime } from "../repository/references.ts";
