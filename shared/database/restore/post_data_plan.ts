/**
 * How a restore's post-data runs, planned before any row loads: index and constraint builds
 * grouped by table (they overlap with other tables' loads), the rest in order, and — for a
 * full restore of a backup read in one snapshot, loading with triggers off — the foreign keys
 * moved before the loads, onto the empty tables (see `planEarlyForeignKeys` in `ddl.ts`).
 *
 * @module
 */
import type postgres from "postgres";
import type { ManifestStatement } from "../manifest.ts";
import {
  type BuildGroup,
  type EarlyForeignKeys,
  planEarlyForeignKeys,
  splitPostData,
} from "./ddl.ts";
import { type RestoreSession, triggersOff } from "./sessions.ts";
import type { RestoreResult } from "./types.ts";

/** Post-data split for the restore, and how its foreign keys come back. */
export interface PostDataPlan {
  builds: BuildGroup[];
  rest: ManifestStatement[];
  /** The destination's plain tables (see {@link plainTables}). */
  plain: ReadonlySet<string>;
  foreignKeys: RestoreResult["foreignKeys"];
}

/** Splits post-data into builds and the rest; foreign keys, if any, are checked after loads. */
export async function planPostData(
  connection: postgres.ReservedSql,
  post: readonly ManifestStatement[],
): Promise<PostDataPlan> {
  const { builds, rest } = splitPostData(post);
  const hasForeignKeys = rest.some((statement) => statement.kind === "FK CONSTRAINT");
  // Plain tables: their builds overlap, and foreign keys between them may come early.
  const plain = builds.length || hasForeignKeys ? await plainTables(connection) : new Set<string>();
  return { builds, rest, plain, foreignKeys: hasForeignKeys ? "checked" : "none" };
}

/**
 * The foreign keys to add to the empty tables first, when every connection loads with
 * triggers off and the keys allow it; undefined otherwise. Only for a full restore of a
 * backup read in one snapshot (the caller's to check): its rows held the keys.
 */
export function earlyForeignKeys(
  sessions: readonly RestoreSession[],
  plan: PostDataPlan,
): EarlyForeignKeys | undefined {
  if (!triggersOff(sessions)) return undefined;
  return planEarlyForeignKeys({ builds: plan.builds, rest: plan.rest }, plan.plain);
}

/** Plain (not partitioned, not partition) tables of the destination, as `schema.name`. */
async function plainTables(connection: postgres.ReservedSql): Promise<Set<string>> {
  const rows = await connection<{ label: string }[]>`
    select n.nspname || '.' || c.relname as label
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind = 'r' and not c.relispartition`;
  return new Set(rows.map((row) => row.label));
}
