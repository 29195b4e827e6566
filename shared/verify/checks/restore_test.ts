/**
 * The last successful restore test is younger than the limit (default 31 days): nothing else
 * proves a backup brings the project back.
 *
 * @module
 */
import { latestGoodRun } from "../facts.ts";
import { formatAge } from "../objectives.ts";
import type { Check } from "../types.ts";

const NEXT =
  "Run a restore test (it restores the latest backup into a scratch database and checks it), or check that the restore-test schedule runs";

/** `restore_test`. */
export const restoreTestCheck: Check = {
  id: "restore_test",
  async run(context) {
    const base = { id: "restore_test", name: "Restore test" };
    const limit = context.config.restoreTestMaxAgeMs;
    const good = await latestGoodRun(context, "restore_test");
    if (!good) {
      return [{
        ...base,
        status: "fail",
        summary: "No restore test has ever succeeded, so nothing proves the backups restore",
        nextStep: NEXT,
      }];
    }
    const age = context.now.getTime() - good.finishedAt.getTime();
    const details = { runId: good.id, ageMs: age, limitMs: limit };
    if (age > limit) {
      return [{
        ...base,
        status: "fail",
        summary: `The last successful restore test was ${formatAge(age)} ago, older than the ${
          formatAge(limit)
        } limit`,
        nextStep: NEXT,
        details,
      }];
    }
    return [{
      ...base,
      status: "ok",
      summary: `The last successful restore test was ${formatAge(age)} ago, within ${
        formatAge(limit)
      }`,
      details,
    }];
  },
};
