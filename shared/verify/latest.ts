/**
 * Which backup verification calls "the latest" of a kind: the newest id on the targets that
 * is not dated in the future (`repository/backup_time.ts`) and, for database backups, is a
 * full backup of the project (`database/backup_class.ts`). Partial, safety and other-database
 * backups are never the latest; an id whose manifest no target can read still is, so the
 * integrity check reports it instead of passing over a damaged newest backup.
 *
 * @module
 */
import type { BackupClass } from "../database/backup_class.ts";
import { backupClassOf } from "../database/backup_class.ts";
import { parseManifest } from "../database/manifest.ts";
import { isFutureId } from "../repository/backup_time.ts";
import { manifestInventory, type TargetManifests } from "./inventory.ts";
import type { BackupKind, VerifyContext } from "./types.ts";

/**
 * The class of database backup `id`, from the first target whose copy opens and validates
 * (memoised); undefined when none does.
 */
export function databaseClassOf(
  context: VerifyContext,
  id: string,
): Promise<BackupClass | undefined> {
  return context.once(`class:${id}`, async () => {
    for (const entry of await manifestInventory(context, "database")) {
      if (!entry.ids.includes(id)) continue;
      try {
        const value = await entry.target.repository.loadManifest("database", id);
        return backupClassOf(parseManifest(value, id));
      } catch {
        // Another target's copy may be sound; the integrity check reports this one.
      }
    }
    return undefined;
  });
}

/** The latest backup among `ids` (sorted oldest first), as the module describes. */
export async function latestAmong(
  context: VerifyContext,
  kind: BackupKind,
  ids: readonly string[],
): Promise<string | undefined> {
  for (let i = ids.length - 1; i >= 0; i--) {
    const id = ids[i];
    if (isFutureId(id, context.now)) continue;
    if (kind !== "database") return id;
    const found = await databaseClassOf(context, id);
    if (found === undefined || found === "full") return id;
  }
  return undefined;
}

/** The latest backup of a kind on any target (memoised). */
export function latestBackupId(
  context: VerifyContext,
  kind: BackupKind,
): Promise<string | undefined> {
  return context.once(`latest:${kind}`, async () => {
    const inventory = await manifestInventory(context, kind);
    const ids = [...new Set(inventory.flatMap((entry) => entry.ids))].sort();
    return await latestAmong(context, kind, ids);
  });
}

/** The ids a target holds that are dated in the future: suspicious, never latest. */
export function futureIds(context: VerifyContext, entry: TargetManifests): string[] {
  return entry.ids.filter((id) => isFutureId(id, context.now));
}
