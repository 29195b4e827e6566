/**
 * Registers the `restore_test` step with the app (imported for its effect by
 * `shared/jobs/steps.ts`). Not inside an Edge Function: a restore does not fit its limits, so
 * queued restore tests are left to the worker and the CLI.
 *
 * @module
 */
import { registerStep } from "../app.ts";
import { createRestoreTestStep } from "./step.ts";

declare const EdgeRuntime: unknown;

if (typeof EdgeRuntime === "undefined") registerStep("restore_test", createRestoreTestStep);
