/**
 * When a pg_cron schedule fires next: the five cron fields (numbers, names, `*`, lists, ranges,
 * steps, `$` for the last day of the month, 7 for Sunday), the `@hourly`-style macros and
 * pg_cron's `N seconds`. Times are UTC, pg_cron's default (`cron.timezone` = GMT). Like cron,
 * when both the day of the month and the day of the week are restricted, either may match.
 *
 * @module
 */

const MINUTE = 60_000;
const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

const MACROS: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

/** A parsed five-field schedule. */
interface Fields {
  minutes: Set<number>;
  hours: Set<number>;
  days: Set<number>;
  lastDay: boolean;
  months: Set<number>;
  weekdays: Set<number>;
  /** Day of month or day of week was `*`: both must match (else either). */
  dayStar: boolean;
}

function field(text: string, min: number, max: number, names?: string[]): Set<number> {
  const values = new Set<number>();
  const value = (token: string): number => {
    const index = names?.indexOf(token.toLowerCase()) ?? -1;
    const n = index >= 0 ? index + min : Number(token);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`bad value ${token}`);
    return n;
  };
  for (const part of text.split(",")) {
    const [range, stepText] = part.split("/");
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new Error(`bad step ${part}`);
    let [from, to] = [min, max];
    if (range !== "*") {
      const [a, b] = range.split("-");
      from = value(a);
      to = b === undefined ? (stepText === undefined ? from : max) : value(b);
    }
    for (let n = from; n <= to; n += step) values.add(n);
  }
  return values;
}

function parse(schedule: string): Fields | undefined {
  const text = MACROS[schedule.trim().toLowerCase()] ?? schedule.trim();
  const parts = text.split(/\s+/);
  if (parts.length !== 5) return undefined;
  try {
    const [minute, hour, day, month, weekday] = parts;
    const lastDay = day.split(",").includes("$");
    const plainDays = day.split(",").filter((p) => p !== "$").join(",");
    const weekdays = field(weekday, 0, 7, DAYS);
    if (weekdays.delete(7)) weekdays.add(0);
    return {
      minutes: field(minute, 0, 59),
      hours: field(hour, 0, 23),
      days: plainDays ? field(plainDays, 1, 31) : new Set(),
      lastDay,
      months: field(month, 1, 12, MONTHS),
      weekdays,
      dayStar: day.startsWith("*") || weekday.startsWith("*"),
    };
  } catch {
    return undefined;
  }
}

function dayMatches(f: Fields, at: Date): boolean {
  const date = at.getUTCDate();
  const last = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 0)).getUTCDate();
  const dom = f.days.has(date) || (f.lastDay && date === last);
  const dow = f.weekdays.has(at.getUTCDay());
  return f.dayStar ? dom && dow : dom || dow;
}

/**
 * The next time after `after` that `schedule` fires, or undefined when the schedule is not
 * understood or never fires (such as `0 0 31 2 *`). `lastRun` places pg_cron's `N seconds`
 * schedules.
 */
export function nextRun(
  schedule: string,
  after: Date,
  options: { lastRun?: Date | null } = {},
): Date | undefined {
  const seconds = /^(\d+)\s+seconds?$/i.exec(schedule.trim());
  if (seconds) {
    const every = Number(seconds[1]) * 1000;
    if (!every) return undefined;
    const from = options.lastRun?.getTime() ?? after.getTime();
    const next = from + every;
    return new Date(next > after.getTime() ? next : after.getTime() + every);
  }
  const f = parse(schedule);
  if (!f) return undefined;
  const at = new Date(Math.floor(after.getTime() / MINUTE) * MINUTE + MINUTE);
  // Five years cover every schedule that ever fires (29 February included).
  const limit = after.getTime() + 5 * 366 * 24 * 60 * MINUTE;
  while (at.getTime() <= limit) {
    if (!f.months.has(at.getUTCMonth() + 1)) {
      at.setUTCMonth(at.getUTCMonth() + 1, 1);
      at.setUTCHours(0, 0, 0, 0);
    } else if (!dayMatches(f, at)) {
      at.setUTCDate(at.getUTCDate() + 1);
      at.setUTCHours(0, 0, 0, 0);
    } else if (!f.hours.has(at.getUTCHours())) {
      at.setUTCHours(at.getUTCHours() + 1, 0, 0, 0);
    } else if (!f.minutes.has(at.getUTCMinutes())) {
      at.setUTCMinutes(at.getUTCMinutes() + 1, 0, 0);
    } else {
      return at;
    }
  }
  return undefined;
}
