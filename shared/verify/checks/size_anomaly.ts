/**
 * Size anomaly per kind: the latest good backup far smaller or larger than the median of the
 * ones before it (a table emptied by mistake, a scope that lost a schema, a runaway log
 * table). A warning: sizes do change for good reasons. Database sizes compare full backups
 * only (a schema-only backup is small by design).
 *
 * @module
 */
import { formatBytes } from "../../notify/run_outcome.ts";
import { fullRunsOf } from "../facts.ts";
import type { BackupKind, Check, CheckResult, VerifyContext } from "../types.ts";

const NOUN: Record<BackupKind, string> = {
  database: "database backup",
  storage: "Storage snapshot",
};

/** The median of numbers (undefined for none). */
export function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function kindSize(context: VerifyContext, kind: BackupKind): Promise<CheckResult> {
  const base = {
    id: `runs.size.${kind}`,
    name: `${kind === "database" ? "Database" : "Storage"} backup size`,
  };
  const rows = await context.sql`
    select id, bytes from public.backup_runs
    where kind = ${kind} and status = 'succeeded' ${fullRunsOf(context, kind)}
    order by finished_at desc limit ${context.options.sizeHistory + 1}`;
  if (rows.length < 4) {
    return {
      ...base,
      status: "ok",
      summary: `Too few ${NOUN[kind]}s (${rows.length}) to compare sizes yet`,
    };
  }
  const latest = Number(rows[0].bytes);
  const typical = median(rows.slice(1).map((row) => Number(row.bytes)))!;
  const factor = context.options.sizeFactor;
  const details = {
    runId: rows[0].id,
    bytes: latest,
    medianBytes: typical,
    compared: rows.length - 1,
  };
  const ratio = typical === 0 ? (latest === 0 ? 1 : Infinity) : latest / typical;
  if (ratio < 1 / factor || ratio > factor) {
    const direction = ratio < 1 ? "smaller" : "larger";
    const times = ratio < 1
      ? (ratio === 0 ? "far" : `${(1 / ratio).toFixed(1)}×`)
      : ratio === Infinity
      ? "far"
      : `${ratio.toFixed(1)}×`;
    return {
      ...base,
      status: "warn",
      summary: `The latest ${NOUN[kind]} (${formatBytes(latest)}, run ${
        rows[0].id
      }) is ${times} ${direction} than the median of the ${rows.length - 1} before it (${
        formatBytes(typical)
      })`,
      nextStep: direction === "smaller"
        ? "Check that no table or bucket was emptied or left out of the backup scope by mistake"
        : "Check for a table or bucket growing unexpectedly (logs, uploads) before it fills the targets",
      details,
    };
  }
  return {
    ...base,
    status: "ok",
    summary: `The latest ${NOUN[kind]} (${formatBytes(latest)}) is in line with the median of the ${
      rows.length - 1
    } before it (${formatBytes(typical)})`,
    details,
  };
}

/** `runs.size.database` and `runs.size.storage`. */
export const sizeAnomalyCheck: Check = {
  id: "runs.size",
  run: (context) => Promise.all([kindSize(context, "database"), kindSize(context, "storage")]),
};
