/**
 * What a Storage snapshot step works with, what it is given and what it returns, and the
 * defaults of its limits.
 *
 * @module
 */
import type postgres from "postgres";
import type { SnapshotRepository } from "../repository_port.ts";
import type { StorageSource } from "../source.ts";
import type { SnapshotCheckpoint } from "./checkpoint.ts";

/** Everything a snapshot step works with. */
export interface SnapshotContext {
  source: StorageSource;
  /** Printable source endpoint, recorded in the manifest. */
  sourceEndpoint: string;
  /** Repositories to write, in order, by target name. */
  repositories: Array<{
    name: string;
    repository: SnapshotRepository;
    /** The same repository writing blobs uncompressed, for incompressible objects. */
    uncompressed?: SnapshotRepository;
  }>;
  /** The project's database: bucket settings, `storage.objects` and the pairing link. */
  sql?: postgres.Sql;
  /** Options recorded in the manifest. */
  options: { compression: string; encrypted: boolean; chunkSize?: number };
  /** Most objects transferred at once (default 16). */
  concurrency?: number;
  /** Bytes of object data held in memory at once, roughly (default 32 MiB). */
  memoryBytes?: number;
  /** Entries per checkpointed segment (default 1000). */
  segmentSize?: number;
  /** Largest gap between checkpoints in ms (default 15 s). */
  checkpointEveryMs?: number;
}

/** Anything that says when a step should stop taking new work (`shared/jobs` Budget). */
export interface StepBudget {
  exhausted(): boolean;
  addBytes?(n: number): void;
}

/** Options of one step. */
export interface SnapshotStepOptions {
  budget?: StepBudget;
  signal?: AbortSignal;
  /** Stores the checkpoint mid-step (backup_runs.checkpoint). */
  saveCheckpoint?: (checkpoint: Record<string, unknown>) => Promise<void>;
}

/** Summary of a finished snapshot (one per target; the CLI prints the first). */
export interface SnapshotSummary {
  snapshotId: string;
  target: string;
  objects: number;
  bytes: number;
  copied: number;
  skipped: number;
  storedBytes: number;
  vanished: number;
  databaseBackupId: string | null;
  missingFromBucket: number;
  missingFromDatabase: number;
}

/** What one step did. */
export interface SnapshotStepResult {
  done: boolean;
  checkpoint: SnapshotCheckpoint;
  /** Snapshots finished in this step. */
  finished: SnapshotSummary[];
  /** Source bytes read in this step. */
  bytesRead: number;
}

const MIB = 1024 * 1024;
/** Blob size of a large object's parts, and the size of the source's ranged reads. */
export const DEFAULT_CHUNK = 8 * MIB;
/**
 * Defaults for a snapshot's transfers. On the 1 GB bench set (3,000 objects), 16 transfers and
 * 32 MiB in flight took as long as 32 and 64 MiB (within run-to-run noise) for about 50 MB
 * less peak memory (bench/README).
 */
export const DEFAULT_CONCURRENCY = 16;
/** See {@link DEFAULT_CONCURRENCY}. */
export const DEFAULT_MEMORY = 32 * MIB;
