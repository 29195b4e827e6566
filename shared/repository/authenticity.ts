/**
 * Which manifests a key holder provably wrote, and the rule that only those drive a restore.
 *
 * A manifest is authenticated when it was sealed with a configured key and bound to the kind
 * and id it was read under (`manifest_codec.ts`): someone who can write to a target but holds
 * no key cannot forge, alter, rename or swap one. Everything else — every manifest of a
 * repository without keys, and plain or unbound ones read through the opt-in — is
 * unauthenticated: a restore runs its SQL, loads its rows or uploads its objects only when an
 * operator said so for that command, and unattended restores (restore tests) never do.
 *
 * Opened values are marked here rather than wrapped, so parsed manifests carry the mark with
 * them ({@link carryAuthentication}); a value never marked is unauthenticated, the safe default.
 *
 * @module
 */

const authenticated = new WeakSet<object>();

/** Marks a manifest value as opened from an authenticated seal; returns it. */
export function markAuthenticated<T extends object>(value: T): T {
  authenticated.add(value);
  return value;
}

/** Whether a manifest value was opened from an authenticated seal. */
export function isAuthenticated(value: unknown): boolean {
  return typeof value === "object" && value !== null && authenticated.has(value);
}

/** Marks `parsed` (a validated copy of `raw`) as authenticated when `raw` was; returns it. */
export function carryAuthentication<T extends object>(raw: unknown, parsed: T): T {
  return isAuthenticated(raw) ? markAuthenticated(parsed) : parsed;
}

/** A backup whose manifest no key holder provably wrote was about to drive a restore. */
export class UnauthenticatedBackupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnauthenticatedBackupError";
  }
}

/** Options for {@link requireAuthenticated}. */
export interface RequireAuthenticatedOptions {
  /** How to name the backup in the error, e.g. "Database backup 20261125T141500Z-ab12cd". */
  what: string;
  /** The operator's explicit consent, for this command, to restore it anyway. */
  allowUnauthenticated?: boolean;
}

/**
 * Throws unless `manifest` is authenticated or the operator allowed an unauthenticated one.
 *
 * @throws {UnauthenticatedBackupError} naming the backup and the two ways out
 */
export function requireAuthenticated(
  manifest: unknown,
  options: RequireAuthenticatedOptions,
): void {
  if (isAuthenticated(manifest) || options.allowUnauthenticated) return;
  throw new UnauthenticatedBackupError(
    `${options.what} is not authenticated: its manifest is not sealed with a configured ` +
      `encryption key, so anyone who can write to the target could have written what a ` +
      `restore would run. Set SAUVEGARDE_ENCRYPTION_KEYS so backups are sealed, or, having ` +
      `checked where it comes from, allow it for this command (--allow-unauthenticated)`,
  );
}
