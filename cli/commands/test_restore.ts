/**
 * `deno task cli test-restore [--from <target>] [--backup <id|latest|latest:CLASS>] [--scratch-db <url>]
 * [--allow-unauthenticated] [--json]`: a restore test now (a backup whose manifest is not
 * authenticated is tested only with `--allow-unauthenticated`). Records a `restore_test` run in `backup_runs` and executes it
 * here, as the worker would: the backup is restored into a scratch database created on the
 * server of `--scratch-db` (default SAUVEGARDE_RESTORE_TEST_DB_URL, else SUPABASE_DB_URL),
 * every table's row count and SHA-256 compared with the manifest, the RTO measured, the scratch
 * database dropped. Failures notify. Exit code 0 when the test passed, 1 when it failed. With
 * `--json` the last stdout line is `{"runId","status","error","backupId","seconds","tables","rows","mismatches",…}`.
 *
 * @module
 */
import { app } from "../../shared/app/mod.ts";
import { STEPS } from "../../shared/steps/mod.ts";
import { executeUntilDone, PLAN_BUDGETS } from "../../shared/jobs/mod.ts";
import { createRestoreTestStep } from "../../shared/steps/restore_test.ts";
import { CliError } from "../cli_error.ts";
import { parseCommandArgs } from "./backup.ts";

/** Runs the command; returns the exit code. */
export async function run(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(args, {
    from: { type: "string" },
    backup: { type: "string" },
    "scratch-db": { type: "string" },
    "allow-unauthenticated": { type: "boolean" },
    json: { type: "boolean" },
  });
  const scratch = values["scratch-db"];
  if (scratch !== undefined && !/^postgres(ql)?:\/\//.test(scratch)) {
    throw new CliError("--scratch-db must be a postgres:// URL of the server to use", 2);
  }
  const context = app(STEPS);
  try {
    const created = await context.store.create({
      kind: "restore_test",
      trigger: "manual",
      requestedBy: "cli",
      targets: values.from ? [values.from] : [],
      details: values.backup ? { backupId: values.backup } : {},
    });
    const step = createRestoreTestStep(context, {
      serverUrl: scratch,
      allowUnauthenticated: values["allow-unauthenticated"],
      onProgress: values.json ? undefined : (message) => console.error(message),
    });
    const executor = {
      ...context.executor,
      steps: { ...context.executor.steps, restore_test: step },
    };
    const { run } = await executeUntilDone(executor, {
      runId: created.id,
      limits: PLAN_BUDGETS.worker,
    });
    const finished = run ?? await context.store.get(created.id);
    if (!finished) throw new CliError(`Run ${created.id} disappeared from backup_runs`);
    const details = finished.details as {
      backupId?: string;
      seconds?: number;
      checkSeconds?: number;
      tables?: number;
      rows?: number;
      mismatches?: Array<{ problem: string }>;
      objects?: Record<string, number>;
      objectMismatches?: Array<{ kind: string; missing: string[]; unexpected: string[] }>;
    };
    if (values.json) {
      console.log(JSON.stringify({
        runId: finished.id,
        status: finished.status,
        error: finished.error,
        ...details,
      }));
    } else if (finished.status === "succeeded") {
      console.log(
        `Restore test passed: backup ${details.backupId} restored in ${details.seconds} s ` +
          `(the RTO), ${details.tables} tables and ${details.rows} rows match the backup, ` +
          `and ${Object.values(details.objects ?? {}).reduce((a, b) => a + b, 0)} statements of ${
            Object.keys(details.objects ?? {}).length
          } kinds read back the same ` +
          `(checked in ${details.checkSeconds} s); run ${finished.id}`,
      );
    } else {
      console.log(`Restore test ${finished.status}: ${finished.error ?? "no error recorded"}`);
      for (const mismatch of details.mismatches ?? []) console.log(`  ${mismatch.problem}`);
      for (const kind of details.objectMismatches ?? []) {
        for (const name of kind.missing) console.log(`  missing or different: ${name}`);
        for (const name of kind.unexpected) console.log(`  not in the backup: ${name}`);
      }
    }
    return finished.status === "succeeded" ? 0 : 1;
  } finally {
    await context.close();
  }
}
