/**
 * `deno task cli backup-code --to <target-url|name> [--repo <path>] [--json]`: the whole git
 * repository (default: the working directory) as a verified `git bundle`, stored in the
 * target's repository under manifest kind `code`.
 */
import { parseArgs } from "node:util";
import { config } from "../../shared/config/mod.ts";
import { backupCode } from "../../shared/backups/code_backup.ts";
import { resolveTarget } from "../../shared/targets/named_targets.ts";
import { openRepository } from "../../shared/repository/open.ts";
import { CliError } from "../cli_error.ts";

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      to: { type: "string" },
      repo: { type: "string" },
      json: { type: "boolean" },
    },
    strict: true,
  });
  if (!values.to) throw new CliError("Missing --to <target-url>", 2);
  const settings = config();
  const target = resolveTarget(settings, values.to);
  const opened = await openRepository(target.name, target.url, settings);
  try {
    const manifest = await backupCode(opened.repository, { repo: values.repo });
    if (values.json) {
      console.log(JSON.stringify({
        backupId: manifest.backupId,
        refs: manifest.refs.length,
        size: manifest.bundle.size,
      }));
    } else {
      console.log(
        `Code backup ${manifest.backupId}: ${manifest.repository}, ${manifest.refs.length} refs, ` +
          `bundle of ${manifest.bundle.size} bytes (verified)`,
      );
    }
    return 0;
  } finally {
    await opened.target.close();
  }
}
