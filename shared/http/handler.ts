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

/** Reads a JSON body, answering 400 for anything that is not a JSON object. */
export async function readJson(request: Request): Promise<unknown> {
  const text = await request.text();
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, "The request body is not valid JSON");
  }
}
