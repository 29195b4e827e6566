/**
 * Freshness per kind: is the latest successful database backup / Storage snapshot younger
 * than its objective? Late with a backup running now is a warning; late with nothing
 * running fails.
 *
 * @module
 */
import { latestGoodRun, runInProgress } from "../facts.ts";
import { formatAge, objectiveFor } from "../objectives.ts";
import type { BackupKind, Check, CheckResult, VerifyContext } from "../types.ts";

const LABEL: Record<BackupKind, { name: string; noun: string; start: string }> = {
  database: {
    name: "Database freshness",
    noun: "database backup",
    start:
      "Start a database backup now (dashboard or trigger-backup), then find why the schedule did not produce one: see runs.failures.database and the schedules check",
  },
  storage: {
    name: "Storage freshness",
    noun: "Storage snapshot",
    start:
      "Start a Storage snapshot now (storage-snapshot), then find why the schedule did not produce one: see runs.failures.storage and the schedules check",
  },
};

/** The freshness of one kind. */
export async function kindFreshness(
  context: VerifyContext,
  kind: BackupKind,
): Promise<CheckResult> {
  const label = LABEL[kind];
  const id = `freshness.${kind}`;
  const objective = await objectiveFor(context, kind);
  const good = await latestGoodRun(context, kind);
  const details: Record<string, unknown> = {
    objectiveMs: objective.ms,
    objectiveSource: objective.source,
  };
  if (!good) {
    if (kind === "storage" && !context.config.storageSource) {
      return {
        id,
        name: label.name,
        status: "warn",
        summary:
          "Storage snapshots are not configured, so Storage objects are not backed up (Supabase's own backups leave them out)",
        nextStep:
          "Set STORAGE_S3_ENDPOINT, STORAGE_S3_ACCESS_KEY_ID and STORAGE_S3_SECRET_ACCESS_KEY from the project's Storage S3 settings",
        details,
      };
    }
    return {
      id,
      name: label.name,
      status: "fail",
      summary: `No ${label.noun} has ever succeeded`,
      nextStep: label.start,
      details,
    };
  }
  const age = context.now.getTime() - good.finishedAt.getTime();
  Object.assign(details, { ageMs: age, runId: good.id, backupId: good.backupId });
  const ageText = `${formatAge(age)} old`;
  if (age <= objective.ms) {
    return {
      id,
      name: label.name,
      status: "ok",
      summary: `The latest ${label.noun} is ${ageText}, within the ${
        formatAge(objective.ms)
      } objective`,
      details,
    };
  }
  const running = await runInProgress(context, kind);
  if (running) {
    return {
      id,
      name: label.name,
      status: "warn",
      summary: `The latest ${label.noun} is ${ageText}, beyond the ${
        formatAge(objective.ms)
      } objective; one is running now (run ${running.id})`,
      nextStep:
        "Nothing yet if the running backup succeeds soon; if this repeats, backups take longer than the schedule allows",
      details: { ...details, runningRunId: running.id },
    };
  }
  return {
    id,
    name: label.name,
    status: "fail",
    summary: `The latest ${label.noun} is ${ageText}, beyond the ${
      formatAge(objective.ms)
    } objective, and none is running`,
    nextStep: label.start,
    details,
  };
}

/** Freshness of database backups and Storage snapshots, from the runs. */
export const freshnessCheck: Check = {
  id: "freshness",
  run: (context) =>
    Promise.all([kindFreshness(context, "database"), kindFreshness(context, "storage")]),
};
