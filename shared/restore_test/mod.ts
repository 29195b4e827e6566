/**
 * Restore tests: restore a backup into a scratch database, check every table against the
 * manifest, measure the RTO, drop the scratch database.
 *
 * @module
 */
export {
  describeMismatches,
  type RestoreTestOptions,
  type RestoreTestReport,
  runRestoreTest,
} from "./restore_test.ts";
export {
  createScratchDatabase,
  databaseExists,
  dropScratchDatabase,
  PLATFORM_TEMPLATE,
  SCRATCH_PREFIX,
  type ScratchDatabase,
} from "./scratch_database.ts";
export { type ScratchView, scratchView, SINGLE_DATABASE_EXTENSIONS } from "./scratch_view.ts";
export {
  checksumTable,
  compareTable,
  type TableChecksum,
  type TableMismatch,
} from "./table_checksum.ts";
export {
  type AppTestFailure,
  type AppTestFile,
  type AppTestsReport,
  DEFAULT_APP_TESTS_DIR,
  describeAppTestFailures,
  loadAppTests,
  runAppTests,
} from "./app_tests.ts";
export {
  advanceRestoreTest,
  readProgress,
  type RestoreTestPhase,
  type RestoreTestProgress,
} from "./stepwise.ts";
