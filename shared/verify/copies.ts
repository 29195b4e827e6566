/**
 * The copies of the latest backup of a kind (`latest.ts`): for every target, whether it holds the
 * manifest, whether the manifest validates, and whether every blob it references is there
 * with the size the manifest recorded. Computed once per verification; integrity and
 * replication both read it.
 *
 * A target is asked about each blob (one request each) up to `statLimit` blobs; beyond, its
 * blob folder is listed once, which costs one request per thousand blobs on S3.
 *
 * @module
 */
import type { BlobRef } from "../repository/mod.ts";
import { describeError, manifestInventory } from "./inventory.ts";
import { latestBackupId } from "./latest.ts";
import { mapLimit } from "../util/concurrency.ts";
import { type ManifestFacts, manifestFacts } from "./manifest_facts.ts";
import type { BackupKind, VerifyContext, VerifyTarget } from "./types.ts";

/** The state of one target's copy of the latest backup. */
export type CopyState = "complete" | "incomplete" | "invalid" | "absent" | "unreachable";

/** One target's copy. */
export interface TargetCopy {
  target: VerifyTarget;
  state: CopyState;
  facts?: ManifestFacts;
  /** Blob ids that are not stored. */
  missing: string[];
  /** Blob ids stored with another size than the manifest recorded. */
  wrongSize: string[];
  /** Why the manifest is invalid or the target unreachable. */
  error?: string;
  /** The manifest opened from an authenticated seal (see `repository/authenticity.ts`). */
  authenticated?: boolean;
}

/** The latest backup of a kind and its copies. */
export interface LatestCopies {
  kind: BackupKind;
  /**
   * The latest backup id on any target (`latest.ts`: not future-dated; for the database, a
   * full backup); undefined when there is none.
   */
  backupId?: string;
  copies: TargetCopy[];
}

/** The copies of the latest backup of `kind` (memoised for the verification). */
export function latestCopies(context: VerifyContext, kind: BackupKind): Promise<LatestCopies> {
  return context.once(`copies:${kind}`, async () => {
    const inventory = await manifestInventory(context, kind);
    const backupId = await latestBackupId(context, kind);
    if (!backupId) {
      return {
        kind,
        copies: inventory.map((entry) => ({
          target: entry.target,
          state: entry.error ? "unreachable" : "absent",
          missing: [],
          wrongSize: [],
          error: entry.error,
        })),
      };
    }
    const copies = await Promise.all(inventory.map(async (entry): Promise<TargetCopy> => {
      const base = { target: entry.target, missing: [], wrongSize: [] };
      if (entry.error) return { ...base, state: "unreachable", error: entry.error };
      if (!entry.ids.includes(backupId)) return { ...base, state: "absent" };
      let facts: ManifestFacts;
      let authenticated: boolean;
      try {
        const opened = await entry.target.repository.openManifest(kind, backupId);
        authenticated = opened.authenticated;
        facts = manifestFacts(kind, backupId, opened.value);
      } catch (error) {
        return { ...base, state: "invalid", error: describeError(error) };
      }
      try {
        const { missing, wrongSize } = await checkPresence(context, entry.target, facts.blobs);
        const state = missing.length || wrongSize.length ? "incomplete" : "complete";
        return { target: entry.target, state, facts, missing, wrongSize, authenticated };
      } catch (error) {
        return { ...base, facts, authenticated, state: "unreachable", error: describeError(error) };
      }
    }));
    return { kind, backupId, copies };
  });
}

async function checkPresence(
  context: VerifyContext,
  target: VerifyTarget,
  blobs: BlobRef[],
): Promise<{ missing: string[]; wrongSize: string[] }> {
  const missing: string[] = [];
  const wrongSize: string[] = [];
  if (blobs.length <= context.options.statLimit) {
    const checks = await mapLimit(
      blobs,
      context.options.concurrency,
      (blob) => target.repository.verifyBlob(blob),
    );
    for (const check of checks) {
      if (check.ok) continue;
      if (check.problem === "missing") missing.push(check.id);
      else wrongSize.push(check.id);
    }
    return { missing, wrongSize };
  }
  const stored = new Map<string, number>();
  for await (const blob of target.repository.listBlobObjects()) {
    stored.set(blob.id, blob.storedSize);
  }
  for (const blob of blobs) {
    const size = stored.get(blob.id);
    if (size === undefined) missing.push(blob.id);
    else if (size !== blob.storedSize) wrongSize.push(blob.id);
  }
  return { missing, wrongSize };
}
