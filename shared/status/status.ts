/**
 * `backupStatus()`: everything the dashboard shows, in one answer — per kind and per target
 * the latest good and failed runs against the objective, restore tests and the last measured
 * RTO, the runs in progress, the open alerts, the schedules with their next runs, the last
 * verification's checks, and the first page of recent runs. Reads only; every query is an
 * index scan or bounded (see `bench/status_bench.ts`).
 *
 * @module
 */
import type postgres from "postgres";
import type { Config } from "../config/mod.ts";
import { firingAlerts } from "../alerts/mod.ts";
import type { RunStore } from "../runs/mod.ts";
import { objectiveFor } from "../verify/objectives.ts";
import { offsiteTargets } from "../verify/targets.ts";
import type { VerifyContext } from "../verify/types.ts";
import { VERIFY_DEFAULTS } from "../verify/verify.ts";
import {
  type KindStatus,
  kindStatus,
  liveRuns,
  type RestoreTestStatus,
  restoreTestStatus,
} from "./kind_status.ts";
import type { RunSummary } from "./run_summary.ts";
import { recentRuns, type RunsPage, type RunsQuery } from "./runs_page.ts";
import { type SchedulesStatus, schedulesStatus } from "./schedules.ts";
import { lastVerification, type VerificationStatus } from "./verification.ts";

/** What the status needs from the process. */
export interface StatusDeps {
  sql: postgres.Sql;
  store: RunStore;
  config: Config;
}

/** An open alert, as the dashboard lists it. */
export interface OpenAlert {
  key: string;
  severity: "warn" | "fail";
  title: string;
  summary: string;
  nextStep: string | null;
  openedAt: Date;
  lastSeenAt: Date;
}

/** The status document (`GET trigger-backup`). */
export interface BackupStatus {
  generatedAt: Date;
  targets: Array<{ name: string; offsite: boolean }>;
  kinds: KindStatus[];
  restoreTest: RestoreTestStatus;
  live: RunSummary[];
  alerts: OpenAlert[];
  schedules: SchedulesStatus;
  verification: VerificationStatus | null;
  runs: RunsPage;
}

/** The shared facts verification's modules compute, for the objective and the schedules. */
function factsContext(deps: StatusDeps, now: Date): VerifyContext {
  const memo = new Map<string, Promise<unknown>>();
  return {
    sql: deps.sql,
    store: deps.store,
    config: deps.config,
    targets: [],
    now,
    options: { ...VERIFY_DEFAULTS, sample: deps.config.verifySample },
    once<T>(key: string, compute: () => Promise<T>): Promise<T> {
      if (!memo.has(key)) memo.set(key, compute());
      return memo.get(key) as Promise<T>;
    },
  };
}

/** Builds the status document; `runs` filters and pages its list of recent runs. */
export async function backupStatus(
  deps: StatusDeps,
  options: { runs?: RunsQuery; now?: Date } = {},
): Promise<BackupStatus> {
  const now = options.now ?? new Date();
  const context = factsContext(deps, now);
  const names = Object.keys(deps.config.targets);
  const offsite = offsiteTargets(deps.config);
  const [live, alertRows, schedules, runs, objectives] = await Promise.all([
    liveRuns(deps.sql),
    firingAlerts(deps.sql),
    schedulesStatus(context),
    recentRuns(deps.sql, options.runs),
    Promise.all([objectiveFor(context, "database"), objectiveFor(context, "storage")]),
  ]);
  const [kinds, restoreTest, verification] = await Promise.all([
    Promise.all(
      (["database", "storage"] as const).map((kind, i) =>
        kindStatus(deps.sql, { kind, objective: objectives[i], targets: names, offsite, live, now })
      ),
    ),
    restoreTestStatus(deps.sql, { maxAgeMs: deps.config.restoreTestMaxAgeMs, live, now }),
    lastVerification(deps.sql, alertRows),
  ]);
  return {
    generatedAt: now,
    targets: names.map((name) => ({ name, offsite: offsite[name] ?? false })),
    kinds,
    restoreTest,
    live,
    alerts: alertRows.map((alert) => ({
      key: alert.key,
      severity: alert.severity,
      title: alert.title,
      summary: alert.summary,
      nextStep: alert.nextStep,
      openedAt: alert.openedAt,
      lastSeenAt: alert.lastSeenAt,
    })),
    schedules,
    verification,
    runs,
  };
}
