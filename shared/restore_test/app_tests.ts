/**
 * The project's own pgTAP tests (`supabase/tests/**\/*.sql`, what `supabase test db` runs),
 * run against the restored copy: a restore is only as good as the application it brings back,
 * and the project's tests of its tables, policies and functions say so better than we can.
 *
 * There is no psql on the Edge, so each file is cut into statements here (`sql_script.ts`) and
 * sent one by one on one reserved connection, inside a transaction that is always rolled back;
 * the TAP rows pgTAP returns are read by `tap.ts`.
 *
 * @module
 */
import type postgres from "postgres";
import { type ScriptPart, ScriptRefusedError, testStatements } from "./sql_script.ts";
import { isFailure, planProblem, TapReader, type TapSummary } from "./tap.ts";

/** One test file of the project (`supabase/tests/**\/*.sql`, the layout `supabase test db` runs). */
export interface AppTestFile {
  /** Relative to the tests folder, `/` separated. */
  path: string;
  text: string;
}

/** A failing test, or a file that could not run to its end (`test` null). */
export interface AppTestFailure {
  file: string;
  test: number | null;
  description: string;
  reason: string;
}

/** What the project's tests said about the restored database. */
export interface AppTestsReport {
  files: number;
  tests: number;
  passed: number;
  todo: number;
  skipped: number;
  failures: AppTestFailure[];
  seconds: number;
}

/** Where a project keeps its pgTAP files, relative to the current directory, when not configured. */
export const DEFAULT_APP_TESTS_DIR = "supabase/tests";

/** Every *.sql under dir, recursively, sorted by path; [] when dir does not exist. */
export async function loadAppTests(dir: string): Promise<AppTestFile[]> {
  const files: AppTestFile[] = [];
  try {
    await collect(dir, "", files);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  return files.sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
}

async function collect(dir: string, prefix: string, into: AppTestFile[]): Promise<void> {
  for await (const entry of Deno.readDir(dir)) {
    const full = `${dir}/${entry.name}`;
    const path = `${prefix}${entry.name}`;
    // A link is followed to a file only: a linked folder could loop.
    const isFile = entry.isFile || (entry.isSymlink && (await Deno.stat(full)).isFile);
    if (entry.isDirectory) await collect(full, `${path}/`, into);
    else if (isFile && /\.sql$/i.test(entry.name)) {
      into.push({ path, text: await Deno.readTextFile(full) });
    }
  }
}

/** Runs each file against the database `sql` (a postgres.js Sql for the scratch database) and returns what passed and failed. */
export async function runAppTests(
  sql: postgres.Sql,
  files: readonly AppTestFile[],
  options: { signal?: AbortSignal } = {},
): Promise<AppTestsReport> {
  const started = performance.now();
  const report: AppTestsReport = {
    files: files.length,
    tests: 0,
    passed: 0,
    todo: 0,
    skipped: 0,
    failures: [],
    seconds: 0,
  };
  if (files.length > 0) await ensurePgtap(sql);
  for (const file of files) {
    options.signal?.throwIfAborted();
    const outcome = await runFile(sql, file, options.signal);
    addOutcome(report, file.path, outcome);
  }
  report.seconds = (performance.now() - started) / 1000;
  return report;
}

/** Outside any file's transaction, so that it stays for every file. */
async function ensurePgtap(sql: postgres.Sql): Promise<void> {
  try {
    await sql.unsafe("create extension if not exists pgtap").simple();
  } catch (error) {
    const said = error instanceof Error ? error.message : String(error);
    throw new Error(
      `The project's pgTAP tests need the pgtap extension on the scratch server, and it could not be created: ${said}`,
      { cause: error },
    );
  }
}

/** What one file did: its TAP, and the failure that stopped it early, if any. */
interface FileOutcome {
  tap: TapSummary;
  stopped: Omit<AppTestFailure, "file"> | null;
}

async function runFile(
  sql: postgres.Sql,
  file: AppTestFile,
  signal: AbortSignal | undefined,
): Promise<FileOutcome> {
  const reader = new TapReader();
  let statements: ScriptPart[];
  try {
    statements = testStatements(file.text);
  } catch (error) {
    if (!(error instanceof ScriptRefusedError)) throw error;
    const { part, why } = error;
    const stopped = { test: null, description: preview(part), reason: why };
    return { tap: reader.summary(), stopped };
  }
  const connection = await sql.reserve();
  try {
    return await inRolledBackTransaction(connection, async () => {
      for (const statement of statements) {
        signal?.throwIfAborted();
        const stopped = await runStatement(connection, statement, reader, signal);
        if (stopped) return { tap: reader.summary(), stopped };
        if (reader.bailedOut) break;
      }
      return { tap: reader.summary(), stopped: null };
    });
  } finally {
    connection.release();
  }
}

/** Runs `body` inside `begin` … `rollback`, so that nothing a test writes stays. */
async function inRolledBackTransaction<T>(
  connection: postgres.ReservedSql,
  body: () => Promise<T>,
): Promise<T> {
  await connection.unsafe("begin").simple();
  let result: T;
  try {
    // Policies are what many project tests check: a pool's session may have turned them off.
    await connection.unsafe("set local row_security = on").simple();
    result = await body();
  } catch (error) {
    await connection.unsafe("rollback").simple().catch(() => {}); // the first error matters
    throw error;
  }
  await connection.unsafe("rollback").simple();
  return result;
}

/**
 * Sends one statement as the file wrote it (simple protocol, nothing prepared) and reads the
 * first column of the rows it returns. A server error is the file's failure; an abort
 * cancels the statement and is thrown.
 */
async function runStatement(
  connection: postgres.ReservedSql,
  statement: ScriptPart,
  reader: TapReader,
  signal: AbortSignal | undefined,
): Promise<Omit<AppTestFailure, "file"> | null> {
  const query = connection.unsafe(statement.text).simple().values();
  const cancel = () => query.cancel();
  signal?.addEventListener("abort", cancel, { once: true });
  try {
    for (const value of firstColumn(await query)) reader.read(value);
    return null;
  } catch (error) {
    signal?.throwIfAborted();
    if (!isServerError(error)) throw error;
    return { test: null, description: preview(statement), reason: error.message };
  } finally {
    signal?.removeEventListener("abort", cancel);
  }
}

/** Names a statement in a failure: its line and first 80 characters. */
function preview(statement: ScriptPart): string {
  return `line ${statement.line}: ${statement.text.replace(/\s+/g, " ").slice(0, 80)}`;
}

/** The text values of each row's first column (of every result, if one text held several). */
function firstColumn(result: unknown): string[] {
  const results = isResultList(result) ? result : [result];
  const values: string[] = [];
  for (const rows of results) {
    for (const row of rows as unknown[][]) {
      if (typeof row?.[0] === "string") values.push(row[0]);
    }
  }
  return values;
}

function isResultList(result: unknown): result is unknown[][] {
  const first = Array.isArray(result) ? result[0] : undefined;
  return Array.isArray(first) && "command" in first;
}

/** An error the server sent (the statement failed), as opposed to a broken connection. */
function isServerError(error: unknown): error is Error {
  return error instanceof Error && error.name === "PostgresError";
}

function addOutcome(report: AppTestsReport, file: string, outcome: FileOutcome): void {
  const { tap, stopped } = outcome;
  for (const test of tap.tests) {
    report.tests++;
    if (test.directive === "skip") report.skipped++;
    else if (test.directive === "todo") report.todo++;
    else if (test.ok) report.passed++;
    if (isFailure(test)) {
      const reason = joinDiagnostics(test.diagnostics) || "failed";
      report.failures.push({ file, test: test.number, description: test.description, reason });
    }
  }
  const ended = stopped ?? planProblem(tap);
  if (ended) report.failures.push({ file, test: null, ...ended });
}

/** Diagnostic lines as one reason: `have: 1; want: 2`, `differ at row 1: have: (1)`. */
function joinDiagnostics(lines: readonly string[]): string {
  return lines.reduce(
    (joined, line) => joined === "" ? line : `${joined}${joined.endsWith(":") ? " " : "; "}${line}`,
    "",
  );
}

const NAMED_FAILURES = 3;

/** One sentence naming the failing tests (first few, file and description), for a run's error and an alert. */
export function describeAppTestFailures(report: AppTestsReport): string {
  const failed = report.failures.length;
  if (failed === 0) {
    return `The project's ${report.tests} pgTAP tests in ${report.files} files passed.`;
  }
  const named = report.failures.slice(0, NAMED_FAILURES).map(describeFailure);
  const more = failed > NAMED_FAILURES ? `; and ${failed - NAMED_FAILURES} more` : "";
  return `The project's pgTAP tests failed on the restored database (${failed} ${
    failed === 1 ? "failure" : "failures"
  } in ${report.tests} tests, ${report.files} files): ${named.join("; ")}${more}.`;
}

function describeFailure(failure: AppTestFailure): string {
  const which = failure.test === null ? "" : ` test ${failure.test}`;
  const reason = failure.reason.length > 120
    ? `${failure.reason.slice(0, 117)}...`
    : failure.reason;
  return `${failure.file}${which} "${failure.description}" (${reason})`;
}
