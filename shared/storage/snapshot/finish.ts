/**
 * The last stage of a target's snapshot: the manifest assembled from the checkpointed
 * segments, compared with `storage.objects` and paired with the latest database backup, and
 * written last; only then does the snapshot exist on that target.
 *
 * @module
 */
import { z } from "zod";
import {
  type BucketSettings,
  type ObjectEntry,
  objectEntrySchema,
  STORAGE_MANIFEST_KIND,
  STORAGE_MANIFEST_VERSION,
  type StorageManifest,
} from "../manifest.ts";
import { compareWithDatabase, latestDatabaseBackupId, linkDatabaseRun } from "../pairing.ts";
import type { SnapshotRepository } from "../repository_port.ts";
import { type SnapshotCheckpoint, zeroCounters } from "./checkpoint.ts";
import { DEFAULT_CHUNK, type SnapshotContext, type SnapshotSummary } from "./context.ts";

/** Writes the target's manifest and records it in `state.written`; returns its summary. */
export async function finishTarget(
  ctx: SnapshotContext,
  state: SnapshotCheckpoint,
  target: { name: string; repository: SnapshotRepository; previous?: string },
): Promise<SnapshotSummary> {
  const objects = await loadSegments(target.repository, state.segments);
  const counters = state.counters ?? zeroCounters();
  const buckets = state.resolvedBuckets ?? [];
  const perBucket = new Map(buckets.map((b) => [b, { objects: 0, bytes: 0 }]));
  for (const entry of objects) {
    const totals = perBucket.get(entry.bucket)!;
    totals.objects++;
    totals.bytes += entry.size;
  }
  const databaseBackupId = await latestDatabaseBackupId(target.repository);
  const comparison = await compareWithDatabase(ctx.sql, buckets, objects);
  const snapshotId = state.snapshotId!;
  const manifest: StorageManifest = {
    version: STORAGE_MANIFEST_VERSION,
    kind: "storage",
    id: snapshotId,
    startedAt: state.startedAt!,
    finishedAt: new Date().toISOString(),
    source: { endpoint: ctx.sourceEndpoint },
    previousSnapshotId: target.previous ?? null,
    options: {
      compression: ctx.options.compression,
      encrypted: ctx.options.encrypted,
      chunkSize: ctx.options.chunkSize ?? DEFAULT_CHUNK,
    },
    buckets: buckets.map((name) => ({
      name,
      settings: (state.settings?.[name] ?? null) as BucketSettings | null,
      ...perBucket.get(name)!,
    })),
    pairing: { databaseBackupId, ...comparison },
    totals: {
      objects: objects.length,
      bytes: objects.reduce((n, e) => n + e.size, 0),
      copied: counters.copied,
      skipped: counters.skipped,
      storedBytes: counters.storedBytes,
      vanished: counters.vanished,
    },
    objects,
  };
  await target.repository.saveManifest(STORAGE_MANIFEST_KIND, snapshotId, manifest);
  if (ctx.sql && databaseBackupId) await linkDatabaseRun(ctx.sql, databaseBackupId, snapshotId);
  const summary: SnapshotSummary = {
    snapshotId,
    target: target.name,
    objects: manifest.totals.objects,
    bytes: manifest.totals.bytes,
    copied: counters.copied,
    skipped: counters.skipped,
    storedBytes: counters.storedBytes,
    vanished: counters.vanished,
    databaseBackupId,
    missingFromBucket: comparison.missingFromBucket.count,
    missingFromDatabase: comparison.missingFromDatabase.count,
  };
  state.written.push({ ...summary, location: `${STORAGE_MANIFEST_KIND}/${snapshotId}` });
  return summary;
}

/** The entries of the segments, in order (each segment a JSON list written by the walk). */
async function loadSegments(
  repository: SnapshotRepository,
  segments: readonly string[],
): Promise<ObjectEntry[]> {
  const objects: ObjectEntry[] = [];
  const decoder = new TextDecoder();
  for (const id of segments) {
    const segment = JSON.parse(decoder.decode(await repository.loadBlob(id)));
    for (const entry of z.array(objectEntrySchema).parse(segment)) objects.push(entry);
  }
  return objects;
}
