/**
 * Recent runs, newest first, a page at a time, optionally of one kind and/or one status.
 * Pages are keyset-paged on `(created_at, id)`: the cursor is the last run's id, so a page
 * costs one index scan however deep it is (indexes in `20261208000000_dashboard_status.sql`).
 *
 * @module
 */
import type postgres from "postgres";
import type { RunKind, RunStatus } from "../runs/mod.ts";
import { type RunSummary, summaryColumns, toRunSummary } from "./run_summary.ts";

/** Which runs, and how many. */
export interface RunsQuery {
  kind?: RunKind;
  status?: RunStatus;
  /** Page size (default 20). */
  limit?: number;
  /** The id of the last run of the previous page. */
  cursor?: string;
}

/** One page of runs; `nextCursor` is null on the last page. */
export interface RunsPage {
  items: RunSummary[];
  nextCursor: string | null;
}

/** Default page size of {@link recentRuns}. */
export const DEFAULT_PAGE_SIZE = 20;

/** A page of recent runs. An unknown cursor gives an empty page. */
export async function recentRuns(sql: postgres.Sql, query: RunsQuery = {}): Promise<RunsPage> {
  const limit = query.limit ?? DEFAULT_PAGE_SIZE;
  const kind = query.kind ? sql`and kind = ${query.kind}` : sql``;
  const status = query.status ? sql`and status = ${query.status}` : sql``;
  const after = query.cursor
    ? sql`and (created_at, id) < (select created_at, id from public.backup_runs
                                  where id = ${query.cursor})`
    : sql``;
  const rows = await sql`
    select ${summaryColumns(sql)} from public.backup_runs
    where true ${kind} ${status} ${after}
    order by created_at desc, id desc
    limit ${limit + 1}`;
  const items = rows.slice(0, limit).map(toRunSummary);
  return { items, nextCursor: rows.length > limit ? items[items.length - 1].id : null };
}
