/**
 * The dashboard's calls to Sauvegarde's functions, through supabase-js `functions.invoke` with
 * the signed-in user's session, and what their failures mean to a person: signed out (401),
 * not a backup admin (403), already running (409, with the live run), the functions
 * unreachable (no answer), or failed.
 *
 * @module
 */
import type { SupabaseClient } from "@supabase/supabase-js";
import type {
  BackupStatus,
  RunDetail,
  RunKind,
  RunsPage,
  RunStatus,
  VerifyReport,
} from "./types.ts";

/** What the dashboard needs of the app's Supabase client. */
export type DashboardClient = Pick<SupabaseClient, "functions" | "auth">;

/** Why a call failed, as the dashboard shows it. */
export type ApiErrorKind = "signed_out" | "forbidden" | "conflict" | "unreachable" | "failed";

/** A failed call. `runId` is the live run of a 409. */
export class ApiError extends Error {
  constructor(
    readonly kind: ApiErrorKind,
    message: string,
    readonly status?: number,
    readonly runId?: string,
    readonly body?: unknown,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

const KIND_OF_STATUS: Record<number, ApiErrorKind> = {
  401: "signed_out",
  403: "forbidden",
  409: "conflict",
};

/** Which runs the table lists. */
export interface RunsFilter {
  kind?: RunKind;
  status?: RunStatus;
  cursor?: string;
  limit?: number;
}

/** What `POST trigger-backup` answers. */
export interface Started {
  runId: string;
  status: string;
  runs?: Array<{ kind: RunKind; runId: string }>;
  waitsForWorker?: boolean;
}

function query(filter: RunsFilter, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams(extra);
  for (const [key, value] of Object.entries(filter)) {
    if (value !== undefined && value !== "") params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

async function invoke<T>(
  client: DashboardClient,
  name: string,
  options: { method: "GET" | "POST"; body?: Record<string, unknown> },
): Promise<T> {
  let result;
  try {
    result = await client.functions.invoke(name, options);
  } catch (error) {
    throw new ApiError("unreachable", String(error));
  }
  const { data, error } = result;
  if (!error) return data as T;
  const errorName = (error as { name?: string }).name;
  if (errorName === "FunctionsFetchError" || errorName === "FunctionsRelayError") {
    throw new ApiError("unreachable", String((error as Error).message));
  }
  const response = (error as { context?: unknown }).context;
  if (response instanceof Response) {
    const body = await response.json().catch(() => null) as
      | { error?: string; runId?: string }
      | null;
    throw new ApiError(
      KIND_OF_STATUS[response.status] ?? "failed",
      body?.error ?? `The function answered HTTP ${response.status}`,
      response.status,
      body?.runId,
      body,
    );
  }
  throw new ApiError("failed", String((error as Error).message ?? error));
}

/** The dashboard's view of the functions. */
export class DashboardApi {
  constructor(private readonly client: DashboardClient) {}

  /** Everything the page shows; `filter` picks the runs listed. */
  status(filter: RunsFilter = {}): Promise<BackupStatus> {
    return invoke(this.client, `trigger-backup${query(filter)}`, { method: "GET" });
  }

  /** One more page of runs. */
  runs(filter: RunsFilter): Promise<RunsPage> {
    return invoke(this.client, `trigger-backup${query(filter, { view: "runs" })}`, {
      method: "GET",
    });
  }

  /** One run, for following it to its end. */
  run(runId: string): Promise<RunDetail> {
    return invoke(this.client, `trigger-backup${query({}, { runId })}`, { method: "GET" });
  }

  /** Starts a backup (database, Storage or both) or a restore test. */
  trigger(kind: "database" | "storage" | "all" | "restore_test"): Promise<Started> {
    return invoke(this.client, "trigger-backup", { method: "POST", body: { kind } });
  }

  /** Verifies now; a failing verification is a report too (HTTP 500 with its checks). */
  async verify(): Promise<VerifyReport> {
    try {
      return await invoke<VerifyReport>(this.client, "verify-backups", {
        method: "POST",
        body: {},
      });
    } catch (error) {
      const body = error instanceof ApiError ? error.body as VerifyReport | null : null;
      if (error instanceof ApiError && error.status === 500 && Array.isArray(body?.checks)) {
        return body;
      }
      throw error;
    }
  }
}
