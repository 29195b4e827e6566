/**
 * The database backup step, as the run executor (`shared/jobs`) calls it: one budgeted step
 * of a `database` run, resuming from `backup_runs.checkpoint`.
 *
 * The database is read once, into the run's first target; the finished backup is then
 * replicated to every other target (blobs copied as stored and read back, manifest last), so
 * each target holds the same backup id — the 3-2-1 copies verification counts. The checkpoint
 * holds the first target's {@link BackupRunState} and each target's progress. A step opens a fresh
 * snapshot, copies tables until the budget is spent, saves the checkpoint after every table and
 * every slice, and writes a target's manifest once its last table is in. Under a budget, a
 * large table with an ordered key is copied in key-ordered slices sized by
 * {@link sliceBytesFor} and the budget is checked between slices; a table without such a key
 * always finishes once started, so a large one can make its step overrun the budget. A backup
 * finished in one step is one consistent snapshot; one spread over several steps records how
 * many snapshots it took (`snapshots` in its manifest; see `manifest.ts` for what that means
 * for a table read in slices across steps).
 *
 * The run's `details.scope` may hold a {@link DumpScope}.
 *
 * @module
 */
import type { StepContext } from "../jobs/mod.ts";
import { selectTargets } from "../config/mod.ts";
import type { BudgetLimits } from "../jobs/budget.ts";
import type { Step, StepResult, StepTools } from "../jobs/executor.ts";
import { openRepository } from "../repository/open.ts";
import { holdRepository, type LockingRepository, type RepositoryHold } from "../repository/hold.ts";
import {
  type BackupRunState,
  BackupStepError,
  copyPendingTables,
  finishBackupRun,
  startBackupRun,
} from "../database/backup/mod.ts";
import { runBackupClass } from "../database/backup_class.ts";
import type { DumpScope } from "../database/catalog/model.ts";
import { connectionError, openConnection } from "../pg/connect.ts";
import { openExportedSnapshot } from "../pg/exported_snapshot.ts";
import { DATABASE_MANIFEST_KIND } from "../database/manifest.ts";
import { copyBackup } from "../replication/copy_backup.ts";

/** What one target's backup has reached, as stored in the checkpoint. */
export interface TargetProgress {
  state?: BackupRunState;
  finished?: {
    backupId: string;
    bytes: number;
    rows: number;
    tables: number;
    storedBytes: number;
    /** What the backup could not reproduce (then its class is `incomplete`). */
    warnings?: string[];
  };
}

/** The checkpoint of a database run. */
export interface DatabaseCheckpoint {
  checkpointVersion: 1;
  targets: Record<string, TargetProgress>;
}

/** Connections (tables copied at once) a step uses. */
const STEP_PARALLEL = 2;

/**
 * CPU a backup spends per MiB of COPY text here (reading, hashing, chunking, zstd, storing:
 * about 11 s per GB measured by `bench/edge_budget_bench.ts`), rounded up.
 */
const CPU_MS_PER_MIB = 12;
/** Wall time per MiB, taken as high as the CPU's (compression on one thread sets the pace). */
const WALL_MS_PER_MIB = 12;
/**
 * A slice costs about this share of a step's budget. Each connection finishes the slice it
 * is in when the budget runs out, so a step overruns its budget by at most about
 * `STEP_PARALLEL` slices: with 1.6 s of CPU, 1/16 is 100 ms a slice, 8 MiB.
 */
const SLICES_PER_STEP = 16;
const MIB = 1024 * 1024;
/** Slices are never smaller than this unless asked (a byte budget of 1 means 1 MiB slices). */
const MIN_SLICE_BYTES = MIB;

/**
 * Raw COPY bytes of one slice of a large table under `limits`: `sliceBytes` when given (0: no
 * slices), else a sixteenth of what the CPU, wall or byte limit allows, at least 1 MiB;
 * undefined (tables copied whole) without limits, as for the worker.
 */
export function sliceBytesFor(limits: BudgetLimits): number | undefined {
  if (limits.sliceBytes !== undefined) return limits.sliceBytes > 0 ? limits.sliceBytes : undefined;
  const allowed: number[] = [];
  if (limits.cpuMs !== undefined) allowed.push((limits.cpuMs / CPU_MS_PER_MIB) * MIB);
  if (limits.wallMs !== undefined) allowed.push((limits.wallMs / WALL_MS_PER_MIB) * MIB);
  if (limits.bytes !== undefined) allowed.push(limits.bytes);
  if (allowed.length === 0) return undefined;
  return Math.max(MIN_SLICE_BYTES, Math.floor(Math.min(...allowed) / SLICES_PER_STEP));
}

/** Reads a run's scope from its details, keeping only known, well-typed fields. */
export function scopeFromDetails(details: Record<string, unknown>): DumpScope {
  const raw = details.scope;
  if (!raw || typeof raw !== "object") return {};
  const scope: DumpScope = {};
  const record = raw as Record<string, unknown>;
  for (
    const key of ["includeSchemas", "excludeSchemas", "includeTables", "excludeTables"] as const
  ) {
    const value = record[key];
    if (Array.isArray(value) && value.every((item) => typeof item === "string")) scope[key] = value;
  }
  if (record.schemaOnly === true) scope.schemaOnly = true;
  if (record.dataOnly === true) scope.dataOnly = true;
  return scope;
}

function readCheckpoint(value: Record<string, unknown>): DatabaseCheckpoint {
  if (value.checkpointVersion === 1 && value.targets && typeof value.targets === "object") {
    return value as unknown as DatabaseCheckpoint;
  }
  return { checkpointVersion: 1, targets: {} };
}

/**
 * The step's hold on a target's repository (`repository/hold.ts`): prune refuses to start while
 * it lasts; undefined when the budget ran out waiting for a prune to finish.
 */
function holdForStep(
  repository: LockingRepository,
  runId: string,
  tools: Pick<StepTools, "signal" | "budget">,
): Promise<RepositoryHold | undefined> {
  return holdRepository(repository, {
    kind: "database",
    id: runId.slice(0, 8),
    owner: `database backup run ${runId}`,
    signal: tools.signal,
    giveUp: () => tools.budget.exhausted(),
    onWait: (prune) =>
      console.error(
        `A prune holds the repository (until ${prune.expiresAt} at the latest); ` +
          `database backup run ${runId} waits for it`,
      ),
  });
}

/** Builds the step that runs `database` runs for an app. */
export function createDatabaseStep(app: Pick<StepContext, "config">): Step {
  return async (run, tools): Promise<StepResult> => {
    const databaseUrl = app.config.databaseUrl;
    if (!databaseUrl) {
      throw new Error("SUPABASE_DB_URL is not set: there is no database to back up");
    }
    const all = selectTargets(app.config, run.targets);
    const names = Object.keys(all);
    const checkpoint = readCheckpoint(run.checkpoint);
    const scope = scopeFromDetails(run.details);
    const save = () => tools.saveCheckpoint(checkpoint as unknown as Record<string, unknown>);

    const [primary, ...copies] = names;
    for (const name of [primary]) {
      const progress = checkpoint.targets[name] ??= {};
      if (progress.finished) continue;
      if (tools.budget.exhausted()) {
        return { done: false, checkpoint: checkpoint as unknown as Record<string, unknown> };
      }
      const opened = await openRepository(name, all[name], app.config);
      // The step holds the repository from before it reuses a blob until its checkpoint or
      // manifest is written; it waits while a prune holds it, as long as its budget lasts.
      let hold;
      try {
        hold = await holdForStep(opened.repository, run.id, tools);
      } catch (error) {
        await opened.target.close();
        throw error;
      }
      if (!hold) {
        await opened.target.close();
        return { done: false, checkpoint: checkpoint as unknown as Record<string, unknown> };
      }
      const signal = AbortSignal.any([tools.signal, hold.signal]);
      let connection;
      try {
        connection = openConnection(databaseUrl, { max: STEP_PARALLEL });
      } catch (error) {
        await hold.release();
        await opened.target.close();
        throw error;
      }
      try {
        let snapshot;
        try {
          snapshot = await openExportedSnapshot(connection.sql, { connections: STEP_PARALLEL });
        } catch (error) {
          throw connectionError(error, connection.label);
        }
        try {
          progress.state ??= await startBackupRun(snapshot, opened.repository, {
            scope,
            encryptionKeyId: opened.keyring?.active.id ?? null,
            allowIncomplete: app.config.allowIncomplete,
            signal,
          });
          await save();
          try {
            progress.state = await copyPendingTables(progress.state, snapshot, opened.repository, {
              signal,
              shouldStop: () => tools.budget.exhausted(),
              sliceBytes: sliceBytesFor(tools.budget.limits),
              onSliceDone: async (state, _table, slice) => {
                tools.budget.addBytes(slice.bytes);
                progress.state = state;
                await save();
              },
              onTableDone: async (state, _table, copied) => {
                tools.budget.addBytes(copied.bytes);
                progress.state = state;
                await save();
              },
            });
          } catch (error) {
            if (error instanceof BackupStepError) progress.state = error.state;
            throw error;
          }
        } finally {
          await snapshot.close();
        }
        if (progress.state.pending.length > 0) {
          return { done: false, checkpoint: checkpoint as unknown as Record<string, unknown> };
        }
        const manifest = await finishBackupRun(progress.state, opened.repository, {
          signal,
        });
        progress.finished = {
          backupId: manifest.backupId,
          bytes: manifest.totals.bytes,
          rows: manifest.totals.rows,
          tables: manifest.totals.tables,
          storedBytes: manifest.totals.storedBytes,
          ...(manifest.warnings.length ? { warnings: [...manifest.warnings] } : {}),
        };
        delete progress.state;
        await save();
      } finally {
        await connection.close();
        await hold.release();
        await opened.target.close();
      }
    }

    const made = checkpoint.targets[primary].finished!;
    for (const name of copies) {
      const progress = checkpoint.targets[name] ??= {};
      if (progress.finished) continue;
      if (tools.budget.exhausted()) {
        return { done: false, checkpoint: checkpoint as unknown as Record<string, unknown> };
      }
      const source = await openRepository(primary, all[primary], app.config);
      const destination = await openRepository(name, all[name], app.config);
      try {
        // The copy reuses blobs the destination has: a prune there must not sweep them meanwhile.
        const hold = await holdForStep(destination.repository, run.id, tools);
        if (!hold) {
          return { done: false, checkpoint: checkpoint as unknown as Record<string, unknown> };
        }
        try {
          await copyBackup(source.repository, destination.repository, {
            kind: DATABASE_MANIFEST_KIND,
            id: made.backupId,
            signal: AbortSignal.any([tools.signal, hold.signal]),
          });
        } finally {
          await hold.release();
        }
      } finally {
        await source.target.close();
        await destination.target.close();
      }
      progress.finished = made;
      await save();
    }

    const finished = names.map((name) => ({ name, ...checkpoint.targets[name].finished! }));
    const first = finished[0];
    return {
      done: true,
      checkpoint: checkpoint as unknown as Record<string, unknown>,
      backupId: first?.backupId,
      manifestLocation: finished
        .map((one) => `${one.name}:manifests/database/${one.backupId}.json`)
        .join(", "),
      bytes: first?.bytes,
      items: first?.rows,
      // Verification reads the class from here: a partial run is not the project's backup.
      details: {
        backups: finished,
        class: made.warnings?.length ? "incomplete" : runBackupClass({ scope }),
        ...(made.warnings?.length ? { complete: false, warnings: made.warnings } : {}),
      },
    };
  };
}
