/**
 * Where a restore test's scratch database goes: the project's own server when its role may
 * create databases, else SAUVEGARDE_RESTORE_TEST_DB_URL's; on the Edge, where neither may,
 * the run is left to the worker (which Edge claims then skip), and the worker restores it
 * where its own settings point. Nowhere at all fails the run, naming each server and why.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { type App, createApp } from "../../../shared/app/mod.ts";
import { loadConfig } from "../../../shared/config/mod.ts";
import { backupDatabase } from "../../../shared/database/backup/mod.ts";
import { settleBackground } from "../../../shared/jobs/background.ts";
import { executeStep, executeUntilDone, PLAN_BUDGETS } from "../../../shared/jobs/mod.ts";
import { openRepository } from "../../../shared/repository/open.ts";
import { FOR_WORKER } from "../../../shared/runs/mod.ts";
import { STEPS } from "../../../shared/steps/mod.ts";
import { type LocalStack, startLocalStack } from "../../../stack/local_stack.ts";
import { KEYED_ENV } from "../../support/keys.ts";

const PASSWORD = "limited-role-secret-7Qx";

/** A role that may use Sauvegarde's tables (BYPASSRLS, as a project's `postgres`) but not create databases. */
async function limitedUrl(stack: LocalStack): Promise<string> {
  await stack.app.sql.unsafe(
    `create role sauvegarde_limited login nocreatedb bypassrls password '${PASSWORD}' in role postgres`,
  );
  const url = new URL(stack.db.url);
  url.username = "sauvegarde_limited";
  url.password = PASSWORD;
  return url.toString();
}

/** A URL nothing listens on. */
function unreachableUrl(stack: LocalStack): string {
  const url = new URL(stack.db.url);
  url.port = "1";
  url.password = PASSWORD;
  return url.toString();
}

async function backUp(stack: LocalStack): Promise<string> {
  const source = await stack.db.createDatabase("scratch_server_source");
  const sql = postgres(source, { max: 1, onnotice: () => {} });
  try {
    await sql`create table public.items (id int primary key, label text)`;
    await sql`insert into public.items select i, 'item ' || i from generate_series(1, 3000) i`;
  } finally {
    await sql.end();
  }
  const [[name, url]] = Object.entries(stack.app.config.targets);
  const opened = await openRepository(name, url, stack.app.config);
  try {
    return (await backupDatabase({ db: source, repository: opened.repository })).backupId;
  } finally {
    await opened.target.close();
  }
}

/** An app on the stack's runs and targets with its own database settings. */
function appWith(stack: LocalStack, env: Record<string, string>): App {
  return createApp(loadConfig({ ...stack.env, ...env }), { steps: STEPS });
}

async function withStack(fn: (stack: LocalStack, backupId: string) => Promise<void>) {
  const stack = await startLocalStack({ env: KEYED_ENV });
  try {
    await fn(stack, await backUp(stack));
  } finally {
    await settleBackground();
    await stack.stop();
  }
}

Deno.test("the project's server may not create databases: the restore test uses SAUVEGARDE_RESTORE_TEST_DB_URL's, on the Edge too", async () => {
  await withStack(async (stack, backupId) => {
    const app = appWith(stack, {
      SUPABASE_DB_URL: await limitedUrl(stack),
      SAUVEGARDE_RESTORE_TEST_DB_URL: stack.db.url,
    });
    try {
      for (const limits of [PLAN_BUDGETS.worker, PLAN_BUDGETS.free]) {
        const created = await app.store.create({ kind: "restore_test", trigger: "api" });
        const { run } = await executeUntilDone(app.executor, { runId: created.id, limits });
        assert.equal(run?.status, "succeeded", run?.error ?? "");
        assert.equal(run?.backupId, backupId);
        assert.equal(run?.details.scratchServer, "SAUVEGARDE_RESTORE_TEST_DB_URL");
        assert.deepEqual(run?.details.mismatches, []);
      }
    } finally {
      await app.close();
    }
  });
});

Deno.test("no server the Edge may use: the restore test is left to the worker, which Edge steps skip and the worker finishes", async () => {
  await withStack(async (stack, backupId) => {
    const edge = appWith(stack, {
      SUPABASE_DB_URL: await limitedUrl(stack),
      SAUVEGARDE_RESTORE_TEST_DB_URL: unreachableUrl(stack),
    });
    try {
      const created = await edge.store.create({ kind: "restore_test", trigger: "cron" });
      const first = await executeStep(edge.executor, {
        runId: created.id,
        limits: PLAN_BUDGETS.free,
      });
      assert.equal(first.outcome, "continued");
      const left = (await stack.app.store.get(created.id))!;
      assert.equal(left.status, "queued");
      const reason = String(left.details.leftToWorker);
      assert.match(reason, /SUPABASE_DB_URL .*sauvegarde_limited lacks CREATEDB/);
      assert.match(reason, /SAUVEGARDE_RESTORE_TEST_DB_URL .*could not be asked/);
      assert.equal(left.checkpoint[FOR_WORKER], reason);
      assert.doesNotMatch(JSON.stringify(left), new RegExp(PASSWORD), "no password in the row");

      // Edge invocations, by id or by sweep, leave it alone.
      const again = await executeStep(edge.executor, {
        runId: created.id,
        limits: PLAN_BUDGETS.free,
      });
      assert.equal(again.outcome, "busy");
      assert.equal((await edge.store.claimable(["restore_test"])).length, 0);
      assert.equal((await stack.app.store.get(created.id))!.attempts, 1);

      // The worker (its own settings: a server it may create databases on) takes it.
      const { outcome, run } = await executeStep(stack.app.executor, {
        limits: PLAN_BUDGETS.worker,
      });
      assert.equal(run?.id, created.id);
      assert.equal(outcome, "succeeded");
      assert.equal(run?.status, "succeeded", run?.error ?? "");
      assert.equal(run?.backupId, backupId);
      assert.equal(run?.details.scratchServer, "SUPABASE_DB_URL");
    } finally {
      await edge.close();
    }
  });
});

Deno.test("no server may create the scratch database, even for the worker: the run fails naming each one and why", async () => {
  await withStack(async (stack) => {
    const worker = appWith(stack, {
      SUPABASE_DB_URL: await limitedUrl(stack),
      SAUVEGARDE_RESTORE_TEST_DB_URL: unreachableUrl(stack),
    });
    try {
      const created = await worker.store.create({ kind: "restore_test", trigger: "api" });
      const { run } = await executeUntilDone(worker.executor, {
        runId: created.id,
        limits: PLAN_BUDGETS.worker,
      });
      assert.equal(run?.status, "failed");
      assert.match(run?.error ?? "", /No server may create the scratch database/);
      assert.match(run?.error ?? "", /SUPABASE_DB_URL .*lacks CREATEDB/);
      assert.match(run?.error ?? "", /SAUVEGARDE_RESTORE_TEST_DB_URL/);
      assert.doesNotMatch(JSON.stringify(run), new RegExp(PASSWORD));
    } finally {
      await worker.close();
    }
  });
});
