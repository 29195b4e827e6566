/**
 * The prune plan: which manifests retention removes and which blobs nothing references any
 * more, computed from a {@link Holdings} without changing anything. A dry run reports exactly
 * this; a prune carries it out.
 *
 * Rules, in order of precedence:
 * - manifests of kinds without a policy are all kept (and their blobs with them);
 * - a manifest dated in the future (its id or its time beyond the clock skew after now,
 *   `repository/backup_time.ts`) is kept and takes no slot: it is suspicious, and counting it
 *   would push real backups out;
 * - of a kind with a policy, a full backup (every backup of a kind without classes) is kept
 *   when the kind's policy keeps it, when it is the newest "good" full one (every blob it
 *   references is stored with the recorded size), or when its time cannot be told;
 * - partial, safety and other-database backups (`database/backup_class.ts`) are kept by their
 *   own policy (`classPolicy`), applied to each class on its own: they never fill a full
 *   backup's slot nor push one out, and are not the newest good backup;
 * - a blob is removed only when no kept manifest references it AND it is older than the
 *   grace period (a running backup's blobs are younger: their manifest has not landed yet);
 *   a blob whose age the target does not report is kept.
 *
 * @module
 */
import type { BlobRef } from "../repository/repository.ts";
import type { HeldManifest, Holdings } from "./holdings.ts";
import type { BackupClass } from "../database/backup_class.ts";
import { isFutureId, isFutureTime } from "../repository/backup_time.ts";
import { type KeepReason, selectRetained } from "./gfs.ts";
import { DEFAULT_CLASS_RETENTION, type RetentionPolicy } from "../config/retention_policy.ts";

/** Why a manifest is kept: a policy rule, or one of the safety rules. */
export type KeptBecause = KeepReason | "newest-good" | "undated" | "future";

/** A manifest the plan keeps. */
export interface KeptBackup {
  id: string;
  /** ISO 8601; absent when undated. */
  time?: string;
  /** A database backup's class; absent for kinds without classes. */
  class?: BackupClass;
  reasons: KeptBecause[];
}

/** A manifest the plan removes. */
export interface RemovedBackup {
  id: string;
  time: string;
  class?: BackupClass;
}

/** The plan for one kind with a policy. */
export interface KindPlan {
  kind: string;
  /** The policy of full backups (every backup of a kind without classes). */
  policy: RetentionPolicy;
  /** The policy of each other class, when the kind has backups of one. */
  classPolicy?: RetentionPolicy;
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
  /**
   * The policy of partial, safety and other-database backups, each class on its own (default
   * {@link DEFAULT_CLASS_RETENTION}).
   */
  classPolicy?: RetentionPolicy;
}

/** Computes what a prune would remove. */
export function planPrune(holdings: Holdings, options: PlanOptions): PrunePlan {
  const byKind = new Map<string, HeldManifest[]>();
  for (const manifest of holdings.manifests) {
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
    const plan = planKind(kind, manifests, { ...options, policy }, holdings);
    for (const backup of plan.remove) removed.add(`${kind}/${backup.id}`);
    kinds.push(plan);
  }

  const referenced = new Set<string>();
  for (const manifest of holdings.manifests) {
    if (removed.has(`${manifest.kind}/${manifest.id}`)) continue;
    for (const ref of manifest.refs) referenced.add(ref.id);
  }
  const blobs: BlobPlan = {
    stored: holdings.blobs.size,
    referenced: 0,
    young: 0,
    remove: [],
    removeBytes: 0,
  };
  const oldest = options.now.getTime() - options.graceMs;
  for (const blob of holdings.blobs.values()) {
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
  manifests: HeldManifest[],
  options: PlanOptions & { policy: RetentionPolicy },
  holdings: Holdings,
): KindPlan {
  const { policy } = options;
  const classPolicy = options.classPolicy ?? DEFAULT_CLASS_RETENTION;
  const future = (m: HeldManifest) =>
    isFutureTime(m.time, options.now) || isFutureId(m.id, options.now);
  const dated = manifests.filter((m): m is HeldManifest & { time: Date } => !!m.time && !future(m));
  const full = dated.filter((m) => (m.class ?? "full") === "full");
  const retained = selectRetained(full, policy) as Map<string, KeptBecause[]>;
  const newest = [...full].sort((a, b) =>
    b.time.getTime() - a.time.getTime() || (a.id < b.id ? 1 : -1)
  );
  const newestGood = newest.find((manifest) => isComplete(manifest.refs, holdings));
  if (newestGood) {
    retained.set(newestGood.id, [...(retained.get(newestGood.id) ?? []), "newest-good"]);
  } else if (newest[0]) {
    // No complete backup at all: keep the newest anyway, retention is no repair tool.
    retained.set(newest[0].id, [...(retained.get(newest[0].id) ?? []), "newest-good"]);
  }
  const others = new Set(dated.map((m) => m.class ?? "full").filter((c) => c !== "full"));
  for (const backupClass of others) {
    const ofClass = dated.filter((m) => m.class === backupClass);
    for (const [id, reasons] of selectRetained(ofClass, classPolicy)) retained.set(id, reasons);
  }
  const keep: KeptBackup[] = [];
  const remove: RemovedBackup[] = [];
  for (const manifest of [...manifests].sort((a, b) => a.id < b.id ? 1 : -1)) {
    const time = manifest.time?.toISOString();
    const backupClass = manifest.class ? { class: manifest.class } : {};
    if (!manifest.time) keep.push({ id: manifest.id, ...backupClass, reasons: ["undated"] });
    else if (future(manifest)) {
      keep.push({ id: manifest.id, time, ...backupClass, reasons: ["future"] });
    } else if (retained.has(manifest.id)) {
      keep.push({ id: manifest.id, time, ...backupClass, reasons: retained.get(manifest.id)! });
    } else remove.push({ id: manifest.id, time: time!, ...backupClass });
  }
  return {
    kind,
    policy: { ...policy },
    ...(others.size ? { classPolicy: { ...classPolicy } } : {}),
    keep,
    remove,
  };
}

function isComplete(refs: readonly BlobRef[], holdings: Holdings): boolean {
  return refs.every((ref) => holdings.blobs.get(ref.id)?.storedSize === ref.storedSize);
}
