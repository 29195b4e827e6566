/**
 * Serves a built dashboard (`build.ts`) and its `config.json` on loopback, as a static host
 * would: the page, its script, and where the project is. A strict Content-Security-Policy lets
 * the page load its own script and talk to the project only, so nothing comes from a CDN.
 *
 * @module
 */

/** What the page reads from `config.json`. */
export interface DashboardPageConfig {
  supabaseUrl: string;
  publishableKey: string;
  /** A session to start with (the local stack's signed-in admin). */
  session?: { access_token: string; refresh_token: string };
}

/** A running dashboard server. */
export interface DashboardServer {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string;
  stop(): Promise<void>;
}

const TYPES: Record<string, string> = {
  "index.html": "text/html; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
};

/** Serves `dir` (holding `index.html` and `app.js`) with `config`. */
export async function serveDashboard(options: {
  dir: string;
  config: DashboardPageConfig;
  port?: number;
  hostname?: string;
}): Promise<DashboardServer> {
  const files = new Map<string, Uint8Array<ArrayBuffer>>();
  for (const name of Object.keys(TYPES)) {
    files.set(name, await Deno.readFile(`${options.dir}/${name}`));
  }
  const project = new URL(options.config.supabaseUrl).origin;
  const headers = {
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "content-security-policy": [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self' 'unsafe-inline'",
      `connect-src 'self' ${project}`,
      "img-src 'self' data:",
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join("; "),
  };
  const config = JSON.stringify(options.config);
  const server = Deno.serve({
    port: options.port ?? 0,
    hostname: options.hostname ?? "127.0.0.1",
    onListen: () => {},
  }, (request) => {
    const path = new URL(request.url).pathname;
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("Method not allowed", { status: 405, headers });
    }
    if (path === "/config.json") {
      return new Response(config, {
        headers: { ...headers, "content-type": "application/json" },
      });
    }
    const name = path === "/" ? "index.html" : path.slice(1);
    const body = files.get(name);
    if (!body) return new Response("Not found", { status: 404, headers });
    return new Response(body, { headers: { ...headers, "content-type": TYPES[name] } });
  });
  const { hostname, port } = server.addr;
  return { url: `http://${hostname}:${port}/`, stop: () => server.shutdown() };
}
