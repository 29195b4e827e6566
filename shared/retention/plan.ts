/**
 * The prune plan: which manifests retention removes and which blobs nothing references any
 * more, computed from a {@link Catalog} without changing anything. A dry run reports exactly
 * this; a prune carries it out.
 *
 * Rules, in order of precedence:
 * - manifests of kinds without a policy are all kept (and their blobs with them);
 * - of a kind with a policy, a manifest is kept when the policy keeps it, when it is the
 *   newest "good" one (every blob it references is stored with the recorded size), or when
 *   its time cannot be told;
 * - a blob is removed only when no kept manifest references it AND it is older than the
 *   grace period (a running backup's blobs are younger: their manifest has not landed yet);
 *   a blob whose age the target does not report is kept.
 *
 * @module
 */
import type { BlobRef } from "../repository/repository.ts";
import type { Catalog, CatalogManifest } from "./catalog.ts";
import { type KeepReason, selectRetained } from "./gfs.ts";
import type { RetentionPolicy } from "./policy.ts";

/** Why a manifest is kept: a policy rule, or one of the safety rules. */
export type KeptBecause = KeepReason | "newest-good" | "undated";

/** A manifest the plan keeps. */
export interface KeptBackup {
  id: string;
  /** ISO 8601; absent when undated. */
  time?: string;
  reasons: KeptBecause[];
}

/** A manifest the plan removes. */
export interface RemovedBackup {
  id: string;
  time: string;
}

/** The plan for one kind with a policy. */
export interface KindPlan {
  kind: string;
  policy: RetentionPolicy;
  keep: KeptBackup[];
  remove: RemovedBackup[];
}

/** The plan for blobs. */
export interface BlobPlan {
  /** Blobs stored. */
  stored: number;
  /** Stored blobs a kept manifest references. */
  referenced: number;
  /** Unreferenced blobs kept because they are younger than the grace period (or undated). */
  young: number;
  /** Unreferenced blobs older than the grace period, to remove. */
  remove: Array<{ id: string; storedSize: number }>;
  /** Sum of their stored sizes. */
  removeBytes: number;
}

/** What a prune removes and keeps; plain JSON. */
export interface PrunePlan {
  /** The instant ages were measured from (ISO 8601). */
  now: string;
  graceMs: number;
  kinds: KindPlan[];
  /** Manifests of kinds without a policy, all kept. */
  otherManifests: number;
  blobs: BlobPlan;
}

/** Options for {@link planPrune}. */
export interface PlanOptions {
  /** The policy of each kind retention thins out (e.g. database, storage). */
  policies: Readonly<Record<string, RetentionPolicy>>;
  /** Unreferenced blobs younger than this are kept (a running backup's). */
  graceMs: number;
  now: Date;
}

/** Computes what a prune would remove. */
export function planPrune(catalog: Catalog, options: PlanOptions): PrunePlan {
  const byKind = new Map<string, CatalogManifest[]>();
  for (const manifest of catalog.manifests) {
    const list = byKind.get(manifest.kind) ?? [];
    list.push(manifest);
    byKind.set(manifest.kind, list);
  }
  const kinds: KindPlan[] = [];
  const removed = new Set<string>();
  let otherManifests = 0;
  for (const [kind, manifests] of [...byKind].sort(([a], [b]) => a < b ? -1 : 1)) {
    const policy = options.policies[kind];
    if (!policy) {
      otherManifests += manifests.length;
      continue;
    }
    const plan = planKind(kind, manifests, policy, catalog);
    for (const backup of plan.remove) removed.add(`${kind}/${backup.id}`);
    kinds.push(plan);
  }

  const referenced = new Set<string>();
  for (const manifest of catalog.manifests) {
    if (removed.has(`${manifest.kind}/${manifest.id}`)) continue;
    for (const ref of manifest.refs) referenced.add(ref.id);
  }
  const blobs: BlobPlan = {
    stored: catalog.blobs.size,
    referenced: 0,
    young: 0,
    remove: [],
    removeBytes: 0,
  };
  const oldest = options.now.getTime() - options.graceMs;
  for (const blob of catalog.blobs.values()) {
    if (referenced.has(blob.id)) {
      blobs.referenced++;
    } else if (!blob.lastModified || blob.lastModified.getTime() > oldest) {
      blobs.young++;
    } else {
      blobs.remove.push({ id: blob.id, storedSize: blob.storedSize });
      blobs.removeBytes += blob.storedSize;
    }
  }
  blobs.remove.sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  return { now: options.now.toISOString(), graceMs: options.graceMs, kinds, otherManifests, blobs };
}

function planKind(
  kind: string,
  manifests: CatalogManifest[],
  policy: RetentionPolicy,
  catalog: Catalog,
): KindPlan {
  const dated = manifests.filter((m): m is CatalogManifest & { time: Date } => !!m.time);
  const retained = selectRetained(dated, policy) as Map<string, KeptBecause[]>;
  const newest = [...dated].sort((a, b) =>
    b.time.getTime() - a.time.getTime() || (a.id < b.id ? 1 : -1)
  );
  const newestGood = newest.find((manifest) => isComplete(manifest.refs, catalog));
  if (newestGood) {
    retained.set(newestGood.id, [...(retained.get(newestGood.id) ?? []), "newest-good"]);
  } else if (newest[0]) {
    // No complete backup at all: keep the newest anyway, retention is no repair tool.
    retained.set(newest[0].id, [...(retained.get(newest[0].id) ?? []), "newest-good"]);
  }
  const keep: KeptBackup[] = [];
  const remove: RemovedBackup[] = [];
  for (const manifest of [...manifests].sort((a, b) => a.id < b.id ? 1 : -1)) {
    const time = manifest.time?.toISOString();
    if (!manifest.time) keep.push({ id: manifest.id, reasons: ["undated"] });
    else if (retained.has(manifest.id)) {
      keep.push({ id: manifest.id, time, reasons: retained.get(manifest.id)! });
    } else remove.push({ id: manifest.id, time: time! });
  }
  return { kind, policy: { ...policy }, keep, remove };
}

function isComplete(refs: readonly BlobRef[], catalog: Catalog): boolean {
  return refs.every((ref) => catalog.blobs.get(ref.id)?.storedSize === ref.storedSize);
}
