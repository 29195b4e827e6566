/**
 * Starting and continuing runs on request: what `trigger-backup` (and `storage-snapshot`) do
 * behind their HTTP adapters. A run is created (one live run per kind: a second trigger gets
 * a conflict naming the live run), answered at once, and executed in budgeted steps in the
 * background; a step that runs out of budget hands over to the next invocation by calling
 * the function again (or, failing that, the cron "continue" tick picks it up).
 *
 * @module
 */
import { z } from "zod";
import type { App } from "./mod.ts";
import { selectTargets } from "../config/mod.ts";
import { type Run, RunConflictError, type RunKind, type RunTrigger } from "../runs/mod.ts";
import { inBackground } from "../jobs/background.ts";
import { describeError, executeStep } from "../jobs/executor.ts";
import { isUnbounded } from "../jobs/budget.ts";

const identifier = z.string().min(1).max(63).regex(/^[^\s"]+$/, "must be a schema name");
const qualified = z.string().regex(/^[^\s."]+\.[^\s."]+$/, 'must look like "schema.table"');

/** The CLI's backup options, as JSON. */
export const scopeSchema = z.object({
  schemaOnly: z.boolean().optional(),
  dataOnly: z.boolean().optional(),
  includeSchemas: z.array(identifier).optional(),
  excludeSchemas: z.array(identifier).optional(),
  includeTables: z.array(qualified).optional(),
  excludeTables: z.array(qualified).optional(),
}).strict().refine((s) => !(s.schemaOnly && s.dataOnly), {
  message: "schemaOnly and dataOnly cannot both be true",
});

/** `POST trigger-backup` body that starts runs. */
export const triggerRequestSchema = z.object({
  kind: z.enum(["database", "storage", "all", "restore_test"]),
  scope: scopeSchema.optional(),
  targets: z.array(z.string().min(1)).min(1).optional(),
  buckets: z.array(z.string().min(1)).min(1).optional(),
}).strict().refine((r) => r.kind !== "restore_test" || (!r.scope && !r.buckets), {
  message: "a restore test takes no scope or buckets: it restores the latest full backup",
});

/** `POST trigger-backup` body that continues runs (cron tick, self-invocation). */
export const continueRequestSchema = z.object({
  continue: z.union([z.literal(true), z.uuid()]),
}).strict();

export type TriggerRequest = z.infer<typeof triggerRequestSchema>;

const TRIGGER_OF: Record<Requester["kind"], RunTrigger> = {
  cron: "cron",
  admin: "manual",
  service: "api",
};

/** What the dashboard may see of a run: no checkpoint internals. */
export function publicRun(run: Run): Record<string, unknown> {
  return {
    id: run.id,
    kind: run.kind,
    status: run.status,
    trigger: run.trigger,
    requestedBy: run.requestedBy,
    targets: run.targets,
    backupId: run.backupId,
    createdAt: run.createdAt,
    startedAt: run.startedAt,
    heartbeatAt: run.heartbeatAt,
    finishedAt: run.finishedAt,
    bytes: run.bytes,
    items: run.items,
    attempts: run.attempts,
    error: run.error,
    details: run.details,
  };
}

/** Who asked for the runs (the HTTP layer's authorised caller). */
export interface Requester {
  kind: "cron" | "service" | "admin";
  subject: string;
}

/** A run of a kind this process has no step for, and that no worker would take either. */
export class NoStepError extends Error {
  constructor(readonly kind: RunKind) {
    super(`No engine is registered for ${kind} runs here`);
    this.name = "NoStepError";
  }
}

/** A run of the same kind is live: nothing more was started (those before it were). */
export class RunsBusyError extends Error {
  constructor(
    message: string,
    readonly liveRunId: string | undefined,
    readonly started: string[],
  ) {
    super(message);
    this.name = "RunsBusyError";
  }
}

/** A dashboard user asked to continue runs, which only the scheduler and servers do. */
export class ContinueNotAllowedError extends Error {
  constructor() {
    super("Only the scheduler continues runs");
    this.name = "ContinueNotAllowedError";
  }
}

/** @throws {UnknownTargetError} naming a target that is not configured */
function checkTargets(app: App, names: string[] | undefined): string[] {
  return Object.keys(selectTargets(app.config, names));
}

/**
 * Creates the requested runs and starts their first step in the background.
 *
 * @throws {RunsBusyError} (with the live run's id) when a run of the same kind is in progress
 * @throws {UnknownTargetError} for a target that is not configured
 * @throws {NoStepError} for a kind this process cannot run nor queue
 */
export async function triggerRuns(
  app: App,
  caller: Requester,
  request: TriggerRequest,
): Promise<{
  runId: string;
  status: string;
  runs: Array<{ kind: RunKind; runId: string }>;
  /** True when the run waits for the worker: no step of its kind runs in this process. */
  waitsForWorker?: boolean;
}> {
  const targets = checkTargets(app, request.targets);
  const kinds: RunKind[] = request.kind === "all" ? ["database", "storage"] : [request.kind];
  for (const kind of kinds) {
    // A process built without the restore test's step (`createApp`'s steps) queues it.
    if (!app.executor.steps[kind] && !WORKER_KINDS.has(kind)) {
      throw new NoStepError(kind);
    }
  }
  const runs: Run[] = [];
  for (const kind of kinds) {
    try {
      runs.push(
        await app.store.create({
          kind,
          trigger: TRIGGER_OF[caller.kind],
          requestedBy: caller.subject,
          targets,
          details: runDetails(kind, request),
          checkpoint: runDetails(kind, request),
        }),
      );
    } catch (error) {
      if (error instanceof RunConflictError) {
        // The live run may be stale (its worker died): continuing it is the useful answer,
        // where this process can (a restore test queued for the worker is left to it).
        if (error.liveRunId && app.executor.steps[kind]) {
          inBackground(continueRun(app, error.liveRunId));
        }
        throw new RunsBusyError(error.message, error.liveRunId, runs.map((r) => r.id));
      }
      throw error;
    }
  }
  const started = runs.filter((run) => app.executor.steps[run.kind]);
  for (const run of started) inBackground(continueRun(app, run.id));
  return {
    runId: runs[0].id,
    status: runs[0].status,
    runs: runs.map((run) => ({ kind: run.kind, runId: run.id })),
    ...(started.length < runs.length ? { waitsForWorker: true } : {}),
  };
}

/** Kinds a process without their step still accepts, queued for the worker to claim. */
const WORKER_KINDS: ReadonlySet<RunKind> = new Set(["restore_test"]);

function runDetails(kind: RunKind, request: TriggerRequest): Record<string, unknown> {
  if (kind === "database") return { scope: request.scope ?? {} };
  if (kind === "storage") return { buckets: request.buckets ?? null };
  return {};
}

/** Checks a continue request is from the scheduler or a server, not a browser. */
export function checkMayContinue(caller: Requester): void {
  if (caller.kind === "admin") throw new ContinueNotAllowedError();
}

/**
 * Runs one step of a run (or of every claimable run when `runId` is omitted) and, when it
 * handed over, asks the next invocation to continue.
 */
export async function continueRun(app: App, runId?: string): Promise<void> {
  const claimable = runId ? [runId] : await app.store.claimable(
    Object.keys(app.executor.steps) as RunKind[],
    { staleAfterMs: app.executor.staleAfterMs, unbounded: isUnbounded(app.limits) },
  );
  for (const id of claimable) {
    const { outcome } = await executeStep(app.executor, { runId: id, limits: app.limits });
    if (outcome === "continued") await handOver(app, id);
  }
}

/** Asks a fresh invocation of trigger-backup to continue the run; the cron tick is the fallback. */
async function handOver(app: App, runId: string): Promise<void> {
  const url = app.functionUrl("trigger-backup");
  if (!url || !app.config.cronSecret) return;
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-sauvegarde-secret": app.config.cronSecret,
      },
      body: JSON.stringify({ continue: runId }),
    });
    await response.body?.cancel();
  } catch (error) {
    console.error(
      `Handing run ${runId} over failed (the cron tick will continue it): ${describeError(error)}`,
    );
  }
}
