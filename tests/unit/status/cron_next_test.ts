import assert from "node:assert/strict";
import { nextRun } from "../../../shared/status/cron_next.ts";

const at = (iso: string) => new Date(iso);
const next = (schedule: string, after: string, lastRun?: string) =>
  nextRun(schedule, at(after), { lastRun: lastRun ? at(lastRun) : null })?.toISOString();

Deno.test("the next run of a daily, hourly or every-minute schedule is the next matching minute", () => {
  assert.equal(next("0 2 * * *", "2026-12-07T09:41:30Z"), "2026-12-08T02:00:00.000Z");
  assert.equal(next("0 2 * * *", "2026-12-07T01:59:59Z"), "2026-12-07T02:00:00.000Z");
  assert.equal(next("0 2 * * *", "2026-12-07T02:00:00Z"), "2026-12-08T02:00:00.000Z");
  assert.equal(next("0 * * * *", "2026-12-07T09:41:00Z"), "2026-12-07T10:00:00.000Z");
  assert.equal(next("* * * * *", "2026-12-07T09:41:10Z"), "2026-12-07T09:42:00.000Z");
  assert.equal(next("*/15 * * * *", "2026-12-07T09:41:00Z"), "2026-12-07T09:45:00.000Z");
  assert.equal(next("30 4 * * *", "2026-12-31T23:00:00Z"), "2027-01-01T04:30:00.000Z");
});

Deno.test("the next run honours days of the month and week, names, ranges and lists", () => {
  assert.equal(next("0 3 1 * *", "2026-12-07T00:00:00Z"), "2027-01-01T03:00:00.000Z");
  // 2026-12-07 is a Monday.
  assert.equal(next("0 3 * * 0", "2026-12-07T00:00:00Z"), "2026-12-13T03:00:00.000Z");
  assert.equal(next("0 3 * * 7", "2026-12-07T00:00:00Z"), "2026-12-13T03:00:00.000Z");
  assert.equal(next("0 3 * * sun", "2026-12-07T00:00:00Z"), "2026-12-13T03:00:00.000Z");
  assert.equal(next("0 9 * * mon-fri", "2026-12-12T10:00:00Z"), "2026-12-14T09:00:00.000Z");
  assert.equal(next("0 0,12 * * *", "2026-12-07T06:00:00Z"), "2026-12-07T12:00:00.000Z");
  assert.equal(next("0 0 1 jan *", "2026-12-07T06:00:00Z"), "2027-01-01T00:00:00.000Z");
  // Both day fields restricted: either matches, as cron does (the 15th, or a Friday).
  assert.equal(next("0 0 15 * 5", "2026-12-07T06:00:00Z"), "2026-12-11T00:00:00.000Z");
  // pg_cron's "$": the last day of the month.
  assert.equal(next("0 23 $ * *", "2027-02-03T00:00:00Z"), "2027-02-28T23:00:00.000Z");
  assert.equal(next("0 0 29 2 *", "2026-12-07T00:00:00Z"), "2028-02-29T00:00:00.000Z");
  assert.equal(next("@daily", "2026-12-07T06:00:00Z"), "2026-12-08T00:00:00.000Z");
});

Deno.test("pg_cron's seconds schedules run an interval after their last run", () => {
  assert.equal(
    next("30 seconds", "2026-12-07T09:00:10Z", "2026-12-07T09:00:00Z"),
    "2026-12-07T09:00:30.000Z",
  );
  assert.equal(next("30 seconds", "2026-12-07T09:00:10Z"), "2026-12-07T09:00:40.000Z");
});

Deno.test("a schedule that is not understood or never fires has no next run", () => {
  for (const schedule of ["", "every day", "61 * * * *", "* * * *", "0 0 31 2 *", "0 0 * * xyz"]) {
    assert.equal(nextRun(schedule, new Date()), undefined, schedule);
  }
});
