/**
 * The destination connections a restore writes through, each reserved for the whole restore,
 * and the transactions all its work runs in.
 *
 * Nothing is set for the session: through a transaction-mode pooler (`pg/pooler.ts`) each
 * transaction may run on another server connection, and a session setting would both miss the
 * next transaction and stay behind for the pooler's other clients. So every transaction starts
 * with the restore's settings, local to it (`SET LOCAL`, `set_config(…, true)`): the COPY text
 * settings (`pg/session.ts`), pg_dump's restore settings, more memory for index builds, and
 * triggers and foreign-key checks off (`session_replication_role = replica`) where the role may
 * set it. Each ends with `RESET ALL`, so that what a statement of the backup sets for the
 * session (`SET row_security` around a materialized view's refresh) is not left behind either.
 * The settings travel in the BEGIN's round trip and the reset in the COMMIT's: it costs nothing,
 * so a direct connection is handled the same way.
 *
 * @module
 */
import type postgres from "postgres";
import { sessionSettingsStatement } from "../../pg/session.ts";
import { RESTORE_SETTINGS } from "../catalog/mod.ts";

const INSUFFICIENT_PRIVILEGE = "42501";
const MAINTENANCE_MEMORY = "select pg_catalog.set_config('maintenance_work_mem', '128MB', true) " +
  "where pg_catalog.current_setting('maintenance_work_mem') not similar to '%(GB|TB)'";
const TRIGGERS_OFF = "select pg_catalog.set_config('session_replication_role', 'replica', true)";
/** Ends a transaction: session settings a statement made are undone, then it commits. */
const END = "reset all;\ncommit";

/**
 * The restore settings (pg_dump's preamble, `catalog/preamble.ts`) for the current
 * transaction only: each `SET` made `SET LOCAL`, each `set_config(…, false)` made
 * `set_config(…, true)`. A statement of another form is refused (it might hold for the
 * session only, which a pooler does not keep).
 */
export function localRestoreSettings(settings: string = RESTORE_SETTINGS): string {
  return settings.split("\n").filter((line) => line.trim() !== "").map((line) => {
    if (/^SET (?!LOCAL |SESSION )\w+ (=|TO) /i.test(line)) {
      return line.replace(/^SET /i, "SET LOCAL ");
    }
    const call = /^SELECT (pg_catalog\.)?set_config\((.*), false\);$/i.exec(line);
    if (call) return `SELECT pg_catalog.set_config(${call[2]}, true);`;
    throw new Error(`The restore settings hold a statement that cannot be made local: ${line}`);
  }).join("\n");
}

/** One reserved destination connection, whose work runs in transactions with the settings. */
export class RestoreSession {
  /** The reserved connection: queries outside {@link transaction} run with no settings. */
  readonly sql: postgres.ReservedSql;
  /** Whether its transactions load with triggers and foreign-key checks off. */
  readonly triggersOff: boolean;
  readonly #begin: string;

  constructor(sql: postgres.ReservedSql, options: { triggersOff: boolean }) {
    this.sql = sql;
    this.triggersOff = options.triggersOff;
    this.#begin = [
      "begin",
      sessionSettingsStatement({ local: true }),
      localRestoreSettings(),
      MAINTENANCE_MEMORY,
      ...(options.triggersOff ? [TRIGGERS_OFF] : []),
    ].join(";\n");
  }

  /**
   * Runs `work` in one transaction that starts with the restore settings: committed when it
   * resolves, rolled back when it throws (a transaction `work` left failed fails the commit).
   */
  async transaction<T>(work: (tx: postgres.ReservedSql) => Promise<T>): Promise<T> {
    try {
      await this.sql.unsafe(this.#begin);
      const result = await work(this.sql);
      await this.sql.unsafe(END);
      return result;
    } catch (error) {
      await this.sql`rollback`.catch(() => {});
      throw error;
    }
  }

  /**
   * Runs SQL text without parameters (one statement of the backup) alone in one transaction
   * with the restore settings, in a single round trip; a failure rolls it back.
   */
  async script(text: string): Promise<void> {
    try {
      // The backup's own SQL between the settings and the end; a trailing comment ends at
      // the newline.
      await this.sql.unsafe(`${this.#begin};\n${text}\n;\n${END}`);
    } catch (error) {
      // A failed statement leaves its transaction open, and failed, on the server connection.
      await this.sql`rollback`.catch(() => {});
      throw error;
    }
  }

  /** Gives the connection back to the pool. */
  release(): void {
    this.sql.release();
  }
}

/**
 * Reserves `count` connections of `sql`, finding out first whether the role may turn triggers
 * off; on failure releases them.
 */
export async function openRestoreSessions(
  sql: postgres.Sql,
  count: number,
): Promise<RestoreSession[]> {
  const reserved: postgres.ReservedSql[] = [];
  try {
    for (let i = 0; i < count; i++) reserved.push(await sql.reserve());
    const triggersOff = await mayTurnTriggersOff(reserved[0]);
    return reserved.map((one) => new RestoreSession(one, { triggersOff }));
  } catch (error) {
    for (const one of reserved) one.release();
    throw error;
  }
}

/** Whether the role may set `session_replication_role` (tried in a transaction undone after). */
async function mayTurnTriggersOff(sql: postgres.ReservedSql): Promise<boolean> {
  try {
    await sql.unsafe(`begin;\n${TRIGGERS_OFF}`);
    return true;
  } catch (error) {
    // Not allowed for this role: triggers fire and foreign keys are checked while loading.
    if ((error as { code?: string }).code === INSUFFICIENT_PRIVILEGE) return false;
    throw error;
  } finally {
    await sql`rollback`.catch(() => {});
  }
}

/** Whether every session loads with triggers off (the role may not be allowed to). */
export function triggersOff(sessions: readonly RestoreSession[]): boolean {
  return sessions.length > 0 && sessions.every((session) => session.triggersOff);
}
