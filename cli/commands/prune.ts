/**
 * `deno task cli prune --from <target-url|name> [--dry-run] [--json]`: applies the retention
 * policy (SAUVEGARDE_RETENTION…) to one target and removes blobs no backup references any more.
 *
 * Recorded as a `prune` run in `backup_runs` (SUPABASE_DB_URL is needed: prune refuses while
 * the runs there say backups are failing). `--dry-run` prints the plan and changes nothing.
 * With `--json` stdout is one JSON object: the run id, status, error and per-target summary.
 */
import { parseArgs } from "node:util";
import { app } from "../../shared/app/mod.ts";
import { STEPS } from "../../shared/steps/mod.ts";
import type { PruneSummary } from "../../shared/steps/prune.ts";
import { runNow } from "../../shared/jobs/run_now.ts";
import { RunConflictError } from "../../shared/runs/mod.ts";
import { CliError } from "../cli_error.ts";

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      from: { type: "string" },
      "dry-run": { type: "boolean" },
      json: { type: "boolean" },
    },
    strict: true,
  });
  if (!values.from) throw new CliError("Missing --from <target-url>", 2);
  const dryRun = values["dry-run"] ?? false;
  const context = app(STEPS);
  try {
    let finished;
    try {
      finished = await runNow(context, {
        kind: "prune",
        trigger: "manual",
        requestedBy: "cli",
        targets: [values.from],
        details: { dryRun },
      });
    } catch (error) {
      if (error instanceof RunConflictError) throw new CliError(error.message);
      throw error;
    }
    const targets = (finished.details.targets ?? {}) as Record<
      string,
      PruneSummary | { error: string }
    >;
    if (values.json) {
      console.log(JSON.stringify({
        runId: finished.id,
        status: finished.status,
        error: finished.error,
        dryRun,
        targets,
      }));
    } else {
      for (const [name, summary] of Object.entries(targets)) {
        if ("error" in summary) continue;
        console.log(describe(name, summary));
      }
      if (finished.status !== "succeeded") console.error(`Error: ${finished.error}`);
    }
    return finished.status === "succeeded" ? 0 : 1;
  } finally {
    await context.close();
  }
}

function describe(name: string, summary: PruneSummary): string {
  const verb = summary.dryRun ? "would remove" : "removed";
  const lines = [`Target ${name}${summary.dryRun ? " (dry run, nothing changed)" : ""}:`];
  for (const kind of summary.kinds) {
    const classes = kind.keep.filter((backup) => backup.class && backup.class !== "full");
    const kept = classes.length
      ? ` (${classes.length} partial, safety or other-database, kept by their own rule)`
      : "";
    const removed = kind.remove.map((id) => {
      const backupClass = kind.removeClasses?.[id];
      return backupClass ? `${id} ${backupClass}` : id;
    });
    lines.push(
      `  ${kind.kind}: keeps ${kind.keep.length}${kept}, ${verb} ${kind.remove.length}` +
        (removed.length ? ` (${removed.join(", ")})` : ""),
    );
  }
  const blobs = summary.blobs;
  lines.push(
    `  blobs: ${blobs.stored} stored, ${blobs.referenced} referenced, ${blobs.young} unreferenced ` +
      `but within the grace period, ${verb} ${
        summary.dryRun ? blobs.remove : summary.removedBlobs
      } (${summary.dryRun ? blobs.removeBytes : summary.removedBytes} bytes)`,
  );
  if (summary.sweepSkipped) lines.push(`  sweep skipped: ${summary.sweepSkipped}`);
  return lines.join("\n");
}
