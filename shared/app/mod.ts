/**
 * The process's wiring: configuration, the database connection that records runs, the run
 * store, the executor with one step per kind of run. Built once, lazily, from `config()`;
 * tests build their own with {@link createApp} and install it with {@link useApp}.
 *
 * @module
 */
import { type Config, config } from "../config/mod.ts";
import { clientSql } from "../pg/connect.ts";
import {
  type BudgetLimits,
  PLAN_BUDGETS,
  type Step,
  type StepContext,
  type StepFactory,
} from "../jobs/mod.ts";
import { notifyRunOutcome } from "../notify/mod.ts";
import { RunStore } from "../runs/mod.ts";
import type { RunKind } from "../runs/mod.ts";

/** Everything a function or command needs to act: what steps get, and closing it. */
export interface App extends StepContext {
  close(): Promise<void>;
}

/** Options for {@link createApp}. */
export interface AppOptions {
  /** The steps this process runs, by kind (`shared/steps/mod.ts`); null or absent: not here. */
  steps: Partial<Record<RunKind, StepFactory | null>>;
  limits?: BudgetLimits;
  staleAfterMs?: number;
  heartbeatMs?: number;
}

/** Builds an app from a configuration and the steps this process runs. */
export function createApp(settings: Config, options: AppOptions): App {
  if (!settings.databaseUrl) {
    throw new Error("SUPABASE_DB_URL is not set: Sauvegarde records its runs in the database");
  }
  // Honours a transaction-mode pooler (no prepared statements), as the engine's pools do.
  const sql = clientSql(settings.databaseUrl, {
    max: 4,
    connection: { application_name: "sauvegarde" },
  });
  const store = new RunStore(sql);
  const steps: Partial<Record<RunKind, Step>> = {};
  const app: App = {
    config: settings,
    sql,
    store,
    executor: {
      store,
      steps,
      staleAfterMs: options.staleAfterMs,
      heartbeatMs: options.heartbeatMs,
      // Failures always notify; successes when configured (as the runbook's DR announces).
      onFailure: (run) => notifyRunOutcome(run, { sql, config: settings }),
      onSuccess: (run) =>
        notifyRunOutcome(run, { sql, config: settings, notifyOnSuccess: settings.notifyOnSuccess }),
    },
    limits: options.limits ?? settings.stepBudget ?? PLAN_BUDGETS.free,
    functionUrl: (name) =>
      settings.supabaseUrl
        ? `${settings.supabaseUrl.replace(/\/$/, "")}/functions/v1/${name}`
        : undefined,
    close: () => sql.end({ timeout: 5 }),
  };
  for (const [kind, factory] of Object.entries(options.steps)) {
    if (factory) steps[kind as RunKind] = factory(app);
  }
  return app;
}

let current: App | undefined;

/**
 * The process's app, built from the environment and `steps` on first use (an installed app,
 * see {@link useApp}, is returned as it is).
 */
export function app(steps: AppOptions["steps"]): App {
  current ??= createApp(config(), { steps });
  return current;
}

/** Installs an app (tests); returns the previous one. */
export function useApp(next: App | undefined): App | undefined {
  const previous = current;
  current = next;
  return previous;
}
