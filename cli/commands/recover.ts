/**
 * `deno task cli recover [--from <target>] [--backup <id|latest|latest:CLASS>] [--snapshot <id|latest|none>]
 * [--db <url>] [--yes] [--json]`: disaster recovery, the runbook's procedure.
 *
 * Lists the target's database backups and Storage snapshots (newest first), chooses (the flags;
 * on a terminal, a prompt; default the latest of each), confirms (`--yes` skips it; without a
 * terminal `--yes` is required and nothing is touched without it), then restores the database
 * into `--db` (default SUPABASE_DB_URL, else libpq's PG* variables and password file; a non-empty
 * database is backed up first) and Storage
 * into the configured Storage S3 endpoint, checks both, notifies (success and failure) and
 * reports the RTO. With `--json` the last stdout line is the report:
 * `{"ok","backupId","snapshotId","destination","database","storage","rto":{"database","storage","total"},"failed"?}`.
 *
 * @module
 */
import { config } from "../../shared/config/mod.ts";
import { describeDatabase } from "../../shared/pg/connect.ts";
import { notify } from "../../shared/notify/mod.ts";
import {
  choosePoint,
  listRecoveryPoints,
  recover,
  recoveryNotification,
  type RecoveryPoints,
  type RecoveryReport,
} from "../../shared/recovery/mod.ts";
import { StorageDestination } from "../../shared/storage/destination.ts";
import { printableEndpoint } from "../../shared/storage/endpoint.ts";
import { CliError } from "../cli_error.ts";
import { cliDatabase, formatBytes, openCliRepository, parseCommandArgs } from "./backup.ts";

async function ask(question: string): Promise<string> {
  await Deno.stderr.write(new TextEncoder().encode(question));
  const buffer = new Uint8Array(1024);
  const read = await Deno.stdin.read(buffer);
  return read === null ? "" : new TextDecoder().decode(buffer.subarray(0, read)).trim();
}

function printPoints(points: RecoveryPoints, print: (line: string) => void): void {
  print("Database backups (newest first):");
  if (points.databases.length === 0) print("  none");
  for (const point of points.databases) {
    print(
      `  ${point.id}  ${point.time}  ${point.database}  ${point.tables} tables  ${point.rows} rows  ` +
        `${formatBytes(point.bytes)}${point.class === "full" ? "" : `  (${point.class})`}`,
    );
  }
  print("Storage snapshots (newest first):");
  if (points.snapshots.length === 0) print("  none");
  for (const point of points.snapshots) {
    print(
      `  ${point.id}  ${point.time}  ${point.buckets} buckets  ${point.objects} objects  ` +
        formatBytes(point.bytes),
    );
  }
  for (const point of points.unreadable) print(`  ${point.id}  unreadable: ${point.error}`);
}

/** Runs the command; returns the exit code. */
export async function run(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(args, {
    from: { type: "string" },
    backup: { type: "string" },
    snapshot: { type: "string" },
    db: { type: "string" },
    yes: { type: "boolean" },
    "allow-unauthenticated": { type: "boolean" },
    json: { type: "boolean" },
  });
  const interactive = Deno.stdin.isTerminal();
  if (!values.yes && !interactive) {
    throw new CliError(
      "Refusing to recover without confirmation: stdin is not a terminal, pass --yes " +
        "(nothing was changed)",
      2,
    );
  }
  const settings = config();
  const db = (await cliDatabase(values.db)).url;
  const from = values.from ?? Object.keys(settings.targets)[0];
  if (!from) throw new CliError("Missing --from <target> (no target is configured)", 2);
  const print = values.json ? (line: string) => console.error(line) : console.log;

  const opened = await openCliRepository(from);
  const storage = settings.storageSource?.endpoint
    ? new StorageDestination({
      ...settings.storageSource,
      endpoint: settings.storageSource.endpoint,
    })
    : undefined;
  try {
    const points = await listRecoveryPoints(opened.repository);
    printPoints(points, print);
    const prompt = interactive && !values.yes;
    let backupChoice = values.backup;
    if (backupChoice === undefined && prompt) {
      backupChoice = await ask(`Database backup to restore [latest]: `) || "latest";
    }
    let snapshotChoice = values.snapshot;
    if (snapshotChoice === undefined && prompt && points.snapshots.length) {
      snapshotChoice = await ask(`Storage snapshot to restore [latest, or none]: `) || "latest";
    }
    let backupId: string;
    let snapshotId: string | null = null;
    try {
      backupId = choosePoint(points.databases, backupChoice ?? "latest", "database backup").id;
      const snapshot = snapshotChoice ?? (points.snapshots.length ? "latest" : "none");
      if (snapshot !== "none") {
        snapshotId = choosePoint(points.snapshots, snapshot, "Storage snapshot").id;
      }
    } catch (error) {
      throw new CliError(error instanceof Error ? error.message : String(error), 2);
    }
    if (snapshotId !== null && !storage) {
      throw new CliError(
        "Storage is not configured: set STORAGE_S3_ENDPOINT and its access keys, " +
          "or pass --snapshot none",
        2,
      );
    }
    const plan = `Recover database backup ${backupId} into ${describeDatabase(db)}` +
      (snapshotId
        ? ` and Storage snapshot ${snapshotId} into ${
          printableEndpoint(settings.storageSource?.endpoint ?? "")
        }`
        : "") +
      "?";
    if (!values.yes) {
      const answer = await ask(`${plan} Type "yes" to continue: `);
      if (answer.toLowerCase() !== "yes") {
        throw new CliError("Recovery cancelled, nothing was changed");
      }
    } else {
      print(plan.replace(/\?$/, ""));
    }

    const report = await recover(opened.repository, {
      backupId,
      snapshotId,
      db,
      storage,
      allowUnauthenticated: values["allow-unauthenticated"],
      onProgress: (message) => console.error(message),
    });
    const sent = await notify(recoveryNotification(report), { config: settings });
    if (sent.configured && !sent.delivered) {
      console.error("Warning: the recovery notification could not be delivered");
    }
    if (values.json) console.log(JSON.stringify(report));
    else print(summary(report));
    return report.ok ? 0 : 1;
  } finally {
    await storage?.close();
    await opened.target.close();
  }
}

function summary(report: RecoveryReport): string {
  const lines: string[] = [];
  if (report.database) {
    lines.push(
      `Database: backup ${report.backupId} restored into ${report.destination}, ` +
        `${report.database.tables} tables, ${report.database.rows} rows (row counts checked) ` +
        `in ${report.database.seconds} s` +
        (report.database.safetyBackupId
          ? `; the destination was backed up first as ${report.database.safetyBackupId}`
          : ""),
    );
  }
  if (report.storage) {
    lines.push(
      `Storage: snapshot ${report.snapshotId}, ${report.storage.uploaded} objects uploaded, ` +
        `${report.storage.skipped} already identical, ${report.storage.check.present}/` +
        `${report.storage.check.objects} present with their sizes, in ${report.storage.seconds} s`,
    );
  }
  const part = (value: number | null) => value === null ? "—" : `${value} s`;
  lines.push(
    `RTO: database ${part(report.rto.database)}, Storage ${part(report.rto.storage)}, ` +
      `total ${part(report.rto.total)}`,
  );
  lines.push(
    report.ok
      ? "Recovery complete"
      : `Recovery FAILED (${report.failed?.phase}): ${report.failed?.error}`,
  );
  return lines.join("\n");
}
