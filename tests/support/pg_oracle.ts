/**
 * pg_dump as the oracle of database fidelity: a source database built from SQL, backed up by
 * the engine, restored by the engine into an empty database and, separately, exported as a
 * plain script run by psql; each result must give the same `pg_dump --schema-only` and
 * `pg_dump --data-only` (large objects included) as the source.
 */
import { exportSql } from "../../shared/database/export_sql.ts";
import { backupDatabase, type BackupResult } from "../../shared/database/backup/mod.ts";
import postgres from "postgres";
import { type DatabaseSchema, readSchema } from "../../shared/database/catalog/mod.ts";
import type { DumpScope } from "../../shared/database/catalog/model.ts";
import { restoreDatabase, type RestoreResult } from "../../shared/database/restore/mod.ts";
import { Repository } from "../../shared/repository/mod.ts";
import { type RestoreTestReport, runRestoreTest } from "../../shared/restore_test/restore_test.ts";
import { FileTarget } from "../../shared/targets/file_target.ts";
import { PG_BIN, type PostgresCluster, startPostgres } from "../../stack/postgres.ts";

/** Runs a PostgreSQL client tool; throws its stderr when it fails. */
export async function pgTool(tool: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(`${PG_BIN}/${tool}`, { args, stdin: "null" }).output();
  if (!out.success) {
    throw new Error(`${tool} failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** Runs SQL text with psql, stopping at the first error (as a user loads a schema). */
export async function psqlScript(url: string, text: string): Promise<void> {
  const file = await Deno.makeTempFile({ suffix: ".sql" });
  try {
    await Deno.writeTextFile(file, text);
    await pgTool("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", file]);
  } finally {
    await Deno.remove(file).catch(() => {});
  }
}

/** `pg_dump` output without the per-run `\restrict` / `\unrestrict` lines. */
export async function pgDump(url: string, ...flags: string[]): Promise<string> {
  const text = await pgTool("pg_dump", [...flags, "-d", url]);
  return text.split("\n").filter((line) => !/^\\(un)?restrict /.test(line)).join("\n");
}

/**
 * A data dump with each table's rows sorted: a heap's row order is not data (a table whose
 * rows were updated lists them in another order than a fresh load of the same rows).
 */
export function sortedRows(dump: string): string {
  const lines = dump.split("\n");
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    out.push(lines[i]);
    if (!/^COPY .* FROM stdin;$/.test(lines[i])) continue;
    const rows: string[] = [];
    while (i + 1 < lines.length && lines[i + 1] !== "\\.") rows.push(lines[++i]);
    out.push(...rows.sort());
  }
  return out.join("\n");
}

/** A unified-style diff of two texts (common prefix and suffix trimmed, LCS in between). */
export function lineDiff(a: string, b: string): string {
  const x = a.split("\n");
  const y = b.split("\n");
  let start = 0;
  while (start < x.length && start < y.length && x[start] === y[start]) start++;
  let endX = x.length;
  let endY = y.length;
  while (endX > start && endY > start && x[endX - 1] === y[endY - 1]) {
    endX--;
    endY--;
  }
  const xs = x.slice(start, endX);
  const ys = y.slice(start, endY);
  const lcs: number[][] = Array.from(
    { length: xs.length + 1 },
    () => new Array(ys.length + 1).fill(0),
  );
  for (let i = xs.length - 1; i >= 0; i--) {
    for (let j = ys.length - 1; j >= 0; j--) {
      lcs[i][j] = xs[i] === ys[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const out = [
    `@@ line ${start + 1} @@`,
    ...x.slice(Math.max(0, start - 3), start).map((l) => ` ${l}`),
  ];
  let i = 0;
  let j = 0;
  while (i < xs.length || j < ys.length) {
    if (i < xs.length && j < ys.length && xs[i] === ys[j]) {
      out.push(` ${xs[i]}`);
      i++;
      j++;
    } else if (j < ys.length && (i === xs.length || lcs[i][j + 1] >= lcs[i + 1][j])) {
      out.push(`+${ys[j++]}`);
    } else {
      out.push(`-${xs[i++]}`);
    }
  }
  out.push(...x.slice(endX, endX + 3).map((l) => ` ${l}`));
  return out.join("\n");
}

/** Throws with a diff when the two dumps differ. */
export function assertSameDump(source: string, restored: string, what: string): void {
  if (source === restored) return;
  throw new Error(`${what} differ (- source, + restored):\n${lineDiff(source, restored)}`);
}

/**
 * What the catalog reader makes of a database, read the way a backup reads it (one REPEATABLE
 * READ READ ONLY transaction), as `user` when given (the URL's user otherwise).
 */
export async function readSchemaAt(
  url: string,
  options: { scope?: DumpScope; user?: string } = {},
): Promise<DatabaseSchema> {
  const target = new URL(url);
  if (options.user) target.username = options.user;
  const sql = postgres(target.href, { max: 1, onnotice: () => {} });
  try {
    return await sql.begin(
      "isolation level repeatable read read only",
      (tx) => readSchema(tx, options.scope ?? {}),
    ) as DatabaseSchema;
  } finally {
    await sql.end();
  }
}

/** Runs SQL text (simple protocol, several statements allowed) and returns the last rows. */
export async function queryRows<T>(url: string, text: string): Promise<T[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await sql.unsafe(text) as unknown as T[];
  } finally {
    await sql.end();
  }
}

/** One cluster shared by the cases of a test file; each case gets fresh databases. */
export interface OracleCluster {
  pg: PostgresCluster;
  /** Creates a database with a unique name built from `prefix`. */
  database(prefix: string): Promise<string>;
}

let counter = 0;

/** Starts a plain cluster (no Supabase baseline unless asked), runs `fn`, stops it. */
export async function withOracleCluster(
  fn: (cluster: OracleCluster) => Promise<void>,
  options: { supabase?: boolean } = {},
): Promise<void> {
  const pg = await startPostgres({ supabase: options.supabase ?? false });
  try {
    await fn({
      pg,
      database: (prefix) => pg.createDatabase(`${prefix}_${++counter}`),
    });
  } finally {
    await pg.stop();
  }
}

/** What {@link assertRoundTrip} measured. */
export interface RoundTrip {
  source: string;
  restored: string;
  backup: BackupResult;
  restore: RestoreResult;
  /** The restore test's report, when asked for (`restoreTest`). */
  restoreTest?: RestoreTestReport;
}

/**
 * Builds a source database from `setup` (run by psql), backs it up, restores it into an empty
 * database and exports it as SQL into another; both must dump identically to the source,
 * schema and data. `prepare` runs on every fresh database first (roles are cluster-wide, so
 * they belong in `setup`).
 */
export async function assertRoundTrip(
  cluster: OracleCluster,
  setup: string,
  options: {
    scope?: DumpScope;
    prepare?: string;
    exportSql?: boolean;
    /** Also run the restore test (tables and every kind of object compared); it must pass. */
    restoreTest?: boolean;
  } = {},
): Promise<RoundTrip> {
  const source = await cluster.database("source");
  if (options.prepare) await psqlScript(source, options.prepare);
  await psqlScript(source, setup);
  const dir = await Deno.makeTempDir({ prefix: "sauvegarde-oracle-" });
  try {
    const repository = new Repository(new FileTarget(dir), { compression: "zstd" });
    const backup = await backupDatabase({ db: source, repository, scope: options.scope });
    const restored = await cluster.database("restored");
    if (options.prepare) await psqlScript(restored, options.prepare);
    const restore = await restoreDatabase({
      repository,
      backupId: backup.backupId,
      db: restored,
      // The repository has no keys: the test vouches for it.
      allowUnauthenticated: true,
    });
    const sourceSchema = await pgDump(source, "--schema-only");
    const sourceData = sortedRows(await pgDump(source, "--data-only"));
    assertSameDump(sourceSchema, await pgDump(restored, "--schema-only"), "Schema dumps");
    assertSameDump(sourceData, sortedRows(await pgDump(restored, "--data-only")), "Data dumps");
    if (options.exportSql ?? true) {
      const file = `${dir}/export.sql`;
      const out = await Deno.open(file, { write: true, create: true, truncate: true });
      await exportSql(repository, {
        backupId: backup.backupId,
        out: out.writable,
        allowUnauthenticated: true,
      });
      const viaPsql = await cluster.database("exported");
      if (options.prepare) await psqlScript(viaPsql, options.prepare);
      await pgTool("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", viaPsql, "-f", file]);
      assertSameDump(sourceSchema, await pgDump(viaPsql, "--schema-only"), "Exported schema dumps");
      assertSameDump(
        sourceData,
        sortedRows(await pgDump(viaPsql, "--data-only")),
        "Exported data dumps",
      );
    }
    let restoreTest: RestoreTestReport | undefined;
    if (options.restoreTest) {
      restoreTest = await runRestoreTest(repository, {
        serverUrl: cluster.pg.url,
        backupId: backup.backupId,
        allowUnauthenticated: true,
      });
      if (!restoreTest.ok) {
        throw new Error(
          `The restore test failed: ${JSON.stringify(restoreTest.mismatches)} ${
            JSON.stringify(restoreTest.objectMismatches)
          }`,
        );
      }
    }
    return { source, restored, backup, restore, restoreTest };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
