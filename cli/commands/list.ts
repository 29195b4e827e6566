/**
 * `deno task cli list --from <target-url|name> [--json]`: the database backups in a
 * repository, newest first. With `--json` the last stdout line is `{"backups":[…]}`.
 *
 * @module
 */
import { listDatabaseBackupIds, loadDatabaseManifest } from "../../shared/database/manifest.ts";
import { CliError } from "../cli_error.ts";
import { formatBytes, openCliRepository, parseCommandArgs } from "./backup.ts";

/** Runs the command; returns the exit code. */
export async function run(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(args, {
    from: { type: "string" },
    json: { type: "boolean" },
  });
  if (!values.from) throw new CliError("Missing --from <target-url>", 2);
  const opened = await openCliRepository(values.from);
  try {
    const backups = [];
    for (const id of await listDatabaseBackupIds(opened.repository)) {
      try {
        const manifest = await loadDatabaseManifest(opened.repository, id);
        backups.push({
          backupId: id,
          purpose: manifest.purpose,
          ...(manifest.label ? { label: manifest.label } : {}),
          database: manifest.source.database,
          snapshotTime: manifest.snapshotTime,
          finishedAt: manifest.finishedAt,
          snapshots: manifest.snapshots,
          tables: manifest.totals.tables,
          rows: manifest.totals.rows,
          bytes: manifest.totals.bytes,
          storedBytes: manifest.totals.storedBytes,
          encrypted: manifest.options.encryptionKeyId !== null,
          ok: true as const,
        });
      } catch (error) {
        backups.push({
          backupId: id,
          ok: false as const,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
    if (values.json) {
      console.log(JSON.stringify({ backups }));
      return 0;
    }
    if (backups.length === 0) {
      console.log(`No database backups in ${opened.target.location}`);
      return 0;
    }
    for (const backup of backups) {
      if (!backup.ok) {
        console.log(`${backup.backupId}  unreadable: ${backup.error}`);
        continue;
      }
      console.log(
        `${backup.backupId}  ${backup.snapshotTime}  ${backup.database}  ${backup.tables} tables  ` +
          `${backup.rows} rows  ${formatBytes(backup.bytes)} → ${formatBytes(backup.storedBytes)}` +
          (backup.purpose === "safety" ? `  (safety: ${backup.label ?? "before a restore"})` : ""),
      );
    }
    return 0;
  } finally {
    await opened.target.close();
  }
}
