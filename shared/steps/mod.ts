/**
 * The step of every kind of run, as values: a process hands the table it runs to the
 * composition root (`createApp(config, { steps })`), like `verify/checks/mod.ts` lists the
 * checks. Kinds run outside the executor (verification answers in its request; configuration
 * and code backups are CLI commands) are listed as `null`, so a new kind cannot be forgotten.
 *
 * @module
 */
import type { StepFactory } from "../jobs/mod.ts";
import type { RunKind } from "../runs/mod.ts";
import { createDatabaseStep } from "./database.ts";
import { createPruneStep } from "./prune.ts";
import { createReplicateStep } from "./replicate.ts";
import { createRestoreTestStep } from "./restore_test.ts";
import { createStorageStep } from "./storage.ts";

/**
 * Every step: what the worker, the CLI, the local stack and the Edge Functions run (under a
 * budget, each step stops in time; a restore test goes unit by unit, `restore_test/stepwise.ts`).
 */
export const STEPS = {
  database: createDatabaseStep,
  storage: createStorageStep,
  prune: createPruneStep,
  replicate: createReplicateStep,
  restore_test: (context) => createRestoreTestStep(context),
  verify: null,
  config_backup: null,
  code_backup: null,
} as const satisfies Record<RunKind, StepFactory | null>;

export { createDatabaseStep, createPruneStep, createReplicateStep, createRestoreTestStep };
export { createStorageStep };
