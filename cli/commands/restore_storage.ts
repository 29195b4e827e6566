/**
 * `deno task cli restore-storage --from <target-url|name> --snapshot <id|latest> [--bucket B]…
 * [--prefix P] [--endpoint URL] [--region R] [--dry-run] [--yes] [--json]`: brings a Storage
 * snapshot back.
 *
 * Missing buckets are created (with their settings when SUPABASE_DB_URL is set), objects are
 * uploaded with their content type, cache control and metadata, identical ones are skipped.
 * The destination is the Storage S3 endpoint of the configuration (STORAGE_S3_*), or the one
 * given by `--endpoint` with the same access keys. Without `--yes`, the plan is shown and
 * confirmed first; `--dry-run` only shows it.
 */
import { parseArgs } from "node:util";
import { clientSql } from "../../shared/pg/connect.ts";
import { config } from "../../shared/config/mod.ts";
import { StorageDestination } from "../../shared/storage/destination.ts";
import { openRepository, storageSettings } from "../../shared/storage/open.ts";
import {
  loadStorageSnapshot,
  type RestoreAction,
  type RestoreReport,
  restoreStorage,
} from "../../shared/storage/restore.ts";
import { requireAuthenticated } from "../../shared/repository/authenticity.ts";
import { printableEndpoint } from "../../shared/storage/endpoint.ts";
import { CliError } from "../cli_error.ts";

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      from: { type: "string" },
      snapshot: { type: "string" },
      bucket: { type: "string", multiple: true },
      prefix: { type: "string" },
      endpoint: { type: "string" },
      region: { type: "string" },
      "dry-run": { type: "boolean" },
      yes: { type: "boolean" },
      "allow-unauthenticated": { type: "boolean" },
      json: { type: "boolean" },
    },
    strict: true,
  });
  if (!values.from) throw new CliError("Missing --from <target-url>", 2);
  if (!values.snapshot) throw new CliError("Missing --snapshot <id|latest>", 2);
  if (values.endpoint && !URL.canParse(values.endpoint)) {
    throw new CliError(
      "--endpoint must be a URL, like https://<ref>.storage.supabase.co/storage/v1/s3",
      2,
    );
  }
  const settings = config();
  let destinationSettings;
  try {
    destinationSettings = values.endpoint
      ? {
        ...settings.storageSource,
        endpoint: values.endpoint,
        region: values.region ?? settings.storageSource?.region,
      }
      : { ...storageSettings(settings), region: values.region ?? settings.storageSource?.region };
  } catch (error) {
    throw new CliError(error instanceof Error ? error.message : String(error), 2);
  }
  const url = settings.targets[values.from] ?? values.from;
  const opened = await openRepository("cli", url, settings);
  const destination = new StorageDestination(destinationSettings);
  const sql = settings.databaseUrl ? clientSql(settings.databaseUrl, { max: 2 }) : undefined;
  const base = {
    snapshot: values.snapshot,
    buckets: values.bucket,
    prefix: values.prefix,
    sql,
    allowUnauthenticated: values["allow-unauthenticated"],
  };
  const where = printableEndpoint(destinationSettings.endpoint);
  try {
    if (!values["dry-run"]) {
      // Refused before planning and asking: the answer could not change it.
      const manifest = await loadStorageSnapshot(opened.repository, values.snapshot);
      requireAuthenticated(manifest, {
        what: `Storage snapshot ${manifest.id}`,
        allowUnauthenticated: values["allow-unauthenticated"],
      });
    }
    const dryRun = values["dry-run"] || !values.yes;
    const actions: RestoreAction[] = [];
    const plan = await restoreStorage(opened.repository, destination, {
      ...base,
      dryRun: true,
      onAction: (action) => {
        if (action.action !== "skip") actions.push(action);
      },
    });
    if (dryRun) {
      if (!values.json) {
        for (const action of actions) console.log(describe(action));
        console.log(summarise(plan, where));
      }
      if (values["dry-run"]) {
        if (values.json) console.log(JSON.stringify({ ...plan, actions }));
        return 0;
      }
      if (plan.uploaded === 0 && plan.bucketsCreated.length === 0) {
        if (values.json) console.log(JSON.stringify(plan));
        return 0;
      }
      if (!Deno.stdin.isTerminal()) {
        throw new CliError("Add --yes to restore without a prompt (or --dry-run to only plan)", 2);
      }
      if (!confirm(`Restore into ${where}?`)) {
        console.error("Nothing was restored");
        return 1;
      }
    }
    const report = await restoreStorage(opened.repository, destination, base);
    console.log(values.json ? JSON.stringify(report) : summarise(report, where));
    return 0;
  } finally {
    await destination.close();
    await opened.target.close();
    await sql?.end({ timeout: 5 });
  }
}

function describe(action: RestoreAction): string {
  if (action.action === "create-bucket") return `create bucket ${action.bucket}`;
  return `${action.action} ${action.bucket}/${action.key} (${action.size} bytes, ${action.reason})`;
}

function summarise(report: RestoreReport, where: string): string {
  const verb = report.dryRun ? "Would restore" : "Restored";
  return `${verb} snapshot ${report.snapshotId} into ${where}: ` +
    `${report.bucketsCreated.length} buckets created, ${report.uploaded} objects uploaded ` +
    `(${report.bytes} bytes), ${report.skipped} already identical, in ${report.seconds} s`;
}
