/**
 * The one error a restore throws.
 *
 * @module
 */

/** A restore was refused or failed; `applied` says whether the destination was changed. */
export class RestoreError extends Error {
  /** The safety backup taken of the destination before it was changed, if any. */
  readonly safetyBackupId: string | null;
  constructor(
    message: string,
    readonly applied: boolean,
    options?: ErrorOptions & { safetyBackupId?: string | null },
  ) {
    super(message, options);
    this.name = "RestoreError";
    this.safetyBackupId = options?.safetyBackupId ?? null;
  }
}
