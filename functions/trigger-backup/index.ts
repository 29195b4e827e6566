/**
 * `trigger-backup` Edge Function: starts database and/or Storage backups (pg_cron, dashboard
 * buttons, API callers), reports a run's state, and continues runs step by step.
 *
 * - `POST {"kind":"database"|"storage"|"all","scope"?,"targets"?,"buckets"?}` → 202 `{runId,status}`
 * - `POST {"continue": true | "<runId>"}` (cron, service) → 202: continues queued/stale runs
 * - `GET ?runId=<id>` → 200 the run
 *
 * @module
 */
import { app } from "../../shared/app.ts";
import {
  authorize,
  callerSettings,
  json,
  notFound,
  readJson,
  route,
} from "../../shared/http/mod.ts";
import { badRequest } from "../../shared/http/errors.ts";
import { inBackground } from "../../shared/jobs/background.ts";
import {
  checkMayContinue,
  continueRequestSchema,
  continueRun,
  publicRun,
  triggerRequestSchema,
  triggerRuns,
} from "../../shared/jobs/trigger.ts";
import "../../shared/jobs/steps.ts";

/** The function's handler, served by Supabase's runtime or the local functions host. */
export const handler = route({
  async POST(request) {
    const caller = await authorize(request, callerSettings(), ["cron", "admin", "service"]);
    const context = app();
    const body = await readJson(request);
    if (body && typeof body === "object" && "continue" in body) {
      checkMayContinue(caller);
      const { continue: which } = continueRequestSchema.parse(body);
      inBackground(continueRun(context, which === true ? undefined : which));
      return json({ status: "continuing" }, 202);
    }
    const started = await triggerRuns(context, caller, triggerRequestSchema.parse(body));
    return json(started, 202);
  },
  async GET(request) {
    await authorize(request, callerSettings(), ["cron", "admin", "service"]);
    const context = app();
    const runId = new URL(request.url).searchParams.get("runId");
    if (!runId) throw badRequest("Add ?runId=<id> to read a run");
    const run = await context.store.get(runId);
    if (!run) throw notFound(`No run ${runId}`);
    return json(publicRun(run));
  },
});

if (import.meta.main) Deno.serve(handler);
