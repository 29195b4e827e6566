/**
 * `notify` Edge Function: sends one notification to Slack and/or the alert webhook.
 *
 * - `POST {"severity":"info"|"success"|"warn"|"fail","title","details","runId"?}` → 200 with
 *   each channel's outcome; 502 when every channel failed; 503 when none is configured.
 *
 * Internal callers only (the cron secret or a service key): never a browser. Other
 * functions call `notify()` from `shared/notify/mod.ts` in-process instead.
 *
 * @module
 */
import { app } from "../../shared/app/mod.ts";
import { STEPS } from "../../shared/steps/mod.ts";
import { decodeJwt } from "jose";
import {
  authorize,
  callerSettings,
  forbidden,
  json,
  readJson,
  route,
} from "../../shared/http/mod.ts";
import { notify, notifyRequestSchema } from "../../shared/notify/mod.ts";

/**
 * Refuses user tokens before verifying them: whether valid or not, a user may not notify.
 * (A legacy service-role key is a JWT too, with role service_role: it goes on to be verified.)
 */
function refuseUsers(request: Request): void {
  if (request.headers.has("x-sauvegarde-secret")) return;
  const token = /^Bearer\s+(\S+)$/i.exec(request.headers.get("authorization") ?? "")?.[1];
  if (!token || token.startsWith("sb_")) return;
  let role: unknown;
  try {
    role = decodeJwt(token).role;
  } catch {
    return; // not a JWT: authorize() answers
  }
  if (role !== "service_role") {
    throw forbidden("Notify accepts internal callers only: the cron secret or a service key");
  }
}

/** The function's handler, served by Supabase's runtime or the local functions host. */
export const handler = route({
  async POST(request) {
    refuseUsers(request);
    await authorize(request, callerSettings(), ["cron", "service"]);
    const body = notifyRequestSchema.parse(await readJson(request));
    const context = app(STEPS);
    const result = await notify(body, { config: context.config, sql: context.sql });
    if (!result.configured) {
      return json({
        error: "No notification channel is configured: set SLACK_WEBHOOK_URL or ALERT_WEBHOOK_URL",
      }, 503);
    }
    return json(result, result.delivered ? 200 : 502);
  },
});

if (import.meta.main) Deno.serve(handler);
