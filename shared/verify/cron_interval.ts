/**
 * How often a pg_cron schedule fires, roughly: enough to tell a frequent schedule from a
 * daily one and to know when a job should have run by. Not a full cron evaluator.
 *
 * @module
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * The typical time between two runs of a schedule, in ms: pg_cron's "N seconds" form or
 * five cron fields. Undefined when the schedule is not understood.
 */
export function scheduleIntervalMs(schedule: string): number | undefined {
  const text = schedule.trim();
  const seconds = /^(\d+)\s+seconds?$/i.exec(text);
  if (seconds) return Number(seconds[1]) * 1000;
  if (/^@(hourly)$/i.test(text)) return HOUR;
  if (/^@(daily|midnight)$/i.test(text)) return DAY;
  if (/^@weekly$/i.test(text)) return 7 * DAY;
  if (/^@(monthly)$/i.test(text)) return 31 * DAY;
  if (/^@(yearly|annually)$/i.test(text)) return 365 * DAY;
  const fields = text.split(/\s+/);
  if (fields.length !== 5) return undefined;
  const [minute, hour, dayOfMonth, , dayOfWeek] = fields;
  const everyMinutes = spacing(minute, 60);
  if (everyMinutes === undefined) return undefined;
  if (minute === "*" || minute.includes("/") || minute.includes(",") || minute.includes("-")) {
    if (hour === "*") return everyMinutes * MINUTE;
  }
  const everyHours = spacing(hour, 24);
  if (everyHours === undefined) return undefined;
  if (hour === "*" || hour.includes("/") || hour.includes(",") || hour.includes("-")) {
    if (dayOfMonth === "*" && dayOfWeek === "*") return everyHours * HOUR;
  }
  if (dayOfMonth === "*" && dayOfWeek === "*") return DAY;
  if (dayOfMonth === "*") {
    const days = spacing(dayOfWeek, 7);
    return days === undefined ? undefined : days * DAY;
  }
  const days = spacing(dayOfMonth, 31);
  return days === undefined ? undefined : days * DAY;
}

/** The typical spacing of a cron field's values over a cycle of `range` units. */
function spacing(field: string, range: number): number | undefined {
  if (field === "*") return 1;
  const step = /^\*\/(\d+)$/.exec(field);
  if (step) return Number(step[1]) || undefined;
  const rangeStep = /^(\d+)-(\d+)(?:\/(\d+))?$/.exec(field);
  if (rangeStep) {
    const count =
      Math.floor((Number(rangeStep[2]) - Number(rangeStep[1])) / Number(rangeStep[3] ?? 1)) + 1;
    return count > 0 ? range / count : undefined;
  }
  if (/^\d+(,\d+)*$/.test(field)) return range / field.split(",").length;
  return undefined;
}
