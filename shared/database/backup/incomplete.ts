/**
 * A backup that could not reproduce everything in its scope: refused by default, so that a
 * backup that succeeds restores. The operator may take it anyway (`allowIncomplete`), and it
 * is then recorded `incomplete`: never "latest", failed by verification, alerted.
 *
 * @module
 */

/** The database holds objects a backup cannot reproduce; nothing was stored. */
export class IncompleteBackupError extends Error {
  /** What cannot be reproduced, each naming the object and why. */
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    // One line: run errors and alerts keep the first line of a message.
    const shown = problems.slice(0, 10).join("; ");
    const more = problems.length > 10 ? `; and ${problems.length - 10} more` : "";
    super(
      `The backup cannot be complete, a restore would fail or differ from the database: ` +
        `${shown}${more}. Nothing was stored. To record an incomplete backup anyway (never ` +
        "used as the latest backup), pass --allow-incomplete (SAUVEGARDE_ALLOW_INCOMPLETE=true " +
        "for scheduled runs).",
    );
    this.name = "IncompleteBackupError";
    this.problems = problems;
  }
}

/** Throws {@link IncompleteBackupError} when there are problems and they are not allowed. */
export function refuseIncomplete(
  problems: readonly string[],
  options: { allowIncomplete?: boolean; purpose?: "backup" | "safety" },
): void {
  // A safety backup is taken whatever it finds: it only protects what a restore overwrites.
  if (problems.length === 0 || options.allowIncomplete || options.purpose === "safety") return;
  throw new IncompleteBackupError(problems);
}
