/**
 * Restores a database backup into a destination database.
 *
 * Order of work, one phase per file, and what a failure leaves behind:
 * 1. `verify.ts`: the manifest is loaded and validated, and EVERY blob the restore needs is
 *    verified deeply (decoded and re-hashed) before anything is written: a damaged backup
 *    changes nothing.
 * 2. `check_destination.ts`: the destination is inspected, and the restore refuses, before
 *    writing anything, when it would mix rows: tables it would create already exist, tables it
 *    would load into are missing, or hold rows (unless `truncate`).
 * 3. `safety_backup.ts`: a non-empty destination is first backed up into the same repository
 *    (a "safety" backup), unless `safetyBackup: false`.
 * 4. Pre-data DDL runs in one transaction (all or nothing), the project's own roles first
 *    (a Supabase backup's: each created where it is missing, never altered, then their
 *    memberships), so that everything after may name them.
 * 5. `load_and_build.ts`: tables load in parallel, each in its own transaction (`TRUNCATE` when
 *    asked, then `COPY`), with triggers and foreign-key checks off
 *    (`session_replication_role = replica`) where the role may set it; the server's row count
 *    must equal the manifest's. Every transaction of the restore sets what it needs locally
 *    (`sessions.ts`), so a restore through a transaction-mode pooler behaves as a direct one.
 *    The large objects' contents are written beside the tables (`large_objects.ts`), into the
 *    objects the pre-data created; a destination that already has one of them is refused in
 *    step 2.
 * 6. `post_data.ts`: post-data DDL: index and constraint builds in parallel (with step 5), then
 *    the rest (foreign keys, triggers, policies, grants, sequence values).
 *
 * A full restore of a backup read in one snapshot, loading with triggers off, adds the foreign
 * keys before step 5 instead, on the empty tables (after the referenced keys): the rows held
 * the keys in the source's snapshot, so they are not checked again row by row, which on a large
 * table is the longest step of a restore (see `planEarlyForeignKeys`). A backup assembled from
 * several snapshots (budgeted Edge steps) may hold rows that break a key, and is checked as
 * usual: the restore then fails on the key, naming it, rather than leave it broken.
 *
 * Modes (`choose.ts`): everything (into an empty database, or a Supabase project whose platform
 * schemas exist: their tables get data only, and a platform table the destination lacks is
 * skipped with a warning); `schemaOnly`; `dataOnly` (into existing tables, sequences set);
 * `tables` (data of the chosen tables into existing tables; their owned sequences are moved
 * past the loaded values).
 *
 * @module
 */
import { requireAuthenticated } from "../../repository/mod.ts";
import { openConnection } from "../../pg/connect.ts";
import { tableLabel } from "../../pg/sql_text.ts";
import { loadDatabaseManifest } from "../manifest.ts";
import { checkDestination } from "./check_destination.ts";
import { largeObjectOids } from "../catalog/large_objects.ts";
import { chooseLargeObjects, chooseStatements, chooseTables, restoreMode } from "./choose.ts";
import { applyInTransaction } from "./ddl.ts";
import { RestoreError } from "./error.ts";
import { loadAndBuild } from "./load_and_build.ts";
import { advanceOwnedSequences, applyPostData } from "./post_data.ts";
import { earlyForeignKeys, planPostData } from "./post_data_plan.ts";
import { takeSafetyBackup } from "./safety_backup.ts";
import { openRestoreSessions } from "./sessions.ts";
import type { RestoreDatabaseOptions, RestoreProgress, RestoreResult } from "./types.ts";
import { verifyBlobs } from "./verify.ts";

export { RestoreError } from "./error.ts";
export type {
  RestoreDatabaseOptions,
  RestoreMode,
  RestoreProgress,
  RestoreResult,
} from "./types.ts";

/** Restores a backup; see the module documentation for the order and the guarantees. */
export async function restoreDatabase(options: RestoreDatabaseOptions): Promise<RestoreResult> {
  const started = performance.now();
  const warnings: string[] = [];
  const warn = (message: string) => {
    warnings.push(message);
    options.onWarning?.(message);
  };
  const parallel = Math.max(1, Math.floor(options.parallel ?? 2));
  const mode = restoreMode(options);

  const manifest = await loadDatabaseManifest(options.repository, options.backupId);
  // Nothing from the store runs, loads or is even checked unless a key holder wrote it.
  requireAuthenticated(manifest, {
    what: `Database backup ${manifest.backupId}`,
    allowUnauthenticated: options.allowUnauthenticated,
  });
  const tables = chooseTables(manifest, mode, options.tables);
  const statements = await chooseStatements(options.repository, manifest, mode);
  const largeObjects = chooseLargeObjects(manifest, mode);

  // 1. Verify every blob the restore needs before touching the destination.
  const progress = (phase: RestoreProgress["phase"], extra: Partial<RestoreProgress> = {}) =>
    options.onProgress?.({
      phase,
      tablesDone: 0,
      tablesTotal: tables.length,
      rows: 0,
      bytes: 0,
      ...extra,
    });
  progress("verify");
  await verifyBlobs(
    options.repository,
    manifest,
    largeObjects ? [...tables, largeObjects] : tables,
    options.signal,
  );

  const connection = openConnection(options.db, { max: parallel });
  // Whether the destination was changed: what a failure's message and RestoreError say.
  let applied = false;
  let safetyBackupId: string | null = null;
  try {
    // 2. Inspect the destination; refuse, changing nothing, when the restore would mix rows.
    const { destination, load, skipped } = await checkDestination(connection, {
      mode,
      tables,
      // Roles the backup creates first (kind ROLE, at the start of pre-data) are not missing.
      roles: manifest.roles.filter((role) =>
        !statements.pre.some((statement) => statement.kind === "ROLE" && statement.name === role)
      ),
      truncate: options.truncate ?? false,
      runsStatements: statements.pre.length + statements.post.length > 0,
      largeObjects: largeObjectOids(statements.pre),
      warn,
    });

    // 3. Back up a destination that holds anything.
    if (destination.nonEmpty && options.safetyBackup !== false) {
      progress("safety-backup");
      safetyBackupId = await takeSafetyBackup(connection.sql, {
        repository: options.repository,
        restoring: manifest.backupId,
        parallel,
        signal: options.signal,
      });
    }

    options.signal?.throwIfAborted();
    const reserved = await openRestoreSessions(connection.sql, parallel);
    try {
      // 4. Pre-data, all or nothing.
      if (statements.pre.length) {
        progress("pre-data");
        await applyInTransaction(reserved[0], statements.pre, warn);
        applied = true;
      }
      let post = await planPostData(reserved[0].sql, statements.post);
      // A full restore of a one-snapshot backup adds its foreign keys to the empty tables.
      if (mode === "full" && manifest.snapshots === 1) {
        const early = earlyForeignKeys(reserved, post);
        if (early) {
          applied = true;
          await applyInTransaction(reserved[0], early.first, warn);
          post = { ...post, builds: early.builds, rest: early.rest, foreignKeys: "trusted" };
        }
      }

      // 5. Tables, with their index and constraint builds as soon as their rows are in.
      const tableBytes = new Map(load.map((table) => [tableLabel(table), table.bytes]));
      if (load.length || post.builds.length || largeObjects) applied = true;
      progress(load.length ? "data" : "post-data", { tablesTotal: load.length });
      const loaded = await loadAndBuild(
        reserved,
        options.repository,
        load,
        post.builds,
        destination,
        {
          truncate: options.truncate ?? false,
          plain: post.plain,
          signal: options.signal,
          warn,
          onTable: (table, done) =>
            progress("data", { table, tablesDone: done, tablesTotal: load.length }),
          largeObjects,
        },
      );
      const { rows, bytes } = loaded;

      // 6. The rest of post-data, once every row is in.
      if (post.rest.length) {
        progress("post-data", { tablesDone: load.length, tablesTotal: load.length, rows, bytes });
        applied = true;
        await applyPostData(reserved, post.rest, warn, tableBytes);
      }
      if (mode === "tables") {
        for (const table of load) await advanceOwnedSequences(reserved[0], table);
      }
      return {
        backupId: manifest.backupId,
        tables: load.length,
        rows,
        bytes,
        seconds: Math.round(performance.now() - started) / 1000,
        skippedTables: skipped,
        warnings,
        safetyBackupId,
        foreignKeys: post.foreignKeys,
        ...(largeObjects ? { largeObjects: loaded.largeObjects } : {}),
      };
    } finally {
      for (const one of reserved) one.release();
    }
  } catch (error) {
    if (error instanceof RestoreError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    const safety = safetyBackupId
      ? ` (the destination was backed up first, as ${safetyBackupId})`
      : "";
    throw new RestoreError(
      applied
        ? `Restore failed: ${message}${safety}`
        : `Restore failed before changing the destination: ${message}`,
      applied,
      { cause: error, safetyBackupId },
    );
  } finally {
    await connection.close();
  }
}
