/**
 * Registers the Storage snapshot step with the app, so every process that imports this runs
 * `storage` runs (imported for its effect by `shared/jobs/steps.ts` and the storage function).
 *
 * @module
 */
import { registerStep } from "../app.ts";
import { createStorageStep } from "./step.ts";

registerStep("storage", createStorageStep);
