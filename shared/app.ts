/**
 * The process's wiring: configuration, the database connection that records runs, the run
 * store, the executor with one step per kind of run. Built once, lazily, from `config()`;
 * tests build their own with {@link createApp} and install it with {@link useApp}.
 *
 * @module
 */
import postgres from "postgres";
import { type Config, config } from "./config.ts";
import { type AuthSettings, authSettingsOf } from "./http/auth.ts";
import { type BudgetLimits, type ExecutorContext, PLAN_BUDGETS, type Step } from "./jobs/mod.ts";
import { notifyRunOutcome } from "./notify/mod.ts";
import { RunStore } from "./runs/mod.ts";
import type { RunKind } from "./runs/mod.ts";

/** Everything a function or command needs to act. */
export interface App {
  readonly config: Config;
  readonly sql: postgres.Sql;
  readonly store: RunStore;
  readonly executor: ExecutorContext;
  readonly auth: AuthSettings;
  /** The budget of one step in this process. */
  readonly limits: BudgetLimits;
  /** URL of one of our functions, for self-invocation; undefined when unknown. */
  functionUrl(name: string): string | undefined;
  close(): Promise<void>;
}

/** Step factories by kind; engines register theirs here (see shared/jobs/steps.ts). */
export type StepFactory = (app: App) => Step;

const stepFactories = new Map<RunKind, StepFactory>();
const liveApps = new Set<App>();

/**
 * Registers the step that runs one kind of run, for apps created later and those already
 * live (an app may be built before every engine module has been imported).
 */
export function registerStep(kind: RunKind, factory: StepFactory): void {
  stepFactories.set(kind, factory);
  for (const app of liveApps) app.executor.steps[kind] = factory(app);
}

/** Builds an app from a configuration. */
export function createApp(
  settings: Config,
  options: { limits?: BudgetLimits; staleAfterMs?: number; heartbeatMs?: number } = {},
): App {
  if (!settings.databaseUrl) {
    throw new Error("SUPABASE_DB_URL is not set: Sauvegarde records its runs in the database");
  }
  const sql = postgres(settings.databaseUrl, {
    max: 4,
    onnotice: () => {},
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
    auth: authSettingsOf(settings),
    limits: options.limits ?? settings.stepBudget ?? PLAN_BUDGETS.free,
    functionUrl: (name) =>
      settings.supabaseUrl
        ? `${settings.supabaseUrl.replace(/\/$/, "")}/functions/v1/${name}`
        : undefined,
    close: () => {
      liveApps.delete(app);
      return sql.end({ timeout: 5 });
    },
  };
  for (const [kind, factory] of stepFactories) steps[kind] = factory(app);
  liveApps.add(app);
  return app;
}

let current: App | undefined;

/** The process's app, built from the environment on first use. */
export function app(): App {
  current ??= createApp(config());
  return current;
}

/** Installs an app (tests); returns the previous one. */
export function useApp(next: App | undefined): App | undefined {
  const previous = current;
  current = next;
  return previous;
}
