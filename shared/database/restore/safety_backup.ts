/**
 * Phase 3 of a restore: a non-empty destination is first backed up into the same repository
 * (a "safety" backup), so what the restore overwrites can be brought back.
 *
 * @module
 */
import type postgres from "postgres";
import type { Repository } from "../../repository/mod.ts";
import { backupDatabase } from "../backup/mod.ts";

/** Backs up the destination as a safety backup; returns its id. */
export async function takeSafetyBackup(
  db: postgres.Sql,
  options: { repository: Repository; restoring: string; parallel: number; signal?: AbortSignal },
): Promise<string> {
  const safety = await backupDatabase({
    db,
    repository: options.repository,
    purpose: "safety",
    label: `Before restoring ${options.restoring}`,
    parallel: options.parallel,
    signal: options.signal,
  });
  return safety.backupId;
}
