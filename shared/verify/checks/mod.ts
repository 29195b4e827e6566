/**
 * Every verification check, in report order.
 *
 * @module
 */
import type { Check } from "../types.ts";
import { freshnessCheck } from "./freshness.ts";
import { targetFreshnessCheck } from "./target_freshness.ts";
import { integrityCheck } from "./integrity.ts";
import { authenticityCheck } from "./authenticity.ts";
import { completenessCheck } from "./completeness.ts";
import { replicationCheck } from "./replication.ts";
import { stuckRunsCheck } from "./stuck_runs.ts";
import { recentFailuresCheck } from "./recent_failures.ts";
import { sizeAnomalyCheck } from "./size_anomaly.ts";
import { schedulesCheck } from "./schedules.ts";
import { restoreTestCheck } from "./restore_test.ts";

/** The checks a verification runs. */
export const CHECKS: readonly Check[] = [
  freshnessCheck,
  targetFreshnessCheck,
  integrityCheck,
  authenticityCheck,
  completenessCheck,
  replicationCheck,
  stuckRunsCheck,
  recentFailuresCheck,
  sizeAnomalyCheck,
  schedulesCheck,
  restoreTestCheck,
];

export {
  authenticityCheck,
  completenessCheck,
  freshnessCheck,
  integrityCheck,
  recentFailuresCheck,
  replicationCheck,
  restoreTestCheck,
  schedulesCheck,
  sizeAnomalyCheck,
  stuckRunsCheck,
  targetFreshnessCheck,
};
