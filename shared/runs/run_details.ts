/**
 * Records details on a run that is about to fail: the executor keeps the run's details when
 * it marks it failed, so a step that fails part-way can still say what it did per target.
 *
 * @module
 */
import type postgres from "postgres";

/** Merges `details` into the run's `backup_runs.details`. */
export async function recordRunDetails(
  sql: postgres.Sql,
  runId: string,
  details: Record<string, unknown>,
): Promise<void> {
  await sql`
    update public.backup_runs set details = details || ${sql.json(details as postgres.JSONValue)}
    where id = ${runId}`;
}
