/**
 * `deno task cli export-sql --from <target-url> --backup <id|latest|latest:CLASS> [--out <file>]
 * [--allow-unauthenticated]`: writes a backup as one plain SQL script (schema, `COPY … FROM
 * stdin` rows, post-data) that `psql -f` restores into an empty database — the path that needs
 * no Sauvegarde to restore. A backup whose manifest is not authenticated is refused unless
 * `--allow-unauthenticated`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { config } from "../../shared/config/mod.ts";
import { exportSql } from "../../shared/database/export_sql.ts";
import { openRepository } from "../../shared/repository/open.ts";
import { CliError } from "../cli_error.ts";

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      from: { type: "string" },
      backup: { type: "string", default: "latest" },
      out: { type: "string" },
      "allow-unauthenticated": { type: "boolean" },
    },
    strict: true,
  });
  if (!values.from) throw new CliError("Missing --from <target-url>", 2);
  const settings = config();
  const opened = await openRepository(
    "export",
    settings.targets[values.from] ?? values.from,
    settings,
  );
  const file = values.out
    ? await Deno.open(values.out, { write: true, create: true, truncate: true, mode: 0o600 })
    : undefined;
  try {
    const id = await exportSql(opened.repository, {
      backupId: values.backup!,
      out: file ? file.writable : Deno.stdout.writable,
      allowUnauthenticated: values["allow-unauthenticated"],
    });
    if (values.out) console.error(`Wrote backup ${id} to ${values.out}: restore with psql -f`);
    return 0;
  } catch (error) {
    if (values.out) await Deno.remove(values.out).catch(() => {});
    throw error;
  } finally {
    await opened.target.close();
  }
}
