/**
 * `deno task dashboard [--port N]`: the dashboard on a throwaway local stack. Starts the stack
 * as the demo does (PostgreSQL with pg_cron, S3 servers, the functions, a stand-in for Supabase
 * Auth), seeds the sample shop, signs in a local backup admin, builds and serves the page, and
 * prints one line, `Dashboard: http://127.0.0.1:<port>/`, for people and scripts. Ctrl-C stops
 * and removes everything. Restore tests started from the page run in this process, as the
 * worker would run them.
 */
import { parseArgs } from "node:util";
import { startDashboardStack } from "../../stack/dashboard_stack.ts";
import { CliError } from "../cli_error.ts";

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { port: { type: "string", default: "0" } },
    strict: true,
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new CliError(`--port must be a port number, not "${values.port}"`, 2);
  }
  const dashboard = await startDashboardStack();
  try {
    const server = await dashboard.serve({ port });
    console.log(`Dashboard: ${server.url}`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        Deno.removeSignalListener("SIGINT", stop);
        Deno.removeSignalListener("SIGTERM", stop);
        resolve();
      };
      Deno.addSignalListener("SIGINT", stop);
      Deno.addSignalListener("SIGTERM", stop);
    });
  } finally {
    await dashboard.stop();
  }
  return 0;
}
