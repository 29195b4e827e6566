/**
 * `deno task cli backup [--db <postgres-url>] --to <target-url|name> [--schema-only|--data-only]
 * [--include-schema S]… [--exclude-schema S]… [--include-table S.T]… [--exclude-table S.T]…
 * [--parallel N] [--workers] [--allow-incomplete] [--json]`: a consistent backup of a database
 * into a target's repository.
 *
 * A database holding something the backup cannot reproduce (each named, with why) is an
 * error and nothing is stored, unless `--allow-incomplete`: then the backup is recorded as
 * `incomplete`, its warnings printed to stderr and in the JSON (`complete: false`), and it is
 * never the "latest" backup.
 *
 * Without `--db` the database comes from SUPABASE_DB_URL or libpq's PG* variables and password
 * file (`shared/pg_env.ts`). Compression, encryption keys and S3 credentials come from the configuration
 * (SAUVEGARDE_COMPRESSION, SAUVEGARDE_ENCRYPTION_KEYS, S3_*). With `--json` the last stdout
 * line is `{"backupId","bytes","tables","rows","seconds","class","complete","warnings"}`. Progress goes to stderr when it is
 * a terminal. `--workers` copies tables in worker threads (one per `--parallel` lane but the
 * first, which this thread runs; default 2 lanes), so parsing, hashing and compression use
 * several cores: worth it with spare cores, at about 30 MB of memory per worker; by default
 * everything runs in one thread.
 *
 * @module
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { config, resolveCliDatabase } from "../../shared/config/mod.ts";
import { DatabaseSettingsError, type ResolvedDatabase } from "../../shared/config/pg_env.ts";
import { backupDatabase } from "../../shared/database/backup/mod.ts";
import { runBackupClass, sameDatabase } from "../../shared/database/backup_class.ts";
import type { RepositorySpec } from "../../shared/pg/copy_lane.ts";
import type { DumpScope } from "../../shared/database/catalog/model.ts";
import { type OpenedRepository, openRepository } from "../../shared/repository/open.ts";
import { CliError } from "../cli_error.ts";
import { asRecordedRun } from "../run_record.ts";

/** Parses arguments, turning parseArgs' errors into operator errors (exit 2). */
export function parseCommandArgs<T extends ParseArgsOptionsConfig>(
  args: string[],
  options: T,
) {
  try {
    return parseArgs({ args, options, strict: true as const, allowPositionals: false as const });
  } catch (error) {
    throw new CliError(error instanceof Error ? error.message : String(error), 2);
  }
}

/**
 * The database a command connects to: `--db`, else SUPABASE_DB_URL, else libpq's PG* variables
 * and password file (`shared/pg_env.ts`), so no password has to go on the command line.
 */
export async function cliDatabase(flag: string | undefined): Promise<ResolvedDatabase> {
  try {
    return await resolveCliDatabase(flag);
  } catch (error) {
    if (error instanceof DatabaseSettingsError) throw new CliError(error.message, 2);
    throw error;
  }
}

/** Opens the repository on a target URL or configured target name. */
export async function openCliRepository(
  target: string,
): Promise<OpenedRepository & { spec: RepositorySpec }> {
  const settings = config();
  const url = settings.targets[target] ?? target;
  try {
    const opened = await openRepository(target, url, settings);
    const spec = {
      name: target,
      url,
      config: {
        s3: settings.s3,
        compression: settings.compression,
        encryptionKeys: settings.encryptionKeys,
        acceptUnauthenticated: settings.acceptUnauthenticated,
      },
    };
    return { ...opened, spec };
  } catch (error) {
    throw new CliError(error instanceof Error ? error.message : String(error));
  }
}

/** A one-line progress display on stderr, when stderr is a terminal. */
export function progressLine(): { show(text: string): void; done(): void } {
  if (!Deno.stderr.isTerminal()) return { show() {}, done() {} };
  const encoder = new TextEncoder();
  let shown = false;
  return {
    show(text) {
      Deno.stderr.writeSync(encoder.encode(`\r\x1b[2K${text}`));
      shown = true;
    },
    done() {
      if (shown) Deno.stderr.writeSync(encoder.encode("\r\x1b[2K"));
    },
  };
}

/** `12.3 MB` */
export function formatBytes(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** Parses `--parallel`. */
export function parseParallel(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parallel = Number(value);
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > 32) {
    throw new CliError("--parallel must be an integer from 1 to 32", 2);
  }
  return parallel;
}

/** Runs the command; returns the exit code. */
export async function run(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(args, {
    db: { type: "string" },
    to: { type: "string" },
    "schema-only": { type: "boolean" },
    "data-only": { type: "boolean" },
    "include-schema": { type: "string", multiple: true },
    "exclude-schema": { type: "string", multiple: true },
    "include-table": { type: "string", multiple: true },
    "exclude-table": { type: "string", multiple: true },
    parallel: { type: "string" },
    workers: { type: "boolean" },
    "allow-incomplete": { type: "boolean" },
    json: { type: "boolean" },
  });
  if (!values.to) throw new CliError("Missing --to <target-url>", 2);
  if (values["schema-only"] && values["data-only"]) {
    throw new CliError("Choose at most one of --schema-only and --data-only", 2);
  }
  for (const table of [...values["include-table"] ?? [], ...values["exclude-table"] ?? []]) {
    if (!/^[^.]+\..+$/.test(table)) {
      throw new CliError(`Table "${table}" must be given as schema.table`, 2);
    }
  }
  const scope: DumpScope = {
    includeSchemas: values["include-schema"],
    excludeSchemas: values["exclude-schema"],
    includeTables: values["include-table"],
    excludeTables: values["exclude-table"],
    schemaOnly: values["schema-only"],
    dataOnly: values["data-only"],
  };
  const parallel = parseParallel(values.parallel);
  const db = await cliDatabase(values.db);
  // A backup of another database than the project's is never the project's latest backup.
  const project = config().databaseUrl;
  const otherDatabase = project !== undefined && !sameDatabase(db.url, project);
  const opened = await openCliRepository(values.to);
  const progress = progressLine();
  try {
    // Recorded as the project's run (a backup of another database says so in its class).
    const { result } = await asRecordedRun(
      {
        kind: "database",
        targets: [values.to],
        details: { scope, class: otherDatabase ? "other-database" : runBackupClass({ scope }) },
      },
      () =>
        backupDatabase({
          db: db.url,
          repository: opened.repository,
          scope,
          otherDatabase,
          allowIncomplete: values["allow-incomplete"] ?? config().allowIncomplete,
          parallel,
          encryptionKeyId: opened.keyring?.active.id ?? null,
          workers: values.workers ? opened.spec : undefined,
          onProgress: (p) =>
            progress.show(
              p.phase === "tables"
                ? `Backing up: ${p.tablesDone}/${p.tablesTotal} tables, ${p.rows} rows, ${
                  formatBytes(p.bytes)
                }`
                : p.phase === "schema"
                ? "Reading the schema…"
                : "Checking blobs and writing the manifest…",
            ),
        }),
      (made) => ({
        backupId: made.backupId,
        bytes: made.bytes,
        items: made.rows,
        details: {
          class: made.manifest.class ?? runBackupClass({ scope }),
          ...(made.manifest.warnings.length
            ? { complete: false, warnings: made.manifest.warnings }
            : {}),
        },
      }),
    );
    progress.done();
    const warnings = result.manifest.warnings;
    if (warnings.length > 0) {
      console.error(
        `WARNING: backup ${result.backupId} is INCOMPLETE: a restore of it will fail or differ ` +
          `from the database:\n${warnings.map((w) => `  - ${w}`).join("\n")}`,
      );
    }
    if (values.json) {
      console.log(JSON.stringify({
        backupId: result.backupId,
        bytes: result.bytes,
        tables: result.tables,
        rows: result.rows,
        seconds: result.seconds,
        class: result.manifest.class ?? "full",
        complete: warnings.length === 0,
        warnings,
      }));
    } else {
      console.log(
        `Backup ${result.backupId}${
          result.manifest.class && result.manifest.class !== "full"
            ? ` (${result.manifest.class})`
            : ""
        }: ${result.tables} tables, ${result.rows} rows, ` +
          `${formatBytes(result.bytes)} of data stored as ${formatBytes(result.storedBytes)} ` +
          `(${result.reusedBlobs} of ${result.manifest.totals.blobs} blobs unchanged) ` +
          `in ${result.seconds} s`,
      );
    }
    return 0;
  } finally {
    progress.done();
    await opened.target.close();
  }
}
