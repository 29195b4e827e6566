import assert from "node:assert/strict";
import postgres from "postgres";
import { startLocalStack } from "../../../stack/local_stack.ts";
import { blobKey } from "../../../shared/repository/mod.ts";
import type { Config } from "../../../shared/config/mod.ts";
import {
  type CheckResult,
  manifestFacts,
  verifyBackups,
  type VerifyReport,
} from "../../../shared/verify/mod.ts";
import {
  copyTarget,
  createShop,
  databaseBackup,
  openTargets,
  recordRun,
  storageSnapshot,
} from "../../support/verify_fixture.ts";

const DAY = 86_400_000;

Deno.test("verification: every check's pass and fail paths against real targets", async (t) => {
  const stack = await startLocalStack({ s3: true });
  const sql = postgres(stack.db.url, { max: 2, onnotice: () => {} });
  const config = stack.app.config;
  const targets = openTargets(config);
  const verify = (
    options: {
      config?: Partial<Config>;
      only?: string[];
      sample?: number | "all";
      rotation?: number;
    } = {},
  ) =>
    verifyBackups(
      { sql: stack.app.sql, store: stack.app.store, config: { ...config, ...options.config } },
      {
        alerts: false,
        sample: options.sample ?? "all",
        only: options.only,
        rotation: options.rotation,
      },
    );
  const check = (report: VerifyReport, id: string): CheckResult => {
    const found = report.checks.find((c) => c.id === id);
    assert.ok(found, `no check ${id} in ${report.checks.map((c) => c.id).join(", ")}`);
    return found;
  };
  try {
    const shop = await createShop((name) => stack.db.createDatabase(name));
    const now = Date.now();
    const db = await databaseBackup(shop, targets);
    for (let i = 5; i >= 1; i--) {
      await recordRun(sql, {
        kind: "database",
        bytes: db.bytes + i * 100,
        finishedAt: new Date(now - i * DAY),
      });
    }
    await recordRun(sql, { kind: "database", backupId: db.backupId, bytes: db.bytes });
    const snap = await storageSnapshot(targets);
    await recordRun(sql, { kind: "storage", backupId: snap.snapshotId, bytes: snap.bytes });
    const restoreTest = await recordRun(sql, {
      kind: "restore_test",
      finishedAt: new Date(now - 2 * DAY),
    });

    await t.step(
      "with sound backups every check passes but authenticity, without keys",
      async () => {
        const report = await verify();
        const notOk = report.checks.filter((c) => c.status !== "ok");
        // Keyless backups are sound but unauthenticated: the one thing that fails, loudly.
        assert.deepEqual(notOk.map((c) => c.id), ["authenticity.database", "authenticity.storage"]);
        assert.equal(report.status, "fail");
        assert.match(
          check(report, "authenticity.database").summary,
          new RegExp(
            `^The latest database backup ${db.backupId} is not authenticated on targets local, s3: ` +
              "its manifest is not sealed with a configured key.*scheduled restore tests will not restore it$",
          ),
        );
        assert.match(check(report, "authenticity.storage").nextStep!, /SAUVEGARDE_ENCRYPTION_KEYS/);
        assert.match(
          check(report, "freshness.database").summary,
          /^The latest database backup is \d+ s old, within the 24 h objective$/,
        );
        assert.match(
          check(report, "integrity.database").summary,
          new RegExp(
            `${db.backupId} validates on 2 targets: \\d+ parts present with the right sizes, \\d+ read back and re-hashed`,
          ),
        );
        assert.match(
          check(report, "replication.database").summary,
          /has 3 copies \(the project and local, s3\) on 2 kinds of storage, 1 offsite/,
        );
        assert.ok(check(report, "freshness.target.s3"));
        const [run] =
          await sql`select kind, status, details from backup_runs where id = ${report.runId}`;
        assert.equal(run.kind, "verify");
        assert.equal(run.status, "failed", "a failing check fails the verify run");
        assert.equal(run.details.checks.length, report.checks.length);
      },
    );

    await t.step(
      "freshness: beyond the objective fails, or warns while a backup runs",
      async () => {
        await new Promise((r) => setTimeout(r, 1100));
        let report = await verify({
          config: { objectives: { database: 1000 } },
          only: ["freshness"],
        });
        assert.equal(report.status, "fail");
        assert.match(
          check(report, "freshness.database").summary,
          /beyond the 1 s objective, and none is running/,
        );
        assert.equal(check(report, "freshness.database").status, "fail");
        assert.equal(check(report, "freshness.target.local").status, "fail");
        assert.ok(check(report, "freshness.database").nextStep);
        const [live] =
          await sql`insert into backup_runs (kind, status, trigger, started_at, heartbeat_at)
                               values ('database', 'running', 'cron', now(), now()) returning id`;
        report = await verify({
          config: { objectives: { database: 1000 } },
          only: ["freshness.database"],
        });
        assert.equal(check(report, "freshness.database").status, "warn");
        assert.match(
          check(report, "freshness.database").summary,
          new RegExp(`one is running now \\(run ${live.id}\\)`),
        );
        await sql`delete from backup_runs where id = ${live.id}`;
      },
    );

    await t.step(
      "freshness: a frequent schedule tightens the default objective to 15 min",
      async () => {
        await sql`select public.sauvegarde_set_schedule('database-backup-frequent', '*/15 * * * *')`;
        const report = await verify({ only: ["freshness.database"] });
        assert.equal(check(report, "freshness.database").details?.objectiveMs, 15 * 60_000);
        assert.equal(
          check(report, "freshness.database").details?.objectiveSource,
          "frequent schedule",
        );
        await sql`select public.sauvegarde_set_schedule('database-backup-frequent', null)`;
      },
    );

    await t.step(
      "integrity: a part deleted on one target fails and replication says which copy",
      async () => {
        const manifest = JSON.parse(
          await new Response(await targets.local.load(`manifests/database/${db.backupId}.json`))
            .text(),
        );
        const victim = manifest.tables.find((table: { blobs: unknown[] }) =>
          table.blobs.length
        ).blobs[0].id;
        await targets.s3.remove(blobKey(victim));
        const report = await verify({ only: ["integrity", "replication"] });
        const integrity = check(report, "integrity.database");
        assert.equal(integrity.status, "fail");
        assert.match(
          integrity.summary,
          new RegExp(`on target s3 1 of \\d+ parts are missing \\(${victim.slice(0, 12)}\\)`),
        );
        const replication = check(report, "replication.database");
        assert.equal(replication.status, "warn");
        assert.match(
          replication.summary,
          /a complete copy on target s3 \(parts missing or wrong\)/,
        );
        assert.match(replication.summary, /1 more copy/);
        await copyTarget(targets.local, targets.s3, [blobKey(victim)]);
        assert.equal((await verify({ only: ["integrity.database"] })).status, "ok");
      },
    );

    await t.step(
      "integrity: one flipped byte is caught by reading back, not by sizes",
      async () => {
        const manifest = JSON.parse(
          await new Response(await targets.local.load(`manifests/database/${db.backupId}.json`))
            .text(),
        );
        const ids: string[] = manifest.tables.flatMap((table: { blobs: Array<{ id: string }> }) =>
          table.blobs.map((b) => b.id)
        ).sort();
        const victim = ids[0];
        const path = `${stack.localTargetDir}/${blobKey(victim)}`;
        const bytes = await Deno.readFile(path);
        bytes[bytes.length >> 1] ^= 0x01;
        await Deno.writeFile(path, bytes);
        const sizesOnly = await verify({ only: ["integrity.database"], sample: 0 });
        assert.equal(sizesOnly.status, "ok", "same size: presence checks cannot see it");
        const report = await verify({ only: ["integrity.database"] });
        const integrity = check(report, "integrity.database");
        assert.equal(integrity.status, "fail");
        assert.match(
          integrity.summary,
          new RegExp(`on target local part ${victim.slice(0, 12)} is corrupt`),
        );
        assert.doesNotMatch(integrity.summary, /on target s3/, "the S3 copy is sound");
        const facts = manifestFacts("database", db.backupId, manifest);
        const at = facts.blobs.findIndex((blob) => blob.id === victim);
        const window = (rotation: number) =>
          verify({ only: ["integrity.database"], sample: 1, rotation });
        assert.equal((await window(at)).status, "fail", "the rotating sample reaches it in turn");
        assert.equal((await window(at + 1)).status, "ok", "another window reads another part");
        bytes[bytes.length >> 1] ^= 0x01;
        await Deno.writeFile(path, bytes);
      },
    );

    await t.step("integrity: an invalid manifest and missing encryption fail", async () => {
      const key = `manifests/storage/${snap.snapshotId}.json`;
      const original = new Uint8Array(await new Response(await targets.s3.load(key)).arrayBuffer());
      const broken = new TextEncoder().encode(
        JSON.stringify({ version: 1, kind: "storage", id: snap.snapshotId }),
      );
      await targets.s3.save(key, broken, { size: broken.length });
      let report = await verify({ only: ["integrity.storage"] });
      assert.match(
        check(report, "integrity.storage").summary,
        /on target s3 its manifest is invalid/,
      );
      await targets.s3.save(key, original, { size: original.length });
      report = await verify({ only: ["integrity"], config: { requireEncryption: true } });
      assert.match(
        check(report, "integrity.database").summary,
        /not encrypted, but the configuration requires encryption/,
      );
      assert.match(check(report, "integrity.database").summary, /sampled parts are not encrypted/);
    });

    await t.step("runs: a run stuck in running fails", async () => {
      const [stuck] =
        await sql`insert into backup_runs (kind, status, trigger, started_at, heartbeat_at)
                                values ('config_backup', 'running', 'cron', now() - interval '2 hours',
                                        now() - interval '1 hour') returning id`;
      const report = await verify({ only: ["runs.stuck"] });
      assert.equal(report.status, "fail");
      assert.match(
        check(report, "runs.stuck").summary,
        new RegExp(
          `1 run is stuck: config_backup run ${stuck.id} \\(running, last heartbeat 60 min ago\\)`,
        ),
      );
      await sql`update backup_runs set status = 'cancelled', finished_at = now() where id = ${stuck.id}`;
      assert.equal((await verify({ only: ["runs.stuck"] })).status, "ok");
    });

    await t.step("runs: the latest run failing fails, an earlier failure warns", async () => {
      const failed = await recordRun(sql, {
        kind: "storage",
        status: "failed",
        error: "Storage answered 403 for bucket avatars",
      });
      let report = await verify({ only: ["runs.failures"] });
      const failures = check(report, "runs.failures.storage");
      assert.equal(failures.status, "fail");
      assert.match(
        failures.summary,
        new RegExp(
          `The latest Storage snapshot failed \\d+ s ago \\(run ${failed}\\): Storage answered 403`,
        ),
      );
      await new Promise((r) => setTimeout(r, 10));
      await recordRun(sql, { kind: "storage", backupId: snap.snapshotId, bytes: snap.bytes });
      report = await verify({ only: ["runs.failures.storage"] });
      assert.equal(check(report, "runs.failures.storage").status, "warn");
      assert.match(
        check(report, "runs.failures.storage").summary,
        /1 Storage snapshot failed in the last 24 h, but a later one succeeded/,
      );
    });

    await t.step("runs: a backup far smaller than the median warns", async () => {
      let report = await verify({ only: ["runs.size.database"] });
      assert.equal(check(report, "runs.size.database").status, "ok");
      const tiny = await recordRun(sql, { kind: "database", backupId: db.backupId, bytes: 10 });
      report = await verify({ only: ["runs.size.database"] });
      assert.equal(check(report, "runs.size.database").status, "warn");
      assert.match(check(report, "runs.size.database").summary, /far smaller|× smaller/);
      await sql`update backup_runs set bytes = ${db.bytes} where id = ${tiny}`;
    });

    await t.step("schedules: a removed cron job fails, a failed or late one warns", async () => {
      assert.equal((await verify({ only: ["schedules"] })).status, "ok");
      await sql`select cron.unschedule('sauvegarde-storage-snapshot')`;
      let report = await verify({ only: ["schedules"] });
      assert.equal(report.status, "fail");
      assert.match(
        check(report, "schedules").summary,
        /sauvegarde-storage-snapshot is missing from cron.job/,
      );
      await sql`select public.sauvegarde_set_schedule('storage-snapshot', '0 3 * * *')`;
      const [job] =
        await sql`select jobid from cron.job where jobname = 'sauvegarde-database-backup'`;
      await sql`insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, status, return_message, start_time, end_time)
                values (${job.jobid}, nextval('cron.runid_seq'), 1, 'postgres', 'postgres', 'select 1', 'failed',
                        'ERROR: Sauvegarde needs the Vault secrets', now() - interval '1 hour', now() - interval '1 hour')`;
      report = await verify({ only: ["schedules"] });
      assert.equal(check(report, "schedules").status, "warn");
      assert.match(
        check(report, "schedules").summary,
        /sauvegarde-database-backup failed on its last run 60 min ago \(ERROR: Sauvegarde needs the Vault secrets\)/,
      );
      await sql`insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, status, return_message, start_time, end_time)
                values (${job.jobid}, nextval('cron.runid_seq'), 1, 'postgres', 'postgres', 'select 1', 'succeeded',
                        '1 row', now() - interval '3 days', now() - interval '3 days')`;
      report = await verify({ only: ["schedules"] });
      assert.match(
        check(report, "schedules").summary,
        /sauvegarde-database-backup last ran 3 days ago, though scheduled every 24 h/,
      );
      await sql`insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, status, return_message, start_time, end_time)
                values (${job.jobid}, nextval('cron.runid_seq'), 1, 'postgres', 'postgres', 'select 1', 'succeeded',
                        '1 row', now() - interval '1 hour', now() - interval '1 hour')`;
      report = await verify({
        only: ["schedules"],
        config: { cronJobs: ["sauvegarde-database-backup", "sauvegarde-nightly-extra"] },
      });
      assert.match(
        check(report, "schedules").summary,
        /^Schedules need attention: sauvegarde-nightly-extra is missing from cron.job$/,
      );
      // A long history: the newest 10,000 rows (3 days of a minutely job) no longer show the
      // daily job's run, so it is overdue; the check reads only that window.
      await sql`insert into cron.job_run_details (jobid, runid, job_pid, database, username, command,
                                                  status, return_message, start_time, end_time)
                select j.jobid, nextval('cron.runid_seq'), 1, 'postgres', 'postgres', 'select 1',
                       'succeeded', '1 row', now() - (10000 - g) * interval '26 seconds',
                       now() - (10000 - g) * interval '26 seconds'
                from generate_series(1, 10000) g
                join cron.job j on j.jobname = 'sauvegarde-continue'`;
      report = await verify({ only: ["schedules"] });
      assert.equal(check(report, "schedules").status, "warn");
      assert.match(
        check(report, "schedules").summary,
        /sauvegarde-database-backup has not run since before \S+Z, though scheduled every 24 h/,
      );
    });

    await t.step("restore test: older than 31 days fails, none ever fails", async () => {
      await sql`update backup_runs set finished_at = now() - interval '40 days' where id = ${restoreTest}`;
      let report = await verify({ only: ["restore_test"] });
      assert.equal(report.status, "fail");
      assert.match(
        check(report, "restore_test").summary,
        /was 40 days ago, older than the 31 days limit/,
      );
      await sql`delete from backup_runs where id = ${restoreTest}`;
      report = await verify({ only: ["restore_test"] });
      assert.match(check(report, "restore_test").summary, /No restore test has ever succeeded/);
    });

    await t.step(
      "a target that cannot be reached fails its own checks, not verification",
      async () => {
        const report = await verify({
          config: {
            targets: {
              ...config.targets,
              gone: "s3://no-such-bucket/x?endpoint=http%3A%2F%2F127.0.0.1%3A9",
            },
          },
          only: ["freshness.target", "integrity.database"],
        });
        assert.equal(check(report, "freshness.target.gone").status, "fail");
        assert.match(check(report, "freshness.target.gone").summary, /could not be listed/);
        assert.equal(check(report, "freshness.target.local").status, "ok");
      },
    );
  } finally {
    await Promise.all(Object.values(targets).map((target) => target.close()));
    await sql.end();
    await stack.stop();
  }
});
