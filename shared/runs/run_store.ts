/**
 * `backup_runs`: the record of every run and the checkpoint that lets a killed step resume.
 *
 * Lifecycle: queued → running (heartbeat every few seconds) → succeeded | failed | cancelled.
 * A run whose heartbeat went stale (process killed, wall clock hit) can be claimed again by
 * the next invocation or the worker, which resumes it from its checkpoint.
 *
 * @module
 */
import type postgres from "postgres";
import { fullBackupRun } from "./run_class.ts";

export type RunKind =
  | "database"
  | "storage"
  | "verify"
  | "restore_test"
  | "prune"
  | "replicate"
  | "config_backup"
  | "code_backup";
export type RunStatus = "queued" | "running" | "succeeded" | "failed" | "cancelled";
export type RunTrigger = "cron" | "manual" | "api";

/** One row of `backup_runs`. */
export interface Run {
  id: string;
  kind: RunKind;
  status: RunStatus;
  trigger: RunTrigger;
  requestedBy: string | null;
  targets: string[];
  backupId: string | null;
  manifestLocation: string | null;
  createdAt: Date;
  startedAt: Date | null;
  heartbeatAt: Date | null;
  finishedAt: Date | null;
  bytes: number;
  items: number;
  attempts: number;
  checkpoint: Record<string, unknown>;
  error: string | null;
  details: Record<string, unknown>;
}

/** A run taken by {@link RunStore.claim}; `interrupted` when its previous worker died. */
export type ClaimedRun = Run & { interrupted: boolean };

/** A live run of the same kind already exists (one database backup at a time). */
export class RunConflictError extends Error {
  constructor(readonly kind: RunKind, readonly liveRunId: string | undefined) {
    super(`A ${kind} run is already in progress${liveRunId ? ` (run ${liveRunId})` : ""}`);
    this.name = "RunConflictError";
  }
}

/** Default age after which a running run's heartbeat counts as stale. */
export const DEFAULT_STALE_AFTER_MS = 60_000;

/**
 * The checkpoint key of a run a budgeted step handed to the worker, holding why (a restore
 * test with no server here that may create its scratch database): budgeted claimers (Edge
 * Functions) leave such a run to an unbounded one.
 */
export const FOR_WORKER = "forWorker";

/** How a claimer takes runs. */
export interface ClaimOptions {
  /** A running run whose heartbeat is older than this was left by a dead worker. */
  staleAfterMs?: number;
  /** The claimer runs steps without limits (the worker), so it takes runs handed to it. */
  unbounded?: boolean;
}

// deno-lint-ignore no-explicit-any
function toRun(row: any): Run {
  return {
    id: row.id,
    kind: row.kind,
    status: row.status,
    trigger: row.trigger,
    requestedBy: row.requested_by,
    targets: row.targets ?? [],
    backupId: row.backup_id,
    manifestLocation: row.manifest_location,
    createdAt: row.created_at,
    startedAt: row.started_at,
    heartbeatAt: row.heartbeat_at,
    finishedAt: row.finished_at,
    bytes: Number(row.bytes),
    items: Number(row.items),
    attempts: row.attempts,
    checkpoint: row.checkpoint ?? {},
    error: row.error,
    details: row.details ?? {},
  };
}

/** Reads and writes `backup_runs` (connect with a role that bypasses RLS: the service role). */
export class RunStore {
  constructor(private readonly sql: postgres.Sql) {}

  /**
   * Creates a queued run, or with `running` one already running in this process (no worker
   * can claim it: work done inline, like the CLI's); throws {@link RunConflictError} if one is
   * live.
   */
  async create(
    input: {
      kind: RunKind;
      trigger: RunTrigger;
      requestedBy?: string;
      targets?: string[];
      details?: Record<string, unknown>;
      checkpoint?: Record<string, unknown>;
      running?: boolean;
    },
  ): Promise<Run> {
    const sql = this.sql;
    const running = input.running ?? false;
    try {
      const [row] = await sql`
        insert into public.backup_runs (kind, trigger, requested_by, targets, details, checkpoint,
                                        status, started_at, heartbeat_at, attempts)
        values (${input.kind}, ${input.trigger}, ${input.requestedBy ?? null},
                ${input.targets ?? []}, ${sql.json((input.details ?? {}) as postgres.JSONValue)},
                ${sql.json((input.checkpoint ?? {}) as postgres.JSONValue)},
                ${running ? "running" : "queued"}, ${running ? sql`now()` : null},
                ${running ? sql`now()` : null}, ${running ? 1 : 0})
        returning *`;
      return toRun(row);
    } catch (error) {
      if ((error as { code?: string }).code === "23505") {
        const live = await this.live(input.kind);
        throw new RunConflictError(input.kind, live?.id);
      }
      throw error;
    }
  }

  /** The run with this id, if any. */
  async get(id: string): Promise<Run | undefined> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
    const [row] = await this.sql`select * from public.backup_runs where id = ${id}`;
    return row ? toRun(row) : undefined;
  }

  /** The queued or running run of a kind, if any. */
  async live(kind: RunKind): Promise<Run | undefined> {
    const [row] = await this.sql`
      select * from public.backup_runs
      where kind = ${kind} and status in ('queued', 'running')
      order by created_at desc limit 1`;
    return row ? toRun(row) : undefined;
  }

  /**
   * The most recent run of a kind (in a status, when given; with `fullBackups`, only runs of
   * full backups of the project, see `run_class.ts`).
   */
  async latest(
    kind: RunKind,
    status?: RunStatus,
    options: { fullBackups?: boolean } = {},
  ): Promise<Run | undefined> {
    const full = options.fullBackups ? this.sql`and ${fullBackupRun(this.sql)}` : this.sql``;
    const [row] = status
      ? await this.sql`select * from public.backup_runs where kind = ${kind} and status = ${status}
                       ${full} order by created_at desc limit 1`
      : await this.sql`select * from public.backup_runs where kind = ${kind}
                       ${full} order by created_at desc limit 1`;
    return row ? toRun(row) : undefined;
  }

  /**
   * Takes a run to work on: a queued run, or a running one whose heartbeat is older than
   * `staleAfterMs` (its worker died). Atomic across processes (`FOR UPDATE SKIP LOCKED`);
   * returns undefined when someone else holds it or it is finished. `interrupted` is true
   * when the run was taken over from a worker that stopped beating.
   */
  async claim(
    id: string,
    options: ClaimOptions = {},
  ): Promise<ClaimedRun | undefined> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
    return await this.#claimWhere(this.sql`id = ${id}`, options);
  }

  /** Claims the oldest claimable run of the given kinds (the worker's loop). */
  async claimNext(
    kinds: RunKind[],
    options: ClaimOptions = {},
  ): Promise<ClaimedRun | undefined> {
    return await this.#claimWhere(this.sql`kind = any(${kinds})`, options);
  }

  /** Ids of runs that could be claimed now, oldest first (a scheduler's sweep). */
  async claimable(
    kinds: RunKind[],
    options: ClaimOptions & { limit?: number } = {},
  ): Promise<string[]> {
    const rows = await this.sql`
      select id from public.backup_runs
      where kind = any(${kinds}) and ${this.#claimable(options)}
      order by created_at limit ${options.limit ?? 10}`;
    return rows.map((row) => row.id as string);
  }

  /**
   * Queued, or running with a heartbeat older than `staleAfterMs` (its worker died); a run a
   * budgeted step handed to the worker (checkpoint `forWorker`) only for an unbounded claimer.
   */
  #claimable(
    { staleAfterMs = DEFAULT_STALE_AFTER_MS, unbounded = false }: ClaimOptions,
  ): postgres.PendingQuery<postgres.Row[]> {
    return this.sql`(status = 'queued'
      or (status = 'running'
          and heartbeat_at < now() - make_interval(secs => ${staleAfterMs / 1000})))
      and (${unbounded} or checkpoint ->> ${FOR_WORKER} is null)`;
  }

  async #claimWhere(
    filter: postgres.PendingQuery<postgres.Row[]>,
    options: ClaimOptions,
  ): Promise<ClaimedRun | undefined> {
    const [row] = await this.sql`
      with target as (
        select id, status as previous_status from public.backup_runs
        where ${filter} and ${this.#claimable(options)}
        order by created_at
        for update skip locked
        limit 1)
      update public.backup_runs b set
        status = 'running', attempts = b.attempts + 1, heartbeat_at = now(),
        started_at = coalesce(b.started_at, now())
      from target where b.id = target.id
      returning b.*, target.previous_status`;
    if (!row) return undefined;
    return { ...toRun(row), interrupted: row.previous_status === "running" };
  }

  /**
   * Hands a running run back to the queue with its checkpoint, so the next invocation (or the
   * worker) continues where this step stopped.
   */
  async release(id: string, checkpoint: Record<string, unknown>): Promise<void> {
    const sql = this.sql;
    await sql`
      update public.backup_runs set status = 'queued', heartbeat_at = now(),
        checkpoint = ${sql.json(checkpoint as postgres.JSONValue)}
      where id = ${id} and status = 'running'`;
  }

  /** Records liveness and, optionally, progress and the checkpoint to resume from. */
  async heartbeat(
    id: string,
    progress: { checkpoint?: Record<string, unknown>; bytes?: number; items?: number } = {},
  ): Promise<void> {
    const sql = this.sql;
    await sql`
      update public.backup_runs set
        heartbeat_at = now(),
        checkpoint = coalesce(${
      progress.checkpoint ? sql.json(progress.checkpoint as postgres.JSONValue) : null
    }::jsonb, checkpoint),
        bytes = coalesce(${progress.bytes ?? null}::bigint, bytes),
        items = coalesce(${progress.items ?? null}::bigint, items)
      where id = ${id} and status = 'running'`;
  }

  /** Ends a run. Only a running or queued run can end; returns false otherwise. */
  async finish(
    id: string,
    outcome: {
      status: "succeeded" | "failed" | "cancelled";
      error?: string;
      backupId?: string;
      manifestLocation?: string;
      bytes?: number;
      items?: number;
      details?: Record<string, unknown>;
    },
  ): Promise<boolean> {
    const sql = this.sql;
    const rows = await sql`
      update public.backup_runs set
        status = ${outcome.status},
        finished_at = now(),
        heartbeat_at = now(),
        error = ${outcome.error ?? null},
        backup_id = coalesce(${outcome.backupId ?? null}, backup_id),
        manifest_location = coalesce(${outcome.manifestLocation ?? null}, manifest_location),
        bytes = coalesce(${outcome.bytes ?? null}::bigint, bytes),
        items = coalesce(${outcome.items ?? null}::bigint, items),
        details = details || ${sql.json((outcome.details ?? {}) as postgres.JSONValue)}
      where id = ${id} and status in ('queued', 'running')
      returning id`;
    return rows.length === 1;
  }

  /** Live runs whose heartbeat is older than `staleAfterMs` (or queued and never started). */
  async stale(staleAfterMs = DEFAULT_STALE_AFTER_MS): Promise<Run[]> {
    const rows = await this.sql`
      select * from public.backup_runs
      where status in ('queued', 'running')
        and coalesce(heartbeat_at, created_at) < now() - make_interval(secs => ${
      staleAfterMs / 1000
    })
      order by created_at`;
    return rows.map(toRun);
  }
}
