/**
 * The destination connections a restore writes through, each reserved for the whole restore
 * and set up once: restore settings, more memory for index builds, and triggers and
 * foreign-key checks off (`session_replication_role = replica`) where the role may set it.
 *
 * @module
 */
import type postgres from "postgres";
import { prepareSession } from "../../pg/session.ts";
import { applyRestoreSettings } from "./ddl.ts";

/** Reserves `count` connections of `sql` and prepares each; on failure releases them. */
export async function openRestoreSessions(
  sql: postgres.Sql,
  count: number,
): Promise<postgres.ReservedSql[]> {
  const reserved: postgres.ReservedSql[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const one = await sql.reserve();
      reserved.push(one);
      await prepareRestoreSession(one);
    }
    return reserved;
  } catch (error) {
    for (const one of reserved) one.release();
    throw error;
  }
}

async function prepareRestoreSession(connection: postgres.ReservedSql): Promise<void> {
  await prepareSession(connection);
  await applyRestoreSettings(connection);
  await connection`
    select set_config('maintenance_work_mem', '128MB', false)
    where pg_catalog.current_setting('maintenance_work_mem')::text not like '%GB'`;
  try {
    await connection`select set_config('session_replication_role', 'replica', false)`;
  } catch {
    // Not allowed for this role: triggers fire and foreign keys are checked while loading.
  }
}

/** Whether every connection loads with triggers off (the role may not be allowed to). */
export async function triggersOff(connections: readonly postgres.ReservedSql[]): Promise<boolean> {
  for (const connection of connections) {
    const [{ role }] = await connection<{ role: string }[]>`
      select pg_catalog.current_setting('session_replication_role') as role`;
    if (role !== "replica") return false;
  }
  return true;
}
