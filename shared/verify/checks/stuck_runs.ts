/**
 * Stuck runs: a queued or running run whose heartbeat (or, never started, whose creation) is
 * older than the stale interval. Nobody is working on it and nobody resumed it.
 *
 * @module
 */
import { liveRuns } from "../facts.ts";
import { formatAge } from "../objectives.ts";
import type { Check } from "../types.ts";

/** `runs.stuck`. */
export const stuckRunsCheck: Check = {
  id: "runs.stuck",
  async run(context) {
    const limit = context.now.getTime() - context.options.staleAfterMs;
    const stuck = (await liveRuns(context)).filter((run) =>
      (run.heartbeatAt ?? run.createdAt).getTime() < limit
    );
    const base = { id: "runs.stuck", name: "Stuck runs" };
    if (stuck.length === 0) {
      return [{
        ...base,
        status: "ok",
        summary: "No run is stuck: every live run has a fresh heartbeat",
      }];
    }
    const described = stuck.slice(0, 3).map((run) => {
      const since = run.heartbeatAt ?? run.createdAt;
      return `${run.kind} run ${run.id} (${run.status}, ${
        run.heartbeatAt ? "last heartbeat" : "created"
      } ${formatAge(context.now.getTime() - since.getTime())} ago${
        run.leftToWorker ? `, left to the worker: ${run.leftToWorker}` : ""
      })`;
    });
    return [{
      ...base,
      status: "fail",
      summary: `${stuck.length} run${stuck.length === 1 ? " is" : "s are"} stuck: ${
        described.join("; ")
      }${stuck.length > 3 ? "; …" : ""}`,
      nextStep:
        "Check that the sauvegarde-continue schedule runs (it resumes stale runs) or that the worker is up; cancel a run that cannot finish so the next one can start",
      details: { runs: stuck.map((run) => run.id) },
    }];
  },
};
