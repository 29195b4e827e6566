/**
 * Opening engine connections from a URL or adopting a caller's postgres.js pool.
 *
 * @module
 */
import postgres from "postgres";
import { clientOptions, throughTransactionPooler } from "./pooler.ts";
import { tappedSocketOptions } from "./wire_socket.ts";

/** A database given as a connection URL or an existing postgres.js pool. */
export type DatabaseInput = string | postgres.Sql;

/** A pool plus how to let go of it (only pools opened here are ended). */
export interface Connection {
  sql: postgres.Sql;
  /** Where it points, without the password. */
  label: string;
  /** Ends the pool if it was opened here; `force` drops connections at once. */
  close(options?: { force?: boolean }): Promise<void>;
}

/** The database's location without credentials: `host:port/database`. */
export function describeDatabase(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || "5432"}${parsed.pathname}`;
  } catch {
    return "(unparsable URL)";
  }
}

/**
 * Opens a pool of up to `max` connections for `db`, or wraps the caller's pool (which must
 * allow `max` connections at once, and is left open).
 */
export function openConnection(db: DatabaseInput, options: { max: number }): Connection {
  if (typeof db !== "string") {
    return { sql: db, label: "the given connection", close: () => Promise.resolve() };
  }
  let parsed: URL;
  try {
    parsed = new URL(db);
  } catch {
    throw new Error(
      "The database URL is not a valid URL (expected postgres://user:password@host:5432/db)",
    );
  }
  if (!/^postgres(ql)?:$/.test(parsed.protocol)) {
    throw new Error(
      `The database URL must start with postgres:// or postgresql://, not ${parsed.protocol}//`,
    );
  }
  const sql = engineSql(db, { max: options.max, idle_timeout: 30 });
  return {
    sql,
    label: describeDatabase(db),
    close: async ({ force = false } = {}) => {
      await sql.end({ timeout: force ? 0 : 5 }).catch(() => {});
    },
  };
}

/** Pools opened by {@link engineSql} for a URL that goes through a transaction-mode pooler. */
const pooledPools = new WeakSet<postgres.Sql>();

/**
 * A postgres.js pool for the engine: its sockets carry a COPY tap (`wire_socket.ts`), notices
 * are dropped, and it names itself to the server. Through a transaction-mode pooler
 * (`pooler.ts`) it prepares no statements.
 */
export function engineSql(
  url: string,
  options: { max: number; idle_timeout?: number },
): postgres.Sql {
  const client = clientOptions(url);
  const sql = postgres(client.url, {
    ...options,
    prepare: client.prepare,
    onnotice: () => {},
    connect_timeout: 15,
    connection: { application_name: "sauvegarde" },
    ...tappedSocketOptions(client.url),
  } as postgres.Options<Record<string, never>>);
  if (throughTransactionPooler(url)) pooledPools.add(sql);
  return sql;
}

/**
 * A plain postgres.js pool for `url` (no COPY tap, notices dropped) that honours a
 * transaction-mode pooler (`pooler.ts`): the URL's marker removed, no prepared statements.
 */
export function clientSql(
  url: string,
  options: { max: number; connection?: Record<string, string> },
): postgres.Sql {
  const client = clientOptions(url);
  return postgres(client.url, { ...options, prepare: client.prepare, onnotice: () => {} });
}

/**
 * Whether `sql` is an engine pool whose URL goes through a transaction-mode pooler (a caller's
 * own pool is not known to: false).
 */
export function isPooled(sql: postgres.Sql): boolean {
  return pooledPools.has(sql);
}

/** Rewords connection failures (refused, unknown host, bad password) to name the database. */
export function connectionError(error: unknown, label: string): Error {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string })?.code ?? "";
  if (
    /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|CONNECT_TIMEOUT|28P01|28000|3D000)$/.test(code) ||
    /connect|getaddrinfo|password authentication/i.test(message) && !/COPY/i.test(message)
  ) {
    return new Error(`Could not connect to the database at ${label}: ${message}`, { cause: error });
  }
  return error instanceof Error ? error : new Error(message);
}
