/**
 * Which backups a {@link RetentionPolicy} keeps: the grandfather-father-son selection, pure and
 * independent of any storage.
 *
 * @module
 */
import type { RetentionPolicy } from "../config/retention_policy.ts";

/** A backup as retention sees it: its id and when it was taken. */
export interface DatedBackup {
  id: string;
  time: Date;
}

/** Why a backup is kept. */
export type KeepReason = "last" | "daily" | "weekly" | "monthly";

/**
 * The backups a policy keeps, with the rules that keep each. Backups are ordered newest first
 * (by time, then by id); for each calendar rule, the newest backup of each bucket (UTC day, ISO
 * week, month) is kept, for the most recent buckets that hold a backup, up to the rule's count.
 */
export function selectRetained(
  backups: readonly DatedBackup[],
  policy: RetentionPolicy,
): Map<string, KeepReason[]> {
  const sorted = [...backups].sort((a, b) =>
    b.time.getTime() - a.time.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)
  );
  const kept = new Map<string, KeepReason[]>();
  const keep = (id: string, reason: KeepReason) => {
    const reasons = kept.get(id) ?? [];
    reasons.push(reason);
    kept.set(id, reasons);
  };
  sorted.slice(0, Math.max(0, policy.last)).forEach((backup) => keep(backup.id, "last"));
  const calendar: Array<[Exclude<KeepReason, "last">, (time: Date) => string]> = [
    ["daily", dayBucket],
    ["weekly", isoWeekBucket],
    ["monthly", monthBucket],
  ];
  for (const [reason, bucketOf] of calendar) {
    let remaining = policy[reason];
    let previous: string | undefined;
    for (const backup of sorted) {
      if (remaining <= 0) break;
      const bucket = bucketOf(backup.time);
      if (bucket === previous) continue;
      previous = bucket;
      keep(backup.id, reason);
      remaining--;
    }
  }
  return kept;
}

/** `2026-11-25` (UTC). */
export function dayBucket(time: Date): string {
  return time.toISOString().slice(0, 10);
}

/** `2026-11` (UTC). */
export function monthBucket(time: Date): string {
  return time.toISOString().slice(0, 7);
}

/** `2026-W48`: the ISO 8601 week-numbering year and week (weeks start on Monday, UTC). */
export function isoWeekBucket(time: Date): string {
  const day = new Date(Date.UTC(time.getUTCFullYear(), time.getUTCMonth(), time.getUTCDate()));
  const weekday = day.getUTCDay() || 7; // Monday 1 … Sunday 7
  day.setUTCDate(day.getUTCDate() + 4 - weekday); // the Thursday of this week decides its year
  const year = day.getUTCFullYear();
  const week = Math.ceil(((day.getTime() - Date.UTC(year, 0, 1)) / 86_400_000 + 1) / 7);
  return `${year}-W${String(week).padStart(2, "0")}`;
}
