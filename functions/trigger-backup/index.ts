/**
 * `trigger-backup` Edge Function: not built yet. It answers 501 with a JSON error so callers (pg_cron,
 * the dashboard) see a clear reason rather than a crash.
 *
 * @module
 */
import { type Handler, json } from "../../shared/http/mod.ts";

/** Answers every request with 501 until this function is built. */
export const handler: Handler = () =>
  Promise.resolve(json({ error: "The trigger-backup function is not built yet" }, 501));

if (import.meta.main) Deno.serve(handler);
