/**
 * `deno task cli replicate --from <target-url|name> --to <target-url|name>… [--backup <id|latest>]
 * [--json]`: copies backups (blobs first, verified, manifest last) from one target to others.
 * Without `--backup`, every backup a destination lacks is copied.
 *
 * Recorded as a `replicate` run in `backup_runs` when SUPABASE_DB_URL is set; run directly
 * otherwise. With `--json` stdout is one JSON object with the status of each target.
 */
import { parseArgs } from "node:util";
import { app } from "../../shared/app/mod.ts";
import { STEPS } from "../../shared/steps/mod.ts";
import { config } from "../../shared/config/mod.ts";
import { resolveTarget } from "../../shared/targets/named_targets.ts";
import { replicate } from "../../shared/replication/replicate.ts";
import { type ReplicationSummary, summarizeReplication } from "../../shared/steps/replicate.ts";
import { type OpenedRepository, openRepository } from "../../shared/repository/open.ts";
import { runNow } from "../../shared/jobs/run_now.ts";
import { CliError } from "../cli_error.ts";

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      from: { type: "string" },
      to: { type: "string", multiple: true },
      backup: { type: "string" },
      json: { type: "boolean" },
    },
    strict: true,
  });
  if (!values.from) throw new CliError("Missing --from <target-url>", 2);
  if (!values.to?.length) throw new CliError("Missing --to <target-url>", 2);
  const settings = config();
  let targets: Record<string, ReplicationSummary>;
  let runId: string | undefined;
  let error: string | undefined;
  if (settings.databaseUrl) {
    const context = app(STEPS);
    try {
      const finished = await runNow(context, {
        kind: "replicate",
        trigger: "manual",
        requestedBy: "cli",
        targets: values.to,
        details: { from: values.from, ...(values.backup ? { backup: values.backup } : {}) },
      });
      runId = finished.id;
      error = finished.error ?? undefined;
      targets = (finished.details.targets ?? {}) as Record<string, ReplicationSummary>;
    } finally {
      await context.close();
    }
  } else {
    const opened: OpenedRepository[] = [];
    try {
      for (const entry of [values.from, ...values.to]) {
        const target = resolveTarget(settings, entry);
        opened.push(await openRepository(target.name, target.url, settings));
      }
      const [source, ...destinations] = opened;
      const statuses = await replicate(source.repository, destinations, {
        backup: values.backup,
      });
      targets = summarizeReplication(statuses);
      const failed = statuses.filter((status) => !status.ok);
      if (failed.length) error = failed.map((s) => `target ${s.target}: ${s.error}`).join("; ");
    } catch (cause) {
      throw new CliError(cause instanceof Error ? cause.message : String(cause));
    } finally {
      for (const entry of opened) await entry.target.close().catch(() => {});
    }
  }
  if (values.json) {
    console.log(JSON.stringify({ runId, ok: !error, error, targets }));
  } else {
    for (const [name, status] of Object.entries(targets)) {
      console.log(
        `Target ${name}: ${status.ok ? "ok" : "FAILED"}, ${status.backups.length} backups ` +
          `copied or completed, ${status.skipped} already there, ${status.copiedBlobs} blobs ` +
          `(${status.copiedBytes} bytes) copied${status.error ? `: ${status.error}` : ""}`,
      );
    }
    if (error && Object.keys(targets).length === 0) console.error(`Error: ${error}`);
  }
  return error ? 1 : 0;
}
