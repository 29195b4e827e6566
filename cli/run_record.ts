/**
 * The CLI's work on the project is a run like any other: with the project's database
 * configured (`SUPABASE_DB_URL`), `backup` and `snapshot` record theirs in `backup_runs`
 * (trigger `manual`, requested by `cli`) through the engine's inline runs, so verification,
 * the dashboard and alerts see them; without it there is no project to record in, and a
 * database without the migrations is said to be one.
 *
 * @module
 */
import { createApp } from "../shared/app/mod.ts";
import { config, redactUrl, resolveCliDatabase } from "../shared/config/mod.ts";
import { type InlineOutcome, type InlineRunInput, runInline } from "../shared/jobs/mod.ts";
import { RunConflictError } from "../shared/runs/mod.ts";
import { STEPS } from "../shared/steps/mod.ts";
import { CliError } from "./cli_error.ts";

/** Does `work` as a recorded run when the project's database is configured. */
export async function asRecordedRun<T>(
  input: Omit<InlineRunInput, "trigger" | "requestedBy">,
  work: () => Promise<T>,
  outcome: (result: T) => InlineOutcome,
): Promise<{ result: T; runId?: string }> {
  const settings = config();
  if (!settings.databaseUrl) return { result: await work() };
  // The project's database as the CLI reaches it (a password from PGPASSWORD or .pgpass).
  const project = await resolveCliDatabase(undefined);
  const context = createApp({ ...settings, databaseUrl: project.url }, { steps: STEPS });
  try {
    const [{ installed }] = await context.sql`
      select to_regclass('public.backup_runs') is not null as installed`;
    if (!installed) {
      console.error(
        "Warning: this run is not recorded: the project's database has no backup_runs table " +
          "(apply the migrations: deno task cli migrate)",
      );
      return { result: await work() };
    }
    const { run, result } = await runInline(
      context.store,
      {
        ...input,
        targets: input.targets?.map(redactUrl),
        trigger: "manual",
        requestedBy: "cli",
      },
      work,
      outcome,
    );
    return { result, runId: run.id };
  } catch (error) {
    if (error instanceof RunConflictError) {
      throw new CliError(`${error.message}: try again once it has ended`);
    }
    throw error;
  } finally {
    await context.close();
  }
}
