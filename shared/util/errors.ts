/**
 * Errors that several layers raise and catch: the targets throw them, the codec and the
 * repository throw {@link IntegrityError} for bytes that do not check, and callers above tell
 * a missing object ({@link NotFoundError}) from a damaged one. They live at the bottom of the
 * layers so that none of those packages has to import another for an error class.
 *
 * @module
 */

/** Base class of every error a storage target raises. */
export class TargetError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TargetError";
  }
}

/** The key does not exist on the target. */
export class NotFoundError extends TargetError {
  constructor(readonly key: string, location: string) {
    super(`No object "${key}" on ${location}`);
    this.name = "NotFoundError";
  }
}

/** Stored bytes do not match what was expected (short, long or corrupt write or read). */
export class IntegrityError extends TargetError {
  constructor(message: string) {
    super(message);
    this.name = "IntegrityError";
  }
}
