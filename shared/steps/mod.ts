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

/** Every step: what the worker, the CLI and the local stack run. */
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

/**
 * What an Edge Function runs: everything but the restore test, which does not fit an Edge
 * step's limits yet (such runs are queued for the worker).
 */
export const EDGE_STEPS = { ...STEPS, restore_test: null } as const satisfies Record<
  RunKind,
  StepFactory | null
>;

export { createDatabaseStep, createPruneStep, createReplicateStep, createRestoreTestStep };
export { createStorageStep };
