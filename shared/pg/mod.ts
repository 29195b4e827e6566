/**
 * PostgreSQL plumbing, below the database engine (it knows nothing of backups or manifests):
 *
 * - `connect.ts`: engine pools from a URL, or the caller's pool; connection errors reworded.
 * - `pooler.ts`: whether a URL goes through a transaction-mode pooler (Supabase's port 6543,
 *   `?pgbouncer=true`), and what that changes: no prepared statements, nothing kept per session.
 * - `session.ts`: the settings every engine connection runs with, set in each transaction.
 * - `exported_snapshot.ts`: PostgreSQL's exported snapshot, one consistent view shared by
 *   several connections (`pg_export_snapshot()`, as `pg_dump -j`). Not a Storage snapshot.
 * - `wire_socket.ts`, `copy_tap.ts`: sockets whose reader hands each CopyData row over as it
 *   arrives; `copy_out.ts`, `copy_in.ts`: `COPY … TO STDOUT` / `FROM STDIN` as streams.
 * - `slices.ts`: key-ordered ranges of a table and where a slice of them ends.
 * - `copy_lane.ts`, `copy_worker.ts`: where a table's COPY is read and stored, in this thread
 *   or in a worker thread joined to the snapshot.
 * - `sql_text.ts`: quoting identifiers; `migrate.ts`: applying the project's migrations.
 *
 * @module
 */
export {
  clientSql,
  type Connection,
  connectionError,
  type DatabaseInput,
  describeDatabase,
  engineSql,
  isPooled,
  openConnection,
} from "./connect.ts";
export { copyIn } from "./copy_in.ts";
export { type CopyLane, openWorkerLanes, type RepositorySpec, threadLane } from "./copy_lane.ts";
export { type CopyCounter, copyOut, type CopySource, countNewlines } from "./copy_out.ts";
export {
  type ExportedSnapshot,
  openExportedSnapshot,
  type OpenExportedSnapshotOptions,
} from "./exported_snapshot.ts";
export { clientOptions, throughTransactionPooler, withoutPoolerParameter } from "./pooler.ts";
export {
  prepareSession,
  type Queryable,
  SESSION_SETTINGS,
  sessionSettingsStatement,
} from "./session.ts";
export { findSliceEnd, type KeyColumn, type KeyRange } from "./slices.ts";
export { columnList, qualifiedName, quoteIdent, tableLabel } from "./sql_text.ts";
