/**
 * HTTP error types and the one place that maps any error to a response.
 *
 * Clients see a status and a sentence a person understands; internal errors are logged
 * (redacted) and answered with a reference id, never with their message or stack.
 *
 * @module
 */
import { ZodError } from "zod";
import { ConfigError, redactUrl, UnknownTargetError } from "../config/mod.ts";
import { ContinueNotAllowedError, NoStepError, RunsBusyError } from "../app/trigger.ts";
import { corsHeaders } from "./cors.ts";

/** An error whose message is safe to show to the caller. */
export class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly extra?: Record<string, unknown>) {
    super(message);
    this.name = "HttpError";
  }
}

export const badRequest = (message: string) => new HttpError(400, message);
export const unauthorized = (message: string) => new HttpError(401, message);
export const forbidden = (message: string) => new HttpError(403, message);
export const notFound = (message: string) => new HttpError(404, message);
export const conflict = (message: string, extra?: Record<string, unknown>) =>
  new HttpError(409, message, extra);

/** A JSON response with CORS headers. */
export function json(body: unknown, status = 200, headers: HeadersInit = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...corsHeaders, ...headers },
  });
}

/** Describes zod issues as one sentence per field. */
export function describeZodError(error: ZodError): string {
  return error.issues.map((issue) => {
    const where = issue.path.length ? `"${issue.path.join(".")}"` : "body";
    return `${where}: ${issue.message}`;
  }).join("; ");
}

/** Maps any thrown value to a response; the only place statuses are decided for errors. */
export function errorResponse(error: unknown): Response {
  if (error instanceof HttpError) {
    const headers: HeadersInit = error.status === 405 ? { allow: "GET, POST, OPTIONS" } : {};
    return json({ error: error.message, ...error.extra }, error.status, headers);
  }
  // The engine's refusals, each with the status that says it.
  if (error instanceof UnknownTargetError) return json({ error: error.message }, 400);
  if (error instanceof ContinueNotAllowedError) return json({ error: error.message }, 403);
  if (error instanceof RunsBusyError) {
    return json({ error: error.message, runId: error.liveRunId, started: error.started }, 409);
  }
  if (error instanceof NoStepError) return json({ error: error.message }, 501);
  if (error instanceof ZodError) {
    return json({ error: `Invalid request: ${describeZodError(error)}` }, 400);
  }
  if (error instanceof ConfigError) {
    console.error(error.message);
    return json({ error: "Sauvegarde is not configured correctly: see the function logs" }, 500);
  }
  const reference = crypto.randomUUID().slice(0, 8);
  const message = error instanceof Error ? error.message : String(error);
  console.error(`Internal error ${reference}: ${redactUrl(message)}`);
  return json({ error: `Internal error (reference ${reference})` }, 500);
}
