/**
 * The restore test as the Edge runs it: started over real HTTP, carried out by the functions in
 * a host with the Edge's constraints (`stack/edge_host.ts`) unit by unit within each
 * invocation's budget, continued by the functions themselves. It takes several steps, answers
 * a second request with 409, survives its host being killed midway (resumed from the
 * checkpoint, its scratch database found, finished and dropped), and fails — naming why, with
 * an alert — on a changed row and on a corrupt blob.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { settleBackground } from "../../../shared/jobs/background.ts";
import {
  loadDatabaseManifest,
  newBackupId,
  saveDatabaseManifest,
  slicesDigest,
} from "../../../shared/database/manifest.ts";
import { openRepository } from "../../../shared/repository/open.ts";
import { PLATFORM_TEMPLATE } from "../../../shared/restore_test/mod.ts";
import type { AppTestsReport } from "../../../shared/restore_test/app_tests.ts";
import type { Run } from "../../../shared/runs/mod.ts";
import { type EdgeHost, startEdgeHost } from "../../../stack/edge_host.ts";
import { type LocalStack, startLocalStack } from "../../../stack/local_stack.ts";
import { applySqlFile } from "../../../stack/postgres.ts";
import { seedShop } from "../../../stack/shop_seed.ts";
import { KEYED_ENV } from "../../support/keys.ts";
import { pauseContinueTick } from "../../support/stale_run.ts";

async function post(stack: LocalStack, host: EdgeHost, body: unknown) {
  const response = await fetch(host.functionUrl("trigger-backup"), {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-sauvegarde-secret": stack.env.SAUVEGARDE_CRON_SECRET,
    },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 180_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const found = await check();
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

function finished(stack: LocalStack, runId: string): Promise<Run> {
  return waitFor(`run ${runId}`, async () => {
    const run = await stack.app.store.get(runId);
    return run && ["succeeded", "failed", "cancelled"].includes(run.status) ? run : undefined;
  });
}

async function scratchDatabases(sql: postgres.Sql): Promise<string[]> {
  const rows = await sql`
    select datname from pg_database where datname like 'sauvegarde\\_restore\\_test\\_%'`;
  return rows.map((row) => row.datname as string);
}

function startHost(stack: LocalStack, env: Record<string, string> = {}) {
  // A budget of 1 byte: every unit that moves rows ends its step, so even this shop's restore
  // test takes many steps (the CPU limit is the Free plan's as well).
  return startEdgeHost({ env: { ...stack.env, SAUVEGARDE_STEP_BYTES: "1", ...env } });
}

/** The project's pgTAP files: one passes, one holds a test the restored copy fails. */
const APP_TESTS: Record<string, string> = {
  "catalog_test.sql": `begin;
select plan(2);
select has_table('public', 'events', 'events exists');
select has_table('public', 'products', 'products exists');
select * from finish();
rollback;
`,
  "orders/totals_test.sql": `select plan(2);
select ok((select count(*) from public.events) = 40000, 'every event came back');
select is((select count(*)::int from public.events), 39999, 'one event was archived');
`,
};

async function slackText(stack: LocalStack, count: number): Promise<string> {
  await waitFor(
    `${count} Slack messages`,
    () => Promise.resolve(stack.slack!.messages.length >= count ? true : undefined),
    15_000,
  );
  return JSON.stringify(stack.slack!.messages);
}

Deno.test("the Edge's restore test runs in budgeted steps over HTTP, resumes after a kill and fails loudly", async (t) => {
  const stack = await startLocalStack({ slack: true, env: KEYED_ENV });
  const sql = postgres(stack.db.url, { max: 1, onnotice: () => {} });
  let host: EdgeHost | undefined;
  try {
    await pauseContinueTick(sql);
    // What an operator creates once so a Supabase project's backup can be restored beside it.
    await applySqlFile(await stack.db.createDatabase(PLATFORM_TEMPLATE), "supabase_baseline.sql");
    await seedShop(stack.db.url, { products: 300, customers: 50, orders: 400 });
    await sql`create table public.events (id bigint primary key, payload text)`;
    await sql`insert into public.events select i, repeat(md5(i::text), 8)
              from generate_series(1, 40000) i`;
    host = await startHost(stack);

    const backup = await post(stack, host, { kind: "database" });
    assert.equal(backup.status, 202, JSON.stringify(backup.json));
    const backedUp = await finished(stack, backup.json.runId);
    assert.equal(backedUp.status, "succeeded", backedUp.error ?? host.stderr());
    const backupId = backedUp.backupId!;

    await t.step("several budgeted steps, every table checked, nothing left behind", async () => {
      const { status, json } = await post(stack, host!, { kind: "restore_test" });
      assert.equal(status, 202, JSON.stringify(json));
      assert.notEqual(json.waitsForWorker, true, "the Edge runs the restore test itself");
      const run = await finished(stack, json.runId);
      assert.equal(run.status, "succeeded", `${run.error ?? ""}\n${host!.stderr()}`);
      const steps = host!.steps.filter((s) => s.runId === json.runId);
      assert.ok(steps.length >= 5, `took ${steps.length} steps`);
      assert.equal(steps.length, run.attempts, "every step ran in the constrained host");
      assert.equal(run.details.steps, run.attempts);
      assert.equal(run.details.backupId, backupId);
      assert.deepEqual(run.details.mismatches, []);
      assert.deepEqual(run.details.objectMismatches, []);
      assert.ok((run.details.tables as number) >= 8, `${run.details.tables} tables checked`);
      assert.ok(Number(run.details.rows) >= 40_000, `${run.details.rows} rows read back`);
      assert.ok(Number(run.details.seconds) > 0, "the RTO is recorded");
      assert.deepEqual(await scratchDatabases(sql), []);
    });

    await t.step("a second request while one is live is answered 409", async () => {
      const first = await post(stack, host!, { kind: "restore_test" });
      assert.equal(first.status, 202, JSON.stringify(first.json));
      const second = await post(stack, host!, { kind: "restore_test" });
      assert.equal(second.status, 409, JSON.stringify(second.json));
      assert.match(JSON.stringify(second.json), /restore_test|restore test|already/i);
      const run = await finished(stack, first.json.runId);
      assert.equal(run.status, "succeeded", run.error ?? "");
    });

    await t.step(
      "a step killed midway: the next one resumes, the scratch database goes",
      async () => {
        const { json } = await post(stack, host!, { kind: "restore_test" });
        const runId = json.runId as string;
        // Kill the host while it loads or checks tables (its scratch database half-filled).
        await waitFor("the restore test loading", async () => {
          const run = await stack.app.store.get(runId);
          const progress = run?.checkpoint.restoreTest as
            | { phase: string; table: number }
            | undefined;
          return progress && ["load", "post", "check"].includes(progress.phase) &&
              progress.table >= 1
            ? true
            : undefined;
        });
        await host!.kill();
        const left = await stack.app.store.get(runId);
        assert.equal(left?.status, "running", "the killed step never finished its run");
        assert.equal((await scratchDatabases(sql)).length, 1, "the killed step left its database");
        // Time passes: the run's heartbeat goes stale, so a new invocation may take it over.
        await sql`update public.backup_runs set heartbeat_at = now() - interval '1 hour'
                where id = ${runId}`;
        host = await startHost(stack);
        const resumed = await post(stack, host, { continue: runId });
        assert.equal(resumed.status, 202, JSON.stringify(resumed.json));
        const run = await finished(stack, runId);
        assert.equal(run.status, "succeeded", `${run.error ?? ""}\n${host.stderr()}`);
        assert.deepEqual(run.details.mismatches, []);
        assert.ok(host.steps.some((s) => s.runId === runId), "the new host finished it");
        assert.deepEqual(await scratchDatabases(sql), []);
      },
    );

    await t.step(
      "a failing pgTAP test of the project fails the run, naming it, and alerts",
      async () => {
        const dir = await Deno.makeTempDir({ prefix: "sauvegarde_app_tests_" });
        for (const [name, text] of Object.entries(APP_TESTS)) {
          await Deno.mkdir(`${dir}/${name}`.replace(/\/[^/]+$/, ""), { recursive: true });
          await Deno.writeTextFile(`${dir}/${name}`, text);
        }
        // What the deployed function carries (config.toml's static_files), as the host sees it.
        const tested = await startHost(stack, { SAUVEGARDE_APP_TESTS_DIR: dir });
        try {
          const before = stack.slack!.messages.length;
          const { status, json } = await post(stack, tested, { kind: "restore_test" });
          assert.equal(status, 202, JSON.stringify(json));
          const run = await finished(stack, json.runId);
          assert.equal(run.status, "failed", "a failing app test fails the restore test");
          assert.ok(tested.steps.some((s) => s.runId === json.runId), "the host ran it");
          assert.match(run.error ?? "", /orders\/totals_test\.sql/);
          assert.match(run.error ?? "", /one event was archived/);
          assert.doesNotMatch(
            run.error ?? "",
            /every event came back/,
            "passing tests are not named",
          );
          assert.deepEqual(run.details.mismatches, [], "the data itself restored faithfully");
          const report = run.details.appTests as AppTestsReport;
          assert.deepEqual([report.files, report.tests, report.passed], [2, 4, 3]);
          assert.deepEqual(report.failures.map((f) => f.file), ["orders/totals_test.sql"]);
          const text = await slackText(stack, before + 1);
          assert.match(text, /Restore test failed/);
          assert.match(text, /one event was archived/);
          assert.deepEqual(await scratchDatabases(sql), []);
        } finally {
          await tested.stop();
          await Deno.remove(dir, { recursive: true });
        }
      },
    );

    const opened = await openRepository(
      "local",
      stack.app.config.targets.local,
      stack.app.config,
    );
    try {
      const manifest = await loadDatabaseManifest(opened.repository, backupId);
      const events = manifest.tables.find((table) => table.name === "events")!;
      assert.ok((events.slices?.length ?? 0) >= 3, "the events table was backed up in slices");

      await t.step("a row that differs from the backup's fails the run, naming it", async () => {
        // The backup's record of one slice no longer matches its rows: a row changed.
        const changed = structuredClone(manifest);
        changed.backupId = newBackupId(new Date(Date.now() + 2_000));
        const table = changed.tables.find((one) => one.name === "events")!;
        table.slices![1].sha256 = "0".repeat(64);
        table.sha256 = await slicesDigest(table.slices!);
        await saveDatabaseManifest(opened.repository, changed);
        const before = stack.slack!.messages.length;
        const { json } = await post(stack, host!, { kind: "restore_test" });
        const run = await finished(stack, json.runId);
        assert.equal(run.status, "failed");
        assert.match(run.error ?? "", /public\.events/);
        assert.match(run.error ?? "", /slice 2 of/);
        assert.equal(run.details.backupId, changed.backupId);
        assert.match(await slackText(stack, before + 1), /Restore test failed/);
        assert.deepEqual(await scratchDatabases(sql), []);
      });

      await t.step("a corrupt blob fails the run, naming it, and alerts", async () => {
        const blob = events.blobs[Math.floor(events.blobs.length / 2)];
        const path = await findFile(stack.localTargetDir, blob.id);
        const bytes = await Deno.readFile(path);
        bytes[bytes.length - 5] ^= 0xff;
        await Deno.writeFile(path, bytes);
        const before = stack.slack!.messages.length;
        const { json } = await post(stack, host!, { kind: "restore_test" });
        const run = await finished(stack, json.runId);
        assert.equal(run.status, "failed");
        assert.match(run.error ?? "", /public\.events/);
        assert.match(run.error ?? "", new RegExp(blob.id.slice(0, 12)));
        const text = await slackText(stack, before + 1);
        assert.match(text, /Restore test failed/);
        assert.match(text, /public\.events/);
        assert.deepEqual(await scratchDatabases(sql), []);
      });
    } finally {
      await opened.target.close();
    }
  } finally {
    await host?.stop();
    await sql.end();
    await settleBackground();
    await stack.stop();
  }
});

/** The path of the file named `name` under `dir`. */
async function findFile(dir: string, name: string): Promise<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isFile && entry.name === name) return path;
    if (entry.isDirectory) {
      const found = await findFile(path, name).catch(() => undefined);
      if (found) return found;
    }
  }
  throw new Error(`No file ${name} under ${dir}`);
}
