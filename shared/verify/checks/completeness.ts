/**
 * Completeness of the newest database backup of the project: one recorded `incomplete`
 * (taken with `--allow-incomplete` or SAUVEGARDE_ALLOW_INCOMPLETE) holds a database a restore
 * would not reproduce. It is never "latest", so a full backup older than it may still pass
 * freshness: this check says the newest one is not a backup the project can count on, and
 * names what it leaves out.
 *
 * @module
 */
import { databaseClassOf } from "../latest.ts";
import { manifestInventory } from "../inventory.ts";
import { isFutureId } from "../../repository/backup_time.ts";
import type { Check, CheckResult, VerifyContext } from "../types.ts";

const ID = "completeness.database";
const NAME = "Database backup completeness";

/** The warnings recorded in backup `id`'s manifest, from the first target that opens it. */
async function warningsOf(context: VerifyContext, id: string): Promise<string[]> {
  for (const entry of await manifestInventory(context, "database")) {
    if (!entry.ids.includes(id)) continue;
    try {
      const value = await entry.target.repository.loadManifest("database", id);
      const warnings = (value as { warnings?: unknown }).warnings;
      if (Array.isArray(warnings)) return warnings.map(String);
    } catch {
      // Integrity reports a manifest no target can open.
    }
  }
  return [];
}

async function completeness(context: VerifyContext): Promise<CheckResult> {
  const inventory = await manifestInventory(context, "database");
  const ids = [...new Set(inventory.flatMap((entry) => entry.ids))].sort();
  for (let i = ids.length - 1; i >= 0; i--) {
    const id = ids[i];
    if (isFutureId(id, context.now)) continue;
    const found = await databaseClassOf(context, id);
    // Safety, other-database and partial backups are not the project's backup: look further.
    if (found !== "incomplete" && found !== "full") continue;
    if (found === "full") {
      return {
        id: ID,
        name: NAME,
        status: "ok",
        summary: `The newest database backup ${id} is complete`,
      };
    }
    const warnings = await warningsOf(context, id);
    return {
      id: ID,
      name: NAME,
      status: "fail",
      summary: `The newest database backup ${id} is incomplete: a restore of it would fail or ` +
        `differ from the database (${warnings.length} object${
          warnings.length === 1 ? "" : "s"
        } not reproduced: ${warnings.slice(0, 3).join("; ")}${warnings.length > 3 ? "; …" : ""})`,
      nextStep: "Remove or change the objects it names (or upgrade Sauvegarde), then take a " +
        "new backup; an incomplete backup is never used as the latest one",
      details: { backupId: id, warnings },
    };
  }
  return { id: ID, name: NAME, status: "ok", summary: "There is no database backup to check" };
}

/** Whether the newest database backup of the project is complete. */
export const completenessCheck: Check = {
  id: "completeness",
  run: async (context) => [await completeness(context)],
};
