/**
 * Why a table's copy failed, in one clause for the run's error.
 *
 * @module
 */

/** Error codes of a lost connection: postgres.js's, the socket's, and the server's 57P0x. */
const CONNECTION_LOST = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
  "CONNECTION_ENDED",
  "ECONNRESET",
  "EPIPE",
  "57P01",
  "57P02",
  "57P03",
]);

/** One clause on why a table's copy failed; a lost database connection is named as such. */
export function describeCopyError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string } | null)?.code;
  if (code !== undefined && CONNECTION_LOST.has(code)) {
    return `the database connection was lost (${message})`;
  }
  return message;
}
