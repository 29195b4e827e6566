/**
 * Which backups each target holds: the manifest ids of a kind on every target, listed once
 * per verification and shared by the checks that need them.
 *
 * @module
 */
import { scrub } from "../notify/scrub.ts";
import type { BackupKind, VerifyContext, VerifyTarget } from "./types.ts";

/** The manifests of one kind on one target. */
export interface TargetManifests {
  target: VerifyTarget;
  /** Manifest ids, sorted (ids start with their UTC time, so the last is the newest). */
  ids: string[];
  /** Why the target could not be listed. */
  error?: string;
}

/** The manifests of a kind on every target (memoised for the verification). */
export function manifestInventory(
  context: VerifyContext,
  kind: BackupKind,
): Promise<TargetManifests[]> {
  return context.once(`inventory:${kind}`, () =>
    Promise.all(context.targets.map(async (target) => {
      try {
        return { target, ids: await target.repository.listManifests(kind) };
      } catch (error) {
        return { target, ids: [], error: describeError(error) };
      }
    })));
}

/** An error as one line without secrets. */
export function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return scrub(message.split("\n")[0]);
}
