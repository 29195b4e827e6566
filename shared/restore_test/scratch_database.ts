/**
 * A throwaway database for a restore test: created on a server, dropped afterwards, whatever
 * happened in between. Its name says what it is, `sauvegarde_restore_test_<short id>`, so an
 * operator who finds one left over (the process was killed) knows it may be dropped.
 *
 * @module
 */
import { describeDatabase, engineSql } from "../pg/connect.ts";

/** Prefix of every scratch database's name. */
export const SCRATCH_PREFIX = "sauvegarde_restore_test_";

/** A scratch database that exists until {@link ScratchDatabase.drop} is called. */
export interface ScratchDatabase {
  name: string;
  /** Connection URL of the scratch database (same role and server as the server URL). */
  url: string;
  /** Where it lives, without credentials. */
  label: string;
  /** Drops the database, ending any connection still open to it. */
  drop(): Promise<void>;
}

/**
 * The database a Supabase project's scratch databases are copied from, when it exists on the
 * scratch server: it holds the platform schemas (auth, storage, …) a project's own tables,
 * policies and functions refer to, which a plain `CREATE DATABASE` lacks.
 */
export const PLATFORM_TEMPLATE = "sauvegarde_restore_template";

/** A fresh short id for a scratch database name: 8 lowercase hex characters. */
export function scratchId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(4));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** Whether a database of that name exists on the server `serverUrl` points at. */
export async function databaseExists(serverUrl: string, name: string): Promise<boolean> {
  const sql = engineSql(serverUrl, { max: 1 });
  try {
    const rows = await sql`select 1 from pg_catalog.pg_database where datname = ${name}`;
    return rows.length > 0;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * Creates `sauvegarde_restore_test_<id>` on the server `serverUrl` points at (connecting to the
 * database it names to run `CREATE DATABASE`; the role needs the CREATEDB privilege), as a
 * copy of `template` when given.
 */
export async function createScratchDatabase(
  serverUrl: string,
  options: { id?: string; template?: string } = {},
): Promise<ScratchDatabase> {
  const id = options.id ?? scratchId();
  if (!/^[0-9a-z_]{1,32}$/.test(id)) {
    throw new Error("A scratch database id must be 1 to 32 lowercase letters, digits or _");
  }
  const name = `${SCRATCH_PREFIX}${id}`;
  const admin = engineSql(serverUrl, { max: 1 });
  try {
    if (options.template) {
      await admin`create database ${admin(name)} template ${admin(options.template)}`;
    } else {
      await admin`create database ${admin(name)}`;
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(
      `Could not create the scratch database ${name} on ${describeDatabase(serverUrl)}: ${message}`,
      { cause: error },
    );
  } finally {
    await admin.end({ timeout: 5 });
  }
  const url = scratchUrl(serverUrl, name);
  return {
    name,
    url,
    label: describeDatabase(url),
    drop: () => dropScratchDatabase(serverUrl, name),
  };
}

/** The URL of database `name` on the server `serverUrl` points at (same role and options). */
export function scratchUrl(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Drops a scratch database left by an earlier, interrupted attempt (nothing when absent). */
export async function dropScratchDatabase(serverUrl: string, name: string): Promise<void> {
  if (!name.startsWith(SCRATCH_PREFIX)) {
    throw new Error(`Refusing to drop ${name}: it is not a scratch database`);
  }
  const sql = engineSql(serverUrl, { max: 1 });
  try {
    await sql`drop database if exists ${sql(name)} with (force)`;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * Drops every scratch database of a scheduled or triggered run (`<prefix>run_<id>`) on the
 * server: called when a run starts, as only one restore test runs at a time, any such
 * database is one a killed run left. Scratch databases of other names (an operator's own
 * test-restore with a random id) are left alone.
 */
export async function dropRunScratchDatabases(serverUrl: string): Promise<string[]> {
  const sql = engineSql(serverUrl, { max: 1 });
  let names: string[];
  try {
    const pattern = `${SCRATCH_PREFIX}run_`.replaceAll("_", "\\_") + "%";
    const rows = await sql<{ name: string }[]>`
      select datname as name from pg_catalog.pg_database where datname like ${pattern}`;
    names = rows.map((row) => row.name);
  } finally {
    await sql.end({ timeout: 5 });
  }
  for (const name of names) await dropScratchDatabase(serverUrl, name);
  return names;
}
