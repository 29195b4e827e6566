/**
 * The local functions host: one HTTP server routing `/functions/v1/<name>` to each function's
 * exported handler, as Supabase's gateway does, honouring `verify_jwt` from
 * `supabase/config.toml` (a function with verify_jwt = true needs a valid JWT before its
 * handler runs). Given an Auth service (the local stack's stand-in), it answers `/auth/v1/…`
 * on the same origin, as Supabase's API gateway does.
 *
 * @module
 */
import { parse } from "smol-toml";
import { type Handler, json, verifyJwt } from "../shared/http/mod.ts";
import type { AuthSettings } from "../shared/http/auth.ts";

/** The project's Supabase CLI configuration. */
export const CONFIG_TOML = new URL("../supabase/config.toml", import.meta.url);

/** One function as declared in config.toml. */
export interface FunctionEntry {
  name: string;
  entrypoint: URL;
  verifyJwt: boolean;
}

/** Reads the `[functions.<name>]` tables of `supabase/config.toml`. */
export async function readFunctionEntries(configUrl: URL = CONFIG_TOML): Promise<FunctionEntry[]> {
  const text = await Deno.readTextFile(configUrl);
  const config = parse(text) as { functions?: Record<string, Record<string, unknown>> };
  return Object.entries(config.functions ?? {}).map(([name, entry]) => ({
    name,
    entrypoint: new URL(String(entry.entrypoint ?? `../functions/${name}/index.ts`), configUrl),
    verifyJwt: entry.verify_jwt !== false,
  }));
}

/** A running functions host. */
export interface FunctionsHost {
  /** Base URL, e.g. http://127.0.0.1:54321 — functions are at `${url}/functions/v1/<name>`. */
  readonly url: string;
  stop(): Promise<void>;
}

/** Builds the gateway handler over the declared functions. */
export async function createGateway(
  auth: AuthSettings,
  options: { configUrl?: URL; authService?: Handler; only?: readonly string[] } = {},
): Promise<Handler> {
  const entries = (await readFunctionEntries(options.configUrl))
    .filter((entry) => !options.only || options.only.includes(entry.name));
  const handlers = new Map<string, { entry: FunctionEntry; handler: Handler }>();
  for (const entry of entries) {
    const module = await import(entry.entrypoint.href) as { handler?: Handler };
    if (typeof module.handler !== "function") {
      throw new Error(`Function ${entry.name} does not export a handler`);
    }
    handlers.set(entry.name, { entry, handler: module.handler });
  }
  return async (request) => {
    const path = new URL(request.url).pathname;
    if (options.authService && path.startsWith("/auth/v1/")) {
      return await options.authService(request);
    }
    const match = /^\/functions\/v1\/([^/?]+)/.exec(path);
    const found = match && handlers.get(match[1]);
    if (!found) return json({ error: "No such function" }, 404);
    if (found.entry.verifyJwt && request.method !== "OPTIONS") {
      const token = /^Bearer\s+(\S+)$/i.exec(request.headers.get("authorization") ?? "")?.[1];
      try {
        if (!token) throw new Error("missing");
        await verifyJwt(token, auth);
      } catch {
        return json({ msg: "Invalid JWT" }, 401);
      }
    }
    try {
      return await found.handler(request);
    } catch (error) {
      // A handler must map its own errors; this is the gateway's last line, as on Supabase.
      console.error(`Function ${found.entry.name} crashed: ${error}`);
      return json({ error: "The function failed unexpectedly" }, 500);
    }
  };
}

/** Serves the gateway on a loopback port (0: a free one). */
export async function startFunctionsHost(
  options: {
    port?: number;
    hostname?: string;
    auth: AuthSettings;
    configUrl?: URL;
    authService?: Handler;
    /** Serve only these functions (default: every declared one). */
    only?: readonly string[];
  },
): Promise<FunctionsHost> {
  const gateway = await createGateway(options.auth, {
    configUrl: options.configUrl,
    authService: options.authService,
    only: options.only,
  });
  const server = Deno.serve({
    port: options.port ?? 0,
    hostname: options.hostname ?? "127.0.0.1",
    onListen: () => {},
  }, gateway);
  const { hostname, port } = server.addr;
  return {
    url: `http://${hostname}:${port}`,
    stop: () => server.shutdown(),
  };
}
