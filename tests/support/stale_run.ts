/**
 * Helpers for tests that kill the process running a backup and resume it: only the process
 * under test may execute the run, and the resumption waits for the run to become claimable.
 */
import type postgres from "postgres";
import type { LocalStack } from "../../stack/local_stack.ts";

/**
 * Turns the local stack's minutely pg_cron `continue` tick off: it resumes queued runs through
 * the functions, and would otherwise sometimes take the run from the process the test kills.
 */
export async function pauseContinueTick(sql: postgres.Sql): Promise<void> {
  await sql`select public.sauvegarde_set_schedule('continue', null)`;
}

/** Waits until `runId` is claimable with the stack's 1 s stale interval (at most 30 s). */
export async function untilClaimable(stack: LocalStack, runId: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (
    !(await stack.app.store.claimable(["database"], { staleAfterMs: 1_000 })).includes(runId)
  ) {
    if (Date.now() > deadline) throw new Error(`Run ${runId} never went stale`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
