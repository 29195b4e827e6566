/**
 * The bookkeeping of one copy step: the tables waiting, the tables the lanes are copying, the
 * tables done and the blobs reused. From it come the state a caller checkpoints (tables in
 * flight count as pending, with the slices they finished) and the progress reported.
 *
 * @module
 */
import type { CopyCounter } from "../../pg/copy_out.ts";
import type { ManifestLargeObjects, ManifestTable } from "../manifest.ts";
import { byProgressThenSize } from "./order.ts";
import type { BackupProgress, BackupRunState, PendingTable } from "./state.ts";

/** A table a lane is copying, with the slices done so far and the current copy's totals. */
export interface InFlight {
  table: PendingTable;
  counter: CopyCounter;
}

/** What a copy step has done and has left, over the state it started from. */
export class CopyLedger {
  readonly #state: BackupRunState;
  readonly #snapshotId: string;
  readonly #snapshots: number;
  readonly #queue: PendingTable[];
  readonly #done: ManifestTable[];
  readonly #inFlight = new Set<InFlight>();
  #reusedBlobs: number;
  #largeObjects: ManifestLargeObjects | undefined;
  /** Tables of the whole backup: done before this step, and still to copy. */
  readonly total: number;

  /** Starts from `state`, in the exported snapshot `snapshotId` (a new one counts once). */
  constructor(state: BackupRunState, snapshotId: string) {
    this.#state = state;
    this.#snapshotId = snapshotId;
    this.#snapshots = state.snapshots + (snapshotId === state.lastSnapshotId ? 0 : 1);
    this.#queue = [...state.pending].sort(byProgressThenSize);
    this.#done = [...state.done];
    this.#reusedBlobs = state.reusedBlobs;
    this.#largeObjects = state.largeObjects;
    this.total = this.#done.length + this.#queue.filter((table) => !table.largeObjects).length;
  }

  /** The tables waiting, in the order lanes take them. */
  get queued(): readonly PendingTable[] {
    return this.#queue;
  }

  /** The next table for a lane, now in flight; undefined when none waits. */
  take(): InFlight | undefined {
    const table = this.#queue.shift();
    if (!table) return undefined;
    const entry: InFlight = { table, counter: { rows: 0, bytes: 0 } };
    this.#inFlight.add(entry);
    return entry;
  }

  /** A table not finished (failed, or stopped between slices) waits again, first. */
  putBack(entry: InFlight): void {
    this.#inFlight.delete(entry);
    this.#queue.unshift(entry.table);
  }

  /**
   * A table finished: it leaves the lanes and goes into the manifest's tables (the large
   * objects' contents into the manifest's `largeObjects`, counted and sized as their schema
   * was read: `copy_tables.ts` checks they still are).
   */
  finish(entry: InFlight, table: ManifestTable): void {
    this.#inFlight.delete(entry);
    const census = entry.table.largeObjects;
    if (!census) {
      this.#done.push(table);
      return;
    }
    this.#largeObjects = {
      count: census.count,
      bytes: census.bytes,
      rows: table.rows,
      streamBytes: table.bytes,
      sha256: table.sha256,
      storedBytes: table.storedBytes,
      blobs: table.blobs,
      snapshotTime: table.snapshotTime,
    };
  }

  /** Counts blobs a copy found already stored. */
  addReusedBlobs(count: number): void {
    this.#reusedBlobs += count;
  }

  /** The run state now: safe to checkpoint and to resume from. */
  current(): BackupRunState {
    return {
      ...this.#state,
      snapshots: this.#snapshots,
      lastSnapshotId: this.#snapshotId,
      pending: [...this.#queue, ...[...this.#inFlight].map((entry) => entry.table)]
        .sort(byProgressThenSize),
      done: [...this.#done],
      ...(this.#largeObjects ? { largeObjects: this.#largeObjects } : {}),
      reusedBlobs: this.#reusedBlobs,
    };
  }

  /** Progress now, tables in flight included (their slices done and their current copy). */
  progress(table?: string): BackupProgress {
    let rows = this.#done.reduce((sum, done) => sum + done.rows, 0);
    let bytes = this.#done.reduce((sum, done) => sum + done.bytes, 0);
    for (const entry of this.#inFlight) {
      for (const slice of entry.table.slices ?? []) {
        rows += slice.rows;
        bytes += slice.bytes;
      }
      rows += entry.counter.rows;
      bytes += entry.counter.bytes;
    }
    return {
      phase: "tables",
      tablesDone: this.#done.length,
      tablesTotal: this.total,
      rows,
      bytes,
      table,
    };
  }
}
