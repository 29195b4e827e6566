import assert from "node:assert/strict";
import { loadConfig } from "../../../shared/config/mod.ts";
import {
  hourRotation,
  idTime,
  offsiteTargets,
  rotatingSample,
  scheduleIntervalMs,
} from "../../../shared/verify/mod.ts";
import { median } from "../../../shared/verify/checks/size_anomaly.ts";

const MIN = 60_000;

Deno.test("schedule intervals: pg_cron's seconds form and five cron fields", () => {
  const cases: Array<[string, number | undefined]> = [
    ["*/15 * * * *", 15 * MIN],
    ["* * * * *", MIN],
    ["0,30 * * * *", 30 * MIN],
    ["0 * * * *", 60 * MIN],
    ["0 */6 * * *", 360 * MIN],
    ["0 2 * * *", 1440 * MIN],
    ["30 4 * * 0", 7 * 1440 * MIN],
    ["0 3 1 * *", 31 * 1440 * MIN],
    ["30 seconds", 30_000],
    ["@hourly", 60 * MIN],
    ["every tuesday", undefined],
  ];
  for (const [schedule, expected] of cases) {
    assert.equal(scheduleIntervalMs(schedule), expected, schedule);
  }
});

Deno.test("the rotating sample moves a window over every blob in turn", () => {
  const items = Array.from({ length: 10 }, (_, i) => i);
  assert.deepEqual(rotatingSample(items, 4, 0), [0, 1, 2, 3]);
  assert.deepEqual(rotatingSample(items, 4, 1), [4, 5, 6, 7]);
  assert.deepEqual(rotatingSample(items, 4, 2), [8, 9, 0, 1]);
  const seen = new Set<number>();
  for (let r = 0; r < 3; r++) for (const i of rotatingSample(items, 4, r)) seen.add(i);
  assert.equal(seen.size, 10, "three windows cover all ten");
  assert.deepEqual(rotatingSample(items, "all", 7), items);
  assert.deepEqual(rotatingSample(items, 0, 3), []);
  assert.deepEqual(rotatingSample([], 4, 3), []);
  assert.equal(hourRotation(new Date("1970-01-01T05:30:00Z")), 5);
});

Deno.test("offsite: named targets, else S3 away from the primary", () => {
  const auto = loadConfig({
    SAUVEGARDE_TARGETS:
      "local=file:///var/backups,same=s3://aaa/x,other=s3://bbb/y?region=eu-west-1,far=s3://ccc/z?endpoint=https%3A%2F%2Fs3.example.net",
    S3_REGION: "us-east-1",
  });
  assert.deepEqual(offsiteTargets(auto), { local: false, same: true, other: true, far: true });
  const s3First = loadConfig({
    SAUVEGARDE_TARGETS:
      "main=s3://aaa/x,copy=s3://bbb/y,away=s3://ccc/z?region=eu-west-1,disk=file:///mnt/x",
    S3_REGION: "us-east-1",
  });
  assert.deepEqual(offsiteTargets(s3First), {
    main: false,
    copy: false,
    away: true,
    disk: false,
  });
  const named = loadConfig({
    SAUVEGARDE_TARGETS: "local=file:///var/backups,nas=file:///mnt/nas",
    SAUVEGARDE_OFFSITE_TARGETS: "nas",
  });
  assert.deepEqual(offsiteTargets(named), { local: false, nas: true });
});

Deno.test("backup ids carry their time; medians of sizes", () => {
  assert.deepEqual(idTime("20261125T141500Z-ab12cd"), new Date("2026-11-25T14:15:00Z"));
  assert.equal(idTime("latest"), undefined);
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  assert.equal(median([]), undefined);
});

Deno.test("configuration: objectives, repeat interval, offsite names, sample", () => {
  const config = loadConfig({
    SAUVEGARDE_DATABASE_OBJECTIVE: "15m",
    SAUVEGARDE_STORAGE_OBJECTIVE: "1h",
    SAUVEGARDE_ALERT_REPEAT: "30m",
    SAUVEGARDE_RESTORE_TEST_MAX_AGE: "7d",
    SAUVEGARDE_NOTIFY_ON_SUCCESS: "true",
    SAUVEGARDE_OFFSITE_TARGETS: "far, away",
    SAUVEGARDE_CRON_JOBS: "sauvegarde-database-backup",
    SAUVEGARDE_VERIFY_SAMPLE: "all",
  });
  assert.deepEqual(config.objectives, { database: 15 * MIN, storage: 60 * MIN });
  assert.equal(config.alertRepeatMs, 30 * MIN);
  assert.equal(config.restoreTestMaxAgeMs, 7 * 1440 * MIN);
  assert.equal(config.notifyOnSuccess, true);
  assert.deepEqual(config.offsiteTargets, ["far", "away"]);
  assert.deepEqual(config.cronJobs, ["sauvegarde-database-backup"]);
  assert.equal(config.verifySample, "all");
  const defaults = loadConfig({});
  assert.equal(defaults.alertRepeatMs, 4 * 60 * MIN);
  assert.equal(defaults.verifySample, 8);
  assert.equal(defaults.cronJobs, undefined);
  assert.throws(
    () => loadConfig({ SAUVEGARDE_DATABASE_OBJECTIVE: "soon", SAUVEGARDE_VERIFY_SAMPLE: "0" }),
    /SAUVEGARDE_DATABASE_OBJECTIVE must be a duration like "15m"[\s\S]*SAUVEGARDE_VERIFY_SAMPLE/,
  );
});
