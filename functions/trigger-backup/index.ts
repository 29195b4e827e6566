/**
 * `trigger-backup` Edge Function: starts database and/or Storage backups (pg_cron, dashboard
 * buttons, API callers), reports a run's state, and continues runs step by step.
 *
 * - `POST {"kind":"database"|"storage"|"all","scope"?,"targets"?,"buckets"?}` → 202 `{runId,status}`
 * - `POST {"kind":"restore_test","targets"?}` → 202: a restore test, run here step by step
 *   within each invocation's budget (409 while another one is live)
 * - `POST {"continue": true | "<runId>"}` (cron, service) → 202: continues queued/stale runs
 * - `GET ?runId=<id>` → 200 the run
 * - `GET` → 200 the status the dashboard shows (`shared/status/`); `?kind=&status=&limit=&cursor=`
 *   filter and page its recent runs; `?view=runs` answers only that page
 *
 * @module
 */
import { app } from "../../shared/app/mod.ts";
import { STEPS } from "../../shared/steps/mod.ts";
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
} from "../../shared/app/trigger.ts";
import { backupStatus, parseStatusQuery, recentRuns } from "../../shared/status/mod.ts";

/** The function's handler, served by Supabase's runtime or the local functions host. */
export const handler = route({
  async POST(request) {
    const caller = await authorize(request, callerSettings(), ["cron", "admin", "service"]);
    const context = app(STEPS);
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
    const context = app(STEPS);
    const params = new URL(request.url).searchParams;
    const runId = params.get("runId");
    if (runId === null) {
      const query = parseStatusQuery(params);
      return json(
        query.view === "runs"
          ? await recentRuns(context.sql, query.runs)
          : await backupStatus(context, { runs: query.runs }),
      );
    }
    if (!runId) throw badRequest("Add ?runId=<id> to read a run");
    const run = await context.store.get(runId);
    if (!run) throw notFound(`No run ${runId}`);
    return json(publicRun(run));
  },
});

if (import.meta.main) Deno.serve(handler);
