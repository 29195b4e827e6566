/**
 * The one-shot backup's own hold on the repository (`repository/hold.ts`): taken before any
 * blob is reused or stored and kept until the manifest is written, so that a prune refuses to
 * start meanwhile; the backup waits while a prune holds its lock.
 *
 * @module
 */
import type { Repository } from "../../repository/mod.ts";
import { holdRepository, type RepositoryHold } from "../../repository/hold.ts";

/** Holds `repository` for a backup (or a restore's safety backup), waiting out a prune. */
export async function holdForBackup(
  repository: Repository,
  options: { purpose?: "backup" | "safety"; signal?: AbortSignal },
): Promise<RepositoryHold> {
  return (await holdRepository(repository, {
    kind: "database",
    id: options.purpose === "safety" ? "safety" : "backup",
    owner: options.purpose === "safety" ? "safety backup" : "database backup",
    signal: options.signal,
    onWait: (prune) =>
      console.error(
        `A prune holds the repository (until ${prune.expiresAt} at the latest); ` +
          `the backup waits for it`,
      ),
  }))!;
}
