/**
 * How a restore test reads a scratch database back: each read in a read-only transaction of
 * its own, the engine's COPY settings local to it (which holds through a transaction-mode
 * pooler), and synchronized scans off (a scan that joins another one mid-table would read the
 * rows in another order).
 *
 * @module
 */
import type postgres from "postgres";
import { prepareSession } from "../pg/session.ts";

/** Runs `work` in a read-only transaction with the read-back settings local to it. */
export function readBack<T>(
  sql: postgres.Sql,
  work: (tx: postgres.TransactionSql) => Promise<T>,
): Promise<T> {
  return sql.begin("read only", async (tx) => {
    await prepareSession(tx, { local: true });
    await tx`select pg_catalog.set_config('synchronize_seqscans', 'off', true)`;
    return await work(tx);
  }) as Promise<T>;
}
