/**
 * Registers the `replicate` step with the app (imported for its effect, like
 * `shared/storage/register.ts`).
 *
 * @module
 */
import { registerStep } from "../app.ts";
import { createReplicateStep } from "./step.ts";

registerStep("replicate", createReplicateStep);
