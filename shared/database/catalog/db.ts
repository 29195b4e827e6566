/**
 * The connection type the reader takes: a postgres.js `Sql` or `TransactionSql`.
 *
 * @module
 */
import type postgres from "postgres";

/** A postgres.js `Sql` or `TransactionSql`. */
export type Queryable = postgres.Sql | postgres.TransactionSql;
