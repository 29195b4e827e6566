/**
 * `storage-snapshot` Edge Function: starts an incremental snapshot of the Storage buckets
 * (pg_cron, dashboard buttons, API callers) and reports a run's state. The work runs in
 * budgeted steps in the background (`EdgeRuntime.waitUntil` on Supabase), the same engine
 * `trigger-backup` reaches with kind "storage".
 *
 * - `POST {"buckets"?: string[], "targets"?: string[]}` → 202 `{runId, status}`; 409 with the
 *   live run's `runId` when a snapshot is already in progress
 * - `GET ?runId=<id>` → 200 the run
 *
 * @module
 */
import { z } from "zod";
import { app } from "../../shared/app/mod.ts";
import { STEPS } from "../../shared/steps/mod.ts";
import {
  authorize,
  badRequest,
  callerSettings,
  HttpError,
  json,
  notFound,
  readJson,
  route,
} from "../../shared/http/mod.ts";
import { publicRun, triggerRuns } from "../../shared/app/trigger.ts";

const CALLERS = ["cron", "admin", "service"] as const;

/** The body of a snapshot request. */
export const snapshotRequestSchema = z.object({
  buckets: z.array(z.string().min(1)).min(1).optional(),
  targets: z.array(z.string().min(1)).min(1).optional(),
}).strict();

/** The function's handler, served by Supabase's runtime or the local functions host. */
export const handler = route({
  async POST(request) {
    const caller = await authorize(request, callerSettings(), CALLERS);
    const context = app(STEPS);
    const body = snapshotRequestSchema.parse(await readJson(request));
    if (!context.config.storageSource) {
      throw new HttpError(
        503,
        "Storage is not configured: set STORAGE_S3_ENDPOINT and the Storage S3 access keys",
      );
    }
    const started = await triggerRuns(context, caller, { kind: "storage", ...body });
    return json({ runId: started.runId, status: started.status }, 202);
  },
  async GET(request) {
    const context = app(STEPS);
    await authorize(request, callerSettings(), CALLERS);
    const runId = new URL(request.url).searchParams.get("runId");
    if (!runId) throw badRequest("Add ?runId=<id> to read a run");
    const run = await context.store.get(runId);
    if (!run || run.kind !== "storage") throw notFound(`No Storage snapshot run ${runId}`);
    return json(publicRun(run));
  },
});

if (import.meta.main) Deno.serve(handler);
