/**
 * `deno task serve [--port 54321]`: serves every function declared in supabase/config.toml at
 * /functions/v1/<name>, configured from the environment (see README).
 */
import { parseArgs } from "node:util";
import { config } from "../../shared/config/mod.ts";
import { authSettingsOf } from "../../shared/http/auth.ts";
import { startFunctionsHost } from "../../stack/functions_host.ts";
import { CliError } from "../cli_error.ts";

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { port: { type: "string", default: "54321" }, hostname: { type: "string" } },
    strict: true,
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new CliError(`--port must be a port number, not "${values.port}"`, 2);
  }
  const settings = config();
  const host = await startFunctionsHost({
    port,
    hostname: values.hostname,
    auth: authSettingsOf(settings),
  });
  console.log(`Functions served at ${host.url}/functions/v1/<name> (Ctrl-C stops)`);
  await new Promise(() => {});
  return 0;
}
