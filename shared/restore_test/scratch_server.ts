/**
 * Which server holds a restore test's scratch database: the first of the candidates whose role
 * may create databases (Supabase's `postgres` role has CREATEDB on the project's own server;
 * `SAUVEGARDE_RESTORE_TEST_DB_URL` names another). The choice is made once per run and recorded
 * by the setting's name, never the URL (the checkpoint is a row others may read).
 *
 * @module
 */
import { describeDatabase, engineSql } from "../pg/connect.ts";

/** A server a scratch database may be created on, named by the setting that gives it. */
export interface ScratchServer {
  /** The setting it comes from, e.g. `SUPABASE_DB_URL`: what a run records. */
  setting: string;
  url: string;
}

/** The outcome of {@link chooseScratchServer}. */
export type ScratchServerChoice =
  | { server: ScratchServer; refusals: string[] }
  | { server?: undefined; refusals: string[] };

/**
 * Why the role `url` connects as may not create a database there, or undefined when it may
 * (CREATEDB or superuser). An unreachable server is a refusal too, with the reason.
 */
export async function createDatabaseRefusal(url: string): Promise<string | undefined> {
  const sql = engineSql(url, { max: 1 });
  try {
    const [row] = await sql<{ role: string; may: boolean }[]>`
      select rolname as role, rolcreatedb or rolsuper as may
      from pg_catalog.pg_roles where rolname = current_user`;
    return row?.may ? undefined : `its role ${row?.role ?? "(unknown)"} lacks CREATEDB`;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return `it could not be asked: ${message.split("\n")[0]}`;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** The first server that may create databases, with why each one before it may not. */
export async function chooseScratchServer(
  candidates: ScratchServer[],
): Promise<ScratchServerChoice> {
  const refusals: string[] = [];
  for (const server of candidates) {
    const refusal = await createDatabaseRefusal(server.url);
    if (refusal === undefined) return { server, refusals };
    refusals.push(`${server.setting} (${describeDatabase(server.url)}): ${refusal}`);
  }
  return { refusals };
}

/**
 * The candidates in order, without repeats: the project's own server first, then the
 * configured fallback.
 */
export function scratchCandidates(
  settings: Array<[setting: string, url: string | undefined]>,
): ScratchServer[] {
  const seen = new Set<string>();
  const servers: ScratchServer[] = [];
  for (const [setting, url] of settings) {
    if (!url || seen.has(url)) continue;
    seen.add(url);
    servers.push({ setting, url });
  }
  return servers;
}
