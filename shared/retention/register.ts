/**
 * Registers the `prune` step with the app (imported for its effect, like
 * `shared/storage/register.ts`).
 *
 * @module
 */
import { registerStep } from "../app.ts";
import { createPruneStep } from "./step.ts";

registerStep("prune", createPruneStep);
