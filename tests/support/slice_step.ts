/**
 * Runs one database run to the end in a process of its own, with tables copied in slices of
 * `SLICE_STEP_SLICE_BYTES` (and no other limit), so a test can kill it inside a table. The
 * app is configured from the environment like the functions; `SLICE_STEP_RUN_ID` names the run.
 */
import { app } from "../../shared/app/mod.ts";
import { executeUntilDone } from "../../shared/jobs/mod.ts";
import { STEPS } from "../../shared/steps/mod.ts";

const runId = Deno.env.get("SLICE_STEP_RUN_ID");
const sliceBytes = Number(Deno.env.get("SLICE_STEP_SLICE_BYTES"));
if (!runId || !(sliceBytes > 0)) throw new Error("SLICE_STEP_RUN_ID and SLICE_STEP_SLICE_BYTES");
const context = app(STEPS);
try {
  await executeUntilDone(context.executor, { runId, limits: { sliceBytes } });
} finally {
  await context.close();
}
