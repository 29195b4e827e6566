/**
 * `deno task cli restore --from <target-url|name> --backup <id|latest|latest:CLASS>
 * [--db <postgres-url>]
 * [--table S.T]… [--schema-only|--data-only] [--truncate] [--yes] [--no-safety-backup]
 * [--allow-unauthenticated] [--parallel N] [--json]`: restores a database backup.
 *
 * A backup whose manifest is not authenticated (no encryption keys, or a plain manifest read
 * through the opt-in) is refused before anything else unless `--allow-unauthenticated`.
 *
 * Without `--db` the database comes from SUPABASE_DB_URL or libpq's PG* variables and password
 * file (`shared/pg_env.ts`). Asks for confirmation unless `--yes`; without a terminal on stdin, `--yes` is required.
 * Every blob is verified before the destination is touched; a non-empty destination is first
 * backed up into the same repository (unless `--no-safety-backup`). Tables that already hold
 * rows are refused unless `--truncate`. With `--json` the last stdout line is
 * `{"backupId","tables","rows","bytes","seconds","safetyBackupId","skippedTables","warnings","foreignKeys"}`.
 *
 * @module
 */
import { loadDatabaseManifest } from "../../shared/database/manifest.ts";
import { restoreDatabase } from "../../shared/database/restore/mod.ts";
import { requireAuthenticated } from "../../shared/repository/authenticity.ts";
import { CliError } from "../cli_error.ts";
import {
  cliDatabase,
  formatBytes,
  openCliRepository,
  parseCommandArgs,
  parseParallel,
  progressLine,
} from "./backup.ts";

async function confirm(question: string): Promise<boolean> {
  await Deno.stderr.write(new TextEncoder().encode(`${question} Type "yes" to continue: `));
  const buffer = new Uint8Array(1024);
  const read = await Deno.stdin.read(buffer);
  const answer = read === null ? "" : new TextDecoder().decode(buffer.subarray(0, read)).trim();
  return answer.toLowerCase() === "yes";
}

/** Runs the command; returns the exit code. */
export async function run(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(args, {
    from: { type: "string" },
    backup: { type: "string" },
    db: { type: "string" },
    table: { type: "string", multiple: true },
    "schema-only": { type: "boolean" },
    "data-only": { type: "boolean" },
    truncate: { type: "boolean" },
    yes: { type: "boolean" },
    "no-safety-backup": { type: "boolean" },
    "allow-unauthenticated": { type: "boolean" },
    parallel: { type: "string" },
    json: { type: "boolean" },
  });
  if (!values.from) throw new CliError("Missing --from <target-url>", 2);
  if (!values.backup) throw new CliError("Missing --backup <id|latest|latest:CLASS>", 2);
  if (values["schema-only"] && values["data-only"]) {
    throw new CliError("Choose at most one of --schema-only and --data-only", 2);
  }
  for (const table of values.table ?? []) {
    if (!/^[^.]+\..+$/.test(table)) {
      throw new CliError(`Table "${table}" must be given as schema.table`, 2);
    }
  }
  const parallel = parseParallel(values.parallel);
  if (!values.yes && !Deno.stdin.isTerminal()) {
    throw new CliError(
      "Refusing to restore without confirmation: stdin is not a terminal, pass --yes",
      2,
    );
  }
  const db = await cliDatabase(values.db);
  const opened = await openCliRepository(values.from);
  const progress = progressLine();
  try {
    const manifest = await loadDatabaseManifest(opened.repository, values.backup);
    // Refused before the question is asked: the answer could not change it.
    requireAuthenticated(manifest, {
      what: `Database backup ${manifest.backupId}`,
      allowUnauthenticated: values["allow-unauthenticated"],
    });
    if (!values.yes) {
      const what = values.table?.length
        ? `the rows of ${values.table.join(", ")}`
        : values["schema-only"]
        ? "the schema"
        : values["data-only"]
        ? "the rows"
        : "the schema and rows";
      const ok = await confirm(
        `Restore ${what} of backup ${manifest.backupId} (${manifest.source.database}, ` +
          `taken ${manifest.snapshotTime}, ${manifest.totals.tables} tables, ` +
          `${formatBytes(manifest.totals.bytes)}) into ${db.label}?`,
      );
      if (!ok) throw new CliError("Restore cancelled", 1);
    }
    const result = await restoreDatabase({
      repository: opened.repository,
      backupId: manifest.backupId,
      db: db.url,
      tables: values.table,
      schemaOnly: values["schema-only"],
      dataOnly: values["data-only"],
      truncate: values.truncate,
      safetyBackup: !values["no-safety-backup"],
      allowUnauthenticated: values["allow-unauthenticated"],
      parallel,
      onWarning: (message) => {
        progress.done();
        console.error(`Warning: ${message}`);
      },
      onProgress: (p) =>
        progress.show(
          p.phase === "data" ? `Loading rows: ${p.tablesDone}/${p.tablesTotal} tables` : {
            "verify": "Verifying every blob of the backup…",
            "safety-backup": "Backing up the destination first (safety backup)…",
            "pre-data": "Creating the schema…",
            "post-data": "Building indexes and constraints…",
          }[p.phase],
        ),
    });
    progress.done();
    if (values.json) {
      console.log(JSON.stringify({
        backupId: result.backupId,
        tables: result.tables,
        rows: result.rows,
        bytes: result.bytes,
        seconds: result.seconds,
        safetyBackupId: result.safetyBackupId,
        skippedTables: result.skippedTables,
        warnings: result.warnings,
        foreignKeys: result.foreignKeys,
      }));
    } else {
      if (result.safetyBackupId) {
        console.log(`Safety backup of the destination: ${result.safetyBackupId}`);
      }
      console.log(
        `Restored backup ${result.backupId}: ${result.tables} tables, ${result.rows} rows, ` +
          `${formatBytes(result.bytes)} in ${result.seconds} s`,
      );
      if (result.foreignKeys === "trusted") {
        console.log(
          "Foreign keys were added before loading: the backup is one snapshot in which they held",
        );
      }
    }
    return 0;
  } finally {
    progress.done();
    await opened.target.close();
  }
}
