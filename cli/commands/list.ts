/**
 * `deno task cli list --from <target-url|name> [--json]`: the database backups in a
 * repository, newest first, each with its class (`full`, `partial`, `safety`,
 * `other-database`); the one `--backup latest` means is marked `latest`, and one dated in the
 * future is marked suspicious (never latest, refused by restores). With `--json` the last
 * stdout line is `{"backups":[…]}`, each with `class`, `latest` and `future`.
 *
 * @module
 */
import { backupClassOf } from "../../shared/database/backup_class.ts";
import {
  findLatestDatabaseBackup,
  listDatabaseBackupIds,
  loadDatabaseManifest,
} from "../../shared/database/manifest.ts";
import { isFutureId } from "../../shared/repository/backup_time.ts";
import { isAuthenticated } from "../../shared/repository/authenticity.ts";
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
    const latest = await findLatestDatabaseBackup(opened.repository).catch(() => undefined);
    for (const id of await listDatabaseBackupIds(opened.repository)) {
      const future = isFutureId(id);
      try {
        const manifest = await loadDatabaseManifest(opened.repository, id, { allowFuture: true });
        backups.push({
          backupId: id,
          class: backupClassOf(manifest),
          latest: manifest.backupId === latest?.backupId,
          future,
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
          // Sealed by a key holder under this id: what restores trust without being told to.
          authenticated: isAuthenticated(manifest),
          // What it could not reproduce: a restore of it fails or differs.
          complete: manifest.warnings.length === 0,
          warnings: manifest.warnings,
          ok: true as const,
        });
      } catch (error) {
        backups.push({
          backupId: id,
          future,
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
      const suspicious = backup.future ? "  SUSPICIOUS: dated in the future, never latest" : "";
      if (!backup.ok) {
        console.log(`${backup.backupId}  unreadable: ${backup.error}${suspicious}`);
        continue;
      }
      console.log(
        `${backup.backupId}  ${backup.class.padEnd(14)}  ${backup.snapshotTime}  ` +
          `${backup.database}  ${backup.tables} tables  ${backup.rows} rows  ` +
          `${formatBytes(backup.bytes)} → ${formatBytes(backup.storedBytes)}` +
          (backup.purpose === "safety" ? `  (safety: ${backup.label ?? "before a restore"})` : "") +
          (backup.latest ? "  (latest)" : "") +
          (backup.authenticated ? "" : "  (unauthenticated)") +
          (backup.complete
            ? ""
            : `  INCOMPLETE: ${backup.warnings.length} objects not reproduced`) +
          suspicious,
      );
    }
    return 0;
  } finally {
    await opened.target.close();
  }
}
