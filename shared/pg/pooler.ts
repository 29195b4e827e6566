/**
 * Transaction-mode poolers between the engine and the server: Supavisor on Supabase's pooler
 * port 6543 (what Supabase tells Edge Functions to use), or PgBouncer with
 * `pool_mode = transaction`. Through one, each transaction may run on another server
 * connection, so:
 * - no session state survives a transaction: the engine sets what it needs with `SET LOCAL` /
 *   `set_config(…, true)` inside the transaction that needs it, whatever the URL (it costs
 *   nothing), and leaves no session setting behind on a server connection others will use;
 * - prepared statements are not to be assumed: a pool for such a URL is opened with
 *   postgres.js's `prepare: false`;
 * - what must share one server connection is one transaction: an exported snapshot lives as
 *   long as the transaction that exported it, and every transaction joining it holds a server
 *   connection of the pooler until the snapshot closes (`exported_snapshot.ts`).
 *
 * A URL says it goes through one with `?pgbouncer=true` (the convention Prisma set); without
 * that parameter, port 6543 does; `?pgbouncer=false` says it does not. The parameter is removed
 * before the URL reaches postgres.js (the pooler would refuse it as a startup parameter).
 * `SAUVEGARDE_DB_POOLER=transaction` sets it on the configured URLs (`config/mod.ts`).
 *
 * @module
 */

/** The URL parameter saying whether a transaction-mode pooler sits in between. */
export const POOLER_PARAMETER = "pgbouncer";

/** The port of Supabase's shared pooler in transaction mode. */
export const TRANSACTION_POOLER_PORT = "6543";

/** Whether `url` reaches the server through a transaction-mode pooler (see the module). */
export function throughTransactionPooler(url: string): boolean {
  const parsed = new URL(url);
  const flag = parsed.searchParams.get(POOLER_PARAMETER);
  if (flag === null) return parsed.port === TRANSACTION_POOLER_PORT;
  if (flag === "true") return true;
  if (flag === "false") return false;
  throw new Error(
    `The database URL's ${POOLER_PARAMETER} parameter must be true or false, not "${flag}"`,
  );
}

/** `url` without the {@link POOLER_PARAMETER} parameter (unchanged when it has none). */
export function withoutPoolerParameter(url: string): string {
  const parsed = new URL(url);
  if (!parsed.searchParams.has(POOLER_PARAMETER)) return url;
  parsed.searchParams.delete(POOLER_PARAMETER);
  return parsed.href;
}

/**
 * What a postgres.js pool for `url` is opened with: the URL postgres.js may see, and whether
 * it may prepare statements (not through a transaction-mode pooler).
 */
export function clientOptions(url: string): { url: string; prepare: boolean } {
  return { url: withoutPoolerParameter(url), prepare: !throughTransactionPooler(url) };
}
