/**
 * `deno task cli backup-config --to <target-url|name> [--file .env]… [--json]`: an encrypted
 * copy of env files (default `.env`), stored in the target's repository under manifest kind
 * `config`. Refused without SAUVEGARDE_ENCRYPTION_KEYS.
 */
import { parseArgs } from "node:util";
import { config } from "../../shared/config/mod.ts";
import { backupConfigFiles } from "../../shared/backups/config_backup.ts";
import { resolveTarget } from "../../shared/targets/named_targets.ts";
import { openRepository } from "../../shared/repository/open.ts";
import { CliError } from "../cli_error.ts";

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      to: { type: "string" },
      file: { type: "string", multiple: true },
      json: { type: "boolean" },
    },
    strict: true,
  });
  if (!values.to) throw new CliError("Missing --to <target-url>", 2);
  const settings = config();
  if (!settings.encryptionKeys) {
    throw new CliError(
      "Configuration backups must be encrypted: set SAUVEGARDE_ENCRYPTION_KEYS",
      2,
    );
  }
  const files = values.file?.length ? values.file : [".env"];
  const target = resolveTarget(settings, values.to);
  const opened = await openRepository(target.name, target.url, settings);
  try {
    const manifest = await backupConfigFiles(opened.repository, {
      files,
      keyId: opened.keyring?.active.id,
    }).catch((error) => {
      if (error instanceof Deno.errors.NotFound) {
        throw new CliError(`A file to back up does not exist (${files.join(", ")})`);
      }
      throw error;
    });
    if (values.json) {
      console.log(JSON.stringify({
        backupId: manifest.backupId,
        files: manifest.files.map((file) => ({ name: file.name, size: file.size })),
      }));
    } else {
      console.log(
        `Configuration backup ${manifest.backupId}: ${
          manifest.files.map((file) => `${file.name} (${file.size} bytes)`).join(", ")
        }, encrypted with key ${manifest.encryptionKeyId}`,
      );
    }
    return 0;
  } finally {
    await opened.target.close();
  }
}
