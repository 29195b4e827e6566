/**
 * Builds a function handler `(Request) => Promise<Response>` from its routes, so every function
 * answers CORS preflights, 405 for other methods and errors the same way.
 *
 * @module
 */
import { errorResponse, HttpError } from "./errors.ts";
import { preflight } from "./cors.ts";

/** A function's HTTP entry point, as Supabase's runtime and our functions host call it. */
export type Handler = (request: Request) => Promise<Response>;

/** Route table of one function: method → handler. */
export type Routes = Partial<Record<"GET" | "POST", Handler>>;

/** Wraps routes into a handler with CORS, method checks and error mapping. */
export function route(routes: Routes): Handler {
  return async (request) => {
    const early = preflight(request);
    if (early) return early;
    const handle = routes[request.method as keyof Routes];
    if (!handle) {
      const allowed = Object.keys(routes).join(", ");
      return errorResponse(
        new HttpError(405, `Method ${request.method} is not allowed here: use ${allowed}`),
      );
    }
    try {
      return await handle(request);
    } catch (error) {
      return errorResponse(error);
    }
  };
}

/** The largest request body a function reads: every one they accept is a small JSON object. */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * Reads a request body as text, at most `limit` bytes: a larger one is answered 413 without
 * being read further. The declared Content-Length is only trusted to refuse early; the bytes
 * are counted as they arrive, so a body without one, or larger than it said, stops at the cap.
 */
export async function readBody(request: Request, limit = MAX_BODY_BYTES): Promise<string> {
  const declared = request.headers.get("content-length");
  if (declared !== null && /^\d+$/.test(declared.trim()) && Number(declared) > limit) {
    await request.body?.cancel().catch(() => {});
    throw tooLarge(limit);
  }
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new HttpError(400, "The request body is not valid UTF-8 text");
  }
}

function tooLarge(limit: number): HttpError {
  return new HttpError(
    413,
    `The request body is larger than ${limit / 1024} KiB: send a small JSON object`,
  );
}

/**
 * Reads a JSON body (at most {@link MAX_BODY_BYTES}: 413 beyond), answering 400 for anything
 * that is not JSON.
 */
export async function readJson(request: Request): Promise<unknown> {
  const text = await readBody(request);
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, "The request body is not valid JSON");
  }
}
