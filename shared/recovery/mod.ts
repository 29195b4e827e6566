/**
 * Disaster recovery: list what a target can bring back, restore the database then Storage,
 * check both, report the RTO, notify.
 *
 * @module
 */
export { recoveryNotification } from "./notification.ts";
export {
  choosePoint,
  type DatabasePoint,
  listRecoveryPoints,
  type RecoveryPoints,
  type SnapshotPoint,
  type UnreadablePoint,
} from "./points.ts";
export { recover, type RecoverOptions, type RecoveryReport } from "./recover.ts";
export {
  checkRestoredStorage,
  describeStorageCheck,
  type StorageCheck,
  type StorageProblem,
} from "./storage_check.ts";
