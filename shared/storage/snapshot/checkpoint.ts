/**
 * Where a Storage snapshot run stands, as JSON in `backup_runs.checkpoint`: the snapshot being
 * written, the target and bucket reached, the last key done, the segments of entries written
 * so far and the running totals.
 *
 * @module
 */
import { z } from "zod";

const counterSchema = z.object({
  objects: z.number(),
  bytes: z.number(),
  copied: z.number(),
  skipped: z.number(),
  storedBytes: z.number(),
  vanished: z.number(),
});

/** Running totals of the target in progress. */
export type Counters = z.infer<typeof counterSchema>;

/** Totals of nothing yet. */
export const zeroCounters = (): Counters => ({
  objects: 0,
  bytes: 0,
  copied: 0,
  skipped: 0,
  storedBytes: 0,
  vanished: 0,
});

/** Where a snapshot run stands; JSON, kept in `backup_runs.checkpoint`. */
export const snapshotCheckpointSchema = z.object({
  /** Buckets asked for; null or absent: every bucket. */
  buckets: z.array(z.string()).nullable().optional(),
  snapshotId: z.string().optional(),
  startedAt: z.string().optional(),
  /** The buckets being snapshotted, resolved on the first step. */
  resolvedBuckets: z.array(z.string()).optional(),
  settings: z.record(z.string(), z.unknown().nullable()).nullable().optional(),
  targetIndex: z.number().int().nonnegative().default(0),
  bucketIndex: z.number().int().nonnegative().default(0),
  /** Last key done in the current bucket, in listing order. */
  startAfter: z.string().nullable().default(null),
  /** Blob ids of the entry segments written for the current target. */
  segments: z.array(z.string()).default([]),
  /** Previous snapshots whose blobs the current target's entries reference (must not go). */
  basedOn: z.array(z.string()).optional(),
  counters: counterSchema.optional(),
  /** Manifests written so far, one per finished target. */
  written: z.array(
    z.object({
      target: z.string(),
      snapshotId: z.string(),
      location: z.string(),
    }).passthrough(),
  ).default([]),
}).passthrough();

/** Where a snapshot run stands. */
export type SnapshotCheckpoint = z.infer<typeof snapshotCheckpointSchema>;
