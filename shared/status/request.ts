/**
 * The status API's query string (`GET trigger-backup?…`), validated: which runs to list and
 * which page. Unknown parameters are refused, so a typo does not silently list everything.
 *
 * @module
 */
import { z } from "zod";
import type { RunsQuery } from "./runs_page.ts";

/** Every kind of run `backup_runs` holds. */
export const RUN_KINDS = [
  "database",
  "storage",
  "verify",
  "restore_test",
  "prune",
  "replicate",
  "config_backup",
  "code_backup",
] as const;

/** Every status of a run. */
export const RUN_STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"] as const;

/** The largest page of runs one request may ask for. */
export const MAX_PAGE_SIZE = 100;

/** `?view=runs` lists runs only; without it the whole status is answered. */
export const statusQuerySchema = z.strictObject({
  view: z.enum(["status", "runs"]).optional(),
  kind: z.enum(RUN_KINDS).optional(),
  status: z.enum(RUN_STATUSES).optional(),
  limit: z.string().regex(/^\d+$/, "must be a whole number").transform(Number)
    .pipe(z.number().int().min(1).max(MAX_PAGE_SIZE)).optional(),
  cursor: z.uuid("must be the id of the last run of the previous page").optional(),
});

/** A parsed status query. */
export interface StatusQuery {
  view: "status" | "runs";
  runs: RunsQuery;
}

/** Parses the query parameters of a status request (zod errors become 400s). */
export function parseStatusQuery(params: URLSearchParams): StatusQuery {
  const parsed = statusQuerySchema.parse(Object.fromEntries(params));
  return {
    view: parsed.view ?? "status",
    runs: { kind: parsed.kind, status: parsed.status, limit: parsed.limit, cursor: parsed.cursor },
  };
}
