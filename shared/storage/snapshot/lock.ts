/**
 * A snapshot step's own hold on the repository (`repository/hold.ts`), so that prune refuses
 * to start, or to sweep, while the step runs; the step waits while a prune holds its lock.
 *
 * @module
 */
import { holdRepository, type RepositoryHold } from "../../repository/hold.ts";
import type { SnapshotRepository } from "../repository_port.ts";
import type { SnapshotStepOptions } from "./context.ts";

/** Holds `repository` for the step; undefined when the step's budget ran out waiting. */
export function holdForStep(
  repository: SnapshotRepository,
  snapshotId: string,
  options: SnapshotStepOptions,
): Promise<RepositoryHold | undefined> {
  return holdRepository(repository, {
    kind: "storage",
    id: snapshotId,
    owner: `storage snapshot ${snapshotId}`,
    signal: options.signal,
    giveUp: () => options.budget?.exhausted() ?? false,
    onWait: (prune) =>
      console.error(
        `A prune holds the repository (until ${prune.expiresAt} at the latest); ` +
          `the snapshot waits for it`,
      ),
  });
}
