/**
 * The objects of a bucket walk in listing order, and the finished ones written as "segment"
 * blobs: small JSON lists of entries whose ids go into the checkpoint with the last key done,
 * so a killed step resumes after that key and loses at most the objects in flight.
 *
 * @module
 */
import type { ObjectEntry } from "../manifest.ts";
import type { SnapshotRepository } from "../repository_port.ts";
import type { ListedObject } from "../source.ts";
import { type Counters, type SnapshotCheckpoint, zeroCounters } from "./checkpoint.ts";
import type { Outcome } from "./copy_object.ts";

/** A listed object being snapshotted; `done` once its outcome is in. */
export interface ObjectTask {
  listed: ListedObject;
  done: boolean;
  outcome?: Outcome;
  promise: Promise<void>;
}

/** The walk's objects in flight, and the checkpointed segments of the finished ones. */
export class SegmentWriter {
  readonly #queue: ObjectTask[] = [];
  readonly #state: SnapshotCheckpoint;
  readonly #counters: Counters;
  readonly #options: {
    repository: SnapshotRepository;
    known: Map<string, number>;
    save: () => Promise<void>;
    segmentSize: number;
    checkpointEveryMs: number;
  };
  #completed: ObjectEntry[] = [];
  #lastDone: string | null;
  #lastSave = Date.now();
  // The counters of entries not yet flushed, applied when their segment is saved.
  #pending = zeroCounters();

  constructor(
    state: SnapshotCheckpoint,
    counters: Counters,
    options: {
      repository: SnapshotRepository;
      /** Blobs known to be stored (a segment identical to a stored one is not sent again). */
      known: Map<string, number>;
      /** Saves the checkpoint. */
      save: () => Promise<void>;
      /** Entries per segment. */
      segmentSize: number;
      /** Largest gap between checkpoints in ms. */
      checkpointEveryMs: number;
    },
  ) {
    this.#state = state;
    this.#counters = counters;
    this.#options = options;
    this.#lastDone = state.startAfter;
  }

  /** Tracks an object just started, after those listed before it. */
  add(task: ObjectTask): void {
    this.#queue.push(task);
  }

  /** Takes the finished objects at the head of the listing order (none passes one in flight). */
  collect(): void {
    const queue = this.#queue;
    const pending = this.#pending;
    while (queue.length && queue[0].done) {
      const task = queue.shift()!;
      const outcome = task.outcome!;
      this.#lastDone = task.listed.key;
      if (outcome.kind === "vanished") {
        pending.vanished++;
        continue;
      }
      this.#completed.push(outcome.entry);
      pending.objects++;
      pending.bytes += outcome.entry.size;
      if (outcome.kind === "copied") {
        pending.copied++;
        pending.storedBytes += outcome.storedSize;
      } else pending.skipped++;
    }
  }

  /** Whether a segment is full or the last checkpoint is too old. */
  get due(): boolean {
    return this.#completed.length >= this.#options.segmentSize ||
      Date.now() - this.#lastSave > this.#options.checkpointEveryMs;
  }

  /** Writes the collected entries as a segment and saves the checkpoint after their last key. */
  async flush(): Promise<void> {
    const state = this.#state;
    if (this.#lastDone === state.startAfter) return;
    if (this.#completed.length) {
      const bytes = new TextEncoder().encode(JSON.stringify(this.#completed));
      const blob = await this.#options.repository.putBlob(bytes, {
        known: this.#options.known,
        assumeAbsent: true,
      });
      state.segments.push(blob.id);
    }
    for (const name of Object.keys(this.#pending) as Array<keyof Counters>) {
      this.#counters[name] += this.#pending[name];
    }
    state.startAfter = this.#lastDone;
    this.#completed = [];
    this.#pending = zeroCounters();
    this.#lastSave = Date.now();
    await this.#options.save();
  }

  /** Waits for every object in flight to settle (they never reject). */
  async settle(): Promise<void> {
    await Promise.all(this.#queue.map((task) => task.promise));
  }
}
