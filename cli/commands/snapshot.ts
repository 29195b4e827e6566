/**
 * `deno task cli snapshot --to <target-url|name> [--bucket B]… [--concurrency N] [--json]`:
 * an incremental snapshot of the Storage buckets (all, or those named) into one target.
 *
 * The source is the Storage S3 endpoint from STORAGE_S3_ENDPOINT, STORAGE_S3_REGION,
 * STORAGE_S3_ACCESS_KEY_ID and STORAGE_S3_SECRET_ACCESS_KEY; bucket settings and the
 * `storage.objects` comparison use SUPABASE_DB_URL when it is set. With `--json` the last
 * stdout line is `{"snapshotId","objects","bytes","copied","skipped","seconds"}`.
 */
import { parseArgs } from "node:util";
import { clientSql } from "../../shared/pg/connect.ts";
import { config } from "../../shared/config/mod.ts";
import { openSnapshotContext } from "../../shared/storage/open.ts";
import { snapshotStorage } from "../../shared/storage/snapshot/mod.ts";
import { CliError } from "../cli_error.ts";
import { asRecordedRun } from "../run_record.ts";

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      to: { type: "string" },
      bucket: { type: "string", multiple: true },
      concurrency: { type: "string" },
      json: { type: "boolean" },
    },
    strict: true,
  });
  if (!values.to) throw new CliError("Missing --to <target-url>", 2);
  const concurrency = values.concurrency ? Number(values.concurrency) : undefined;
  if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency > 0)) {
    throw new CliError("--concurrency must be a positive integer", 2);
  }
  const settings = config();
  const url = settings.targets[values.to] ?? values.to;
  const sql = settings.databaseUrl ? clientSql(settings.databaseUrl, { max: 2 }) : undefined;
  const started = performance.now();
  let opened;
  try {
    opened = await openSnapshotContext(settings, { targets: { cli: url }, sql, concurrency });
  } catch (error) {
    await sql?.end({ timeout: 5 });
    throw new CliError(error instanceof Error ? error.message : String(error));
  }
  try {
    const { result: [summary] } = await asRecordedRun(
      {
        kind: "storage",
        targets: [values.to],
        details: { buckets: values.bucket ?? null },
      },
      () => snapshotStorage(opened.context, { buckets: values.bucket }),
      ([made]) => ({ backupId: made.snapshotId, bytes: made.bytes, items: made.objects }),
    );
    const seconds = Math.round((performance.now() - started) / 10) / 100;
    if (values.json) {
      console.log(JSON.stringify({
        snapshotId: summary.snapshotId,
        objects: summary.objects,
        bytes: summary.bytes,
        copied: summary.copied,
        skipped: summary.skipped,
        seconds,
      }));
    } else {
      console.log(
        `Snapshot ${summary.snapshotId}: ${summary.objects} objects, ${summary.bytes} bytes ` +
          `(${summary.copied} read, ${summary.skipped} unchanged, ${summary.vanished} vanished) ` +
          `in ${seconds} s`,
      );
      if (summary.missingFromBucket || summary.missingFromDatabase) {
        console.log(
          `Warning: ${summary.missingFromBucket} storage.objects rows have no object, ` +
            `${summary.missingFromDatabase} objects have no storage.objects row`,
        );
      }
    }
    return 0;
  } finally {
    await opened.close();
    await sql?.end({ timeout: 5 });
  }
}
