/**
 * The last phase of a database backup: every blob it references checked as stored, then the
 * manifest written, last; only then does the backup exist.
 *
 * @module
 */
import type { Repository } from "../../repository/mod.ts";
import { deriveBackupClass } from "../backup_class.ts";
import { type DatabaseManifest, saveDatabaseManifest } from "../manifest.ts";
import { sectionBlobs } from "../sections.ts";
import { compareText } from "./order.ts";
import type { BackupRunState } from "./state.ts";

/** Options for {@link finishBackupRun}. */
export interface FinishBackupRunOptions {
  signal?: AbortSignal;
  /** Blobs checked at once (default 8). */
  concurrency?: number;
}

/**
 * Checks that every blob the backup references is stored with its recorded stored size, then
 * writes the manifest (last) and returns it. Throws when tables are still pending.
 */
export async function finishBackupRun(
  state: BackupRunState,
  repository: Repository,
  options: FinishBackupRunOptions = {},
): Promise<DatabaseManifest> {
  if (state.pending.length > 0) {
    throw new Error(`The backup still has ${state.pending.length} tables to copy`);
  }
  const blobs = new Map<string, { id: string; size: number; storedSize: number }>();
  for (const table of state.done) for (const blob of table.blobs) blobs.set(blob.id, blob);
  for (const blob of state.largeObjects?.blobs ?? []) blobs.set(blob.id, blob);
  for (const blob of sectionBlobs(state.sections.preData)) blobs.set(blob.id, blob);
  for (const blob of sectionBlobs(state.sections.postData)) blobs.set(blob.id, blob);
  await checkStored(repository, [...blobs.values()], options);
  options.signal?.throwIfAborted();
  const manifest = manifestOf(state, blobs.size);
  await saveDatabaseManifest(repository, manifest);
  return manifest;
}

/** Checks, several at a time, that each blob is stored with its recorded stored size. */
async function checkStored(
  repository: Repository,
  refs: readonly { id: string; size: number; storedSize: number }[],
  options: FinishBackupRunOptions,
): Promise<void> {
  const concurrency = options.concurrency ?? 8;
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, refs.length) }, async () => {
    while (next < refs.length) {
      options.signal?.throwIfAborted();
      const check = await repository.verifyBlob(refs[next++]);
      if (!check.ok) throw new Error(`The backup cannot be completed: ${check.message}`);
    }
  }));
}

/** The manifest of a finished run: its tables sorted by schema and name, and the totals. */
function manifestOf(state: BackupRunState, blobs: number): DatabaseManifest {
  const tables = [...state.done].sort((a, b) =>
    a.schema === b.schema ? compareText(a.name, b.name) : compareText(a.schema, b.schema)
  );
  return {
    formatVersion: 1,
    kind: "database",
    backupId: state.backupId,
    purpose: state.purpose,
    class: deriveBackupClass({ ...state, incomplete: state.warnings.length > 0 }),
    ...(state.label === undefined ? {} : { label: state.label }),
    source: state.source,
    startedAt: state.startedAt,
    finishedAt: new Date().toISOString(),
    snapshotTime: state.snapshotTime,
    snapshots: state.snapshots,
    options: {
      scope: state.scope,
      compression: state.compression,
      encryptionKeyId: state.encryptionKeyId,
      copyFormat: "text",
    },
    roles: state.roles,
    warnings: state.warnings,
    sections: state.sections,
    tables,
    ...(state.largeObjects ? { largeObjects: state.largeObjects } : {}),
    totals: {
      tables: tables.length,
      rows: tables.reduce((sum, table) => sum + table.rows, 0),
      bytes: tables.reduce((sum, table) => sum + table.bytes, 0),
      storedBytes: tables.reduce((sum, table) => sum + table.storedBytes, 0),
      blobs,
      reusedBlobs: state.reusedBlobs,
    },
  };
}
