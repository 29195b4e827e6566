/**
 * PostgreSQL's exported snapshot: one consistent view shared by several connections, as
 * `pg_dump -j` takes one. (A Storage backup is also called a snapshot; that one lives in
 * `storage/snapshot/`.)
 *
 * The coordinator opens a `REPEATABLE READ READ ONLY` transaction and exports its snapshot
 * with `pg_export_snapshot()`; every worker opens the same kind of transaction and adopts it
 * with `SET TRANSACTION SNAPSHOT`, so all of them see the database as of one instant. The
 * coordinator is also the first worker. Each transaction is a postgres.js `sql.begin` held
 * open until {@link ExportedSnapshot.close}, its settings transaction-local.
 *
 * Through a transaction-mode pooler (`pooler.ts`) this works as it is: each transaction keeps
 * one server connection from its BEGIN to its end, and the exporting one stays open while the
 * others import its snapshot. But each holds that server connection until the snapshot
 * closes, so the pooler must give them all at once: when the others cannot all start within
 * {@link OpenExportedSnapshotOptions.joinTimeoutMs}, opening fails, naming the fix, rather than
 * wait in the pooler's queue.
 *
 * @module
 */
import type postgres from "postgres";
import { isPooled } from "./connect.ts";
import { prepareSession } from "./session.ts";

/** Connections that all see the database as of one instant. */
export interface ExportedSnapshot {
  /** The exported snapshot's name (`pg_export_snapshot()`). */
  readonly id: string;
  /** `now()` inside the snapshot's transaction, as an ISO timestamp. */
  readonly time: string;
  /** The coordinator: the transaction that exported the snapshot (also `connections[0]`). */
  readonly coordinator: postgres.TransactionSql;
  /** Every transaction in the snapshot, coordinator first. */
  readonly connections: readonly postgres.TransactionSql[];
  /** Ends every transaction (their connections go back to the pool); never throws. */
  close(): Promise<void>;
}

/** Options for {@link openExportedSnapshot}. */
export interface OpenExportedSnapshotOptions {
  /** How many connections share the snapshot, coordinator included (default 1). */
  connections?: number;
  /**
   * Through a transaction-mode pooler, how long the other connections may take to start their
   * transactions beside the coordinator's (default 30 s); not applied to direct connections.
   */
  joinTimeoutMs?: number;
}

const CLOSE_TIMEOUT_MS = 10_000;
const JOIN_TIMEOUT_MS = 30_000;
const SNAPSHOT_NAME = /^[0-9A-Fa-f]+-[0-9A-Fa-f]+(-[0-9A-Fa-f]+)?$/;

interface HeldTransaction {
  tx: postgres.TransactionSql;
  /** Lets the transaction end (read only: commit and rollback are the same). */
  release(): void;
  /** Settles when the transaction has ended. */
  ended: Promise<unknown>;
}

/** Opens a transaction and keeps it open until `release()`; `setup` runs first inside it. */
function holdTransaction(
  sql: postgres.Sql,
  setup: (tx: postgres.TransactionSql) => Promise<void>,
): Promise<HeldTransaction> {
  return new Promise((resolve, reject) => {
    let finish!: () => void;
    let lost = false;
    const held = new Promise<void>((done) => finish = done);
    const ended = sql.begin("isolation level repeatable read read only", async (tx) => {
      await setup(tx);
      resolve({ tx, release, ended });
      await held;
    });
    // When the connection is lost, postgres.js rejects `begin` at once but would still send
    // COMMIT on the dead socket once the callback returns (and crash), so a lost transaction
    // is never let go: its callback stays pending and holds nothing.
    const release = () => {
      if (!lost) finish();
    };
    ended.catch((error) => {
      lost = true;
      reject(error);
    });
  });
}

/**
 * Opens a snapshot on `connections` connections of `sql` (its pool must allow that many at
 * once). On failure every transaction opened is ended and the error is rethrown.
 */
export async function openExportedSnapshot(
  sql: postgres.Sql,
  options: OpenExportedSnapshotOptions = {},
): Promise<ExportedSnapshot> {
  const count = Math.max(1, Math.floor(options.connections ?? 1));
  const held: HeldTransaction[] = [];
  let closed = false;
  const close = async () => {
    closed = true;
    // Let a connection loss reported just now reach its transaction first.
    await new Promise((done) => setTimeout(done, 0));
    const ending = held.splice(0).map(async (one) => {
      one.release();
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        one.ended.catch(() => {}),
        new Promise((done) => timer = setTimeout(done, CLOSE_TIMEOUT_MS)),
      ]);
      clearTimeout(timer);
    });
    await Promise.all(ending);
  };
  try {
    let exported = { id: "", time: "" };
    const coordinator = await holdTransaction(sql, async (tx) => {
      await prepareSession(tx, { local: true });
      const [row] = await tx<{ id: string; time: Date }[]>`
        select pg_export_snapshot() as id, now() as time`;
      if (!SNAPSHOT_NAME.test(row.id)) {
        throw new Error(`The server exported an unexpected snapshot name "${row.id}"`);
      }
      exported = { id: row.id, time: new Date(row.time).toISOString() };
    });
    held.push(coordinator);
    const joining = Promise.all(
      Array.from({ length: count - 1 }, async () => {
        const worker = await holdTransaction(sql, async (tx) => {
          // Must come first in the transaction; takes no parameters (the name was checked).
          await tx.unsafe(`set transaction snapshot '${exported.id}'`);
          await prepareSession(tx, { local: true });
        });
        // Started after a failure or a timeout: nothing will close it but this.
        if (closed) worker.release();
        else held.push(worker);
        return worker;
      }),
    );
    const workers = count > 1 && isPooled(sql)
      ? await joinedInTime(joining, count, options.joinTimeoutMs ?? JOIN_TIMEOUT_MS)
      : await joining;
    return {
      id: exported.id,
      time: exported.time,
      coordinator: coordinator.tx,
      connections: [coordinator.tx, ...workers.map((worker) => worker.tx)],
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** `joining`, or a failure naming the fix when it takes longer than `timeoutMs`. */
async function joinedInTime<T>(joining: Promise<T>, count: number, timeoutMs: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) =>
    timer = setTimeout(() =>
      reject(
        new Error(
          `Could not open ${count} transactions sharing one snapshot through the ` +
            `transaction-mode pooler within ${Math.round(timeoutMs / 1000)} s (it must serve ` +
            "them all at once, until the backup ends): use the direct or session-mode " +
            "database URL, or back up with fewer tables in parallel",
        ),
      ), timeoutMs)
  );
  try {
    return await Promise.race([joining, late]);
  } finally {
    clearTimeout(timer);
    joining.catch(() => {});
  }
}
