/**
 * Retention policies: how many backups of a kind to keep, grandfather-father-son style.
 *
 * A policy keeps the `last` newest backups, plus the newest backup of each of the `daily` most
 * recent days that have one, of the `weekly` most recent ISO weeks (Monday to Sunday) and of the
 * `monthly` most recent months, all in UTC. Written as `"last=7,daily=14,weekly=8,monthly=12"`;
 * a rule left out keeps its default.
 *
 * @module
 */

/** How many backups each rule keeps. */
export interface RetentionPolicy {
  /** The newest N backups. */
  last: number;
  /** The newest backup of each of the D most recent days with a backup. */
  daily: number;
  /** The newest backup of each of the W most recent ISO weeks with a backup. */
  weekly: number;
  /** The newest backup of each of the M most recent months with a backup. */
  monthly: number;
}

/** The default policy: 7 last, 14 daily, 8 weekly, 12 monthly. */
export const DEFAULT_RETENTION: Readonly<RetentionPolicy> = Object.freeze({
  last: 7,
  daily: 14,
  weekly: 8,
  monthly: 12,
});

/**
 * The default rule for partial, safety and other-database backups (`database/backup_class.ts`),
 * applied to each class on its own, apart from full backups: the 7 newest, plus the newest of
 * each of the 7 most recent days that have one.
 */
export const DEFAULT_CLASS_RETENTION: Readonly<RetentionPolicy> = Object.freeze({
  last: 7,
  daily: 7,
  weekly: 0,
  monthly: 0,
});

const RULES = ["last", "daily", "weekly", "monthly"] as const;

/**
 * Parses `"last=7,daily=14,weekly=8,monthly=12"`; rules left out come from `base`.
 *
 * @throws {RangeError} naming the entry that is not `rule=count` with a known rule and a
 * non-negative integer
 */
export function parseRetentionPolicy(
  text: string,
  base: Readonly<RetentionPolicy> = DEFAULT_RETENTION,
): RetentionPolicy {
  const policy: RetentionPolicy = { ...base };
  for (const entry of text.split(",").map((part) => part.trim()).filter(Boolean)) {
    const match = /^([a-z]+)\s*=\s*(\d{1,6})$/.exec(entry);
    const rule = match?.[1] as (typeof RULES)[number] | undefined;
    if (!match || !rule || !RULES.includes(rule)) {
      throw new RangeError(
        `Retention entry "${entry}" must be rule=count with rule one of ${RULES.join(", ")}`,
      );
    }
    policy[rule] = Number(match[2]);
  }
  return policy;
}

/** `"last=7,daily=14,weekly=8,monthly=12"`: a policy as configured. */
export function formatRetentionPolicy(policy: RetentionPolicy): string {
  return RULES.map((rule) => `${rule}=${policy[rule]}`).join(",");
}
