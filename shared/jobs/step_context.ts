/**
 * What a step factory is given, and the table of steps a process runs: which step serves a
 * kind of run is a value handed to the composition root (`createApp(config, { steps })`),
 * never a side effect of importing a module. A kind missing from a process's table is
 * refused when triggered there (the Edge leaves out what does not fit its limits).
 *
 * @module
 */
import type postgres from "postgres";
import type { Config } from "../config/mod.ts";
import type { RunKind, RunStore } from "../runs/mod.ts";
import type { BudgetLimits } from "./budget.ts";
import type { ExecutorContext, Step } from "./executor.ts";

/** The process's parts a step uses: configuration, the runs' database and store, budgets. */
export interface StepContext {
  readonly config: Config;
  readonly sql: postgres.Sql;
  readonly store: RunStore;
  readonly executor: ExecutorContext;
  /** The budget of one step in this process. */
  readonly limits: BudgetLimits;
  /** URL of one of our functions, for self-invocation; undefined when unknown. */
  functionUrl(name: string): string | undefined;
}

/** Builds the step of one kind of run for a process. */
export type StepFactory = (context: StepContext) => Step;

/** The steps a process runs, by kind; a kind left out is not run there. */
export type StepTable = Partial<Record<RunKind, StepFactory>>;
