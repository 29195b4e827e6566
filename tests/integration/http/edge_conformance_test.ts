/**
 * Edge conformance: the functions served by a host with the Edge's constraints
 * (`stack/edge_host.ts`: no subprocess, no FFI, writes only under the temporary directory, no
 * Web Workers, no `node:vm`, V8 heap capped at 256 MB) run the budgeted paths over real HTTP
 * against a local stack's database and targets — a database backup in several steps, a Storage
 * snapshot, and a restore test — with no permission error;
 * and the host really refuses what the Edge forbids.
 */
import assert from "node:assert/strict";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import postgres from "postgres";
import { type LocalStack, startLocalStack } from "../../../stack/local_stack.ts";
import { type EdgeHost, startEdgeHost } from "../../../stack/edge_host.ts";
import { seedShop } from "../../../stack/shop_seed.ts";
import { settleBackground } from "../../../shared/jobs/background.ts";
import { pauseContinueTick } from "../../support/stale_run.ts";
import { sdkClient } from "../../support/sdk_client.ts";
import { KEYED_ENV } from "../../support/keys.ts";
import { applySqlFile } from "../../../stack/postgres.ts";
import { PLATFORM_TEMPLATE } from "../../../shared/restore_test/mod.ts";

const PERMISSION_ERROR = /NotCapable|PermissionDenied|Requires \w+ access|--allow-|is not defined/;

async function post(stack: LocalStack, host: EdgeHost, fn: string, body: unknown) {
  const response = await fetch(host.functionUrl(fn), {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-sauvegarde-secret": stack.env.SAUVEGARDE_CRON_SECRET,
    },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

async function waitForRun(stack: LocalStack, runId: string, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const run = await stack.app.store.get(runId);
    if (run && ["succeeded", "failed", "cancelled"].includes(run.status)) return run;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`Run ${runId} did not finish in ${timeoutMs} ms`);
}

Deno.test("the functions run their budgeted paths under the Edge's constraints", async (t) => {
  // Keyed: a restore test runs only backups sealed with a configured key.
  const stack = await startLocalStack({ storage: true, env: KEYED_ENV });
  const sql = postgres(stack.db.url, { max: 1, onnotice: () => {} });
  let host: EdgeHost | undefined;
  try {
    // Only the constrained host may run the runs: the stack's own (unconstrained) host is
    // what the minutely continue tick calls.
    await pauseContinueTick(sql);
    host = await startEdgeHost({
      // One slice (at least 1 MiB) per step: several steps even for a small shop.
      env: { ...stack.env, SAUVEGARDE_STEP_BYTES: "1" },
    });
    const edge = host;

    await t.step(
      "the host refuses a subprocess, FFI, a write outside /tmp, workers, node:vm",
      async () => {
        const probe = await edge.probe();
        assert.match(probe.subprocess, /^refused: NotCapable/, probe.subprocess);
        assert.match(probe.ffi, /^refused: NotCapable/, probe.ffi);
        assert.match(probe.writeOutsideTmp, /^refused: NotCapable/, probe.writeOutsideTmp);
        assert.equal(probe.writeTmp, "allowed");
        assert.match(probe.worker, /^refused: /, probe.worker);
        assert.match(probe.nodeVm, /^refused: .*not available on the Edge/, probe.nodeVm);
        assert.ok(
          probe.heapLimitMb >= 240 && probe.heapLimitMb <= 300,
          `V8 heap capped near 256 MB (${probe.heapLimitMb} MB)`,
        );
      },
    );

    let backupId = "";
    await t.step("a database backup in several budgeted steps", async () => {
      await seedShop(stack.db.url, { products: 300, customers: 50, orders: 400 });
      await sql`create table public.events (id bigint primary key, payload text)`;
      await sql`insert into public.events select i, repeat(md5(i::text), 8)
                from generate_series(1, 40000) i`;
      const { status, json } = await post(stack, edge, "trigger-backup", { kind: "database" });
      assert.equal(status, 202, JSON.stringify(json));
      const run = await waitForRun(stack, json.runId);
      assert.equal(run.status, "succeeded", `${run.error ?? ""}\n${edge.stderr()}`);
      assert.ok(run.attempts >= 3, `took ${run.attempts} steps`);
      const steps = edge.steps.filter((s) => s.runId === json.runId);
      assert.equal(steps.length, run.attempts, "every step ran in the constrained host");
      backupId = run.backupId!;
    });

    await t.step("a Storage snapshot run", async () => {
      const client = sdkClient(stack.storage!);
      try {
        for (const bucket of ["avatars", "documents"]) await stack.storage!.createBucket(bucket);
        for (let i = 0; i < 20; i++) {
          await client.send(
            new PutObjectCommand({
              Bucket: i % 2 ? "avatars" : "documents",
              Key: `k/${i}`,
              Body: `object ${i} `.repeat(100 * (i + 1)),
            }),
          );
        }
      } finally {
        client.destroy();
      }
      await sql`insert into storage.buckets (id, name, public)
                values ('avatars', 'avatars', true), ('documents', 'documents', false)`;
      const { status, json } = await post(stack, edge, "storage-snapshot", {});
      assert.equal(status, 202, JSON.stringify(json));
      const run = await waitForRun(stack, json.runId);
      assert.equal(run.status, "succeeded", `${run.error ?? ""}\n${edge.stderr()}`);
      assert.equal(run.items, 20);
      assert.ok(edge.steps.some((s) => s.runId === json.runId && s.kind === "storage"));
    });

    {
      await t.step("a restore test", async () => {
        assert.ok(backupId);
        // What an operator creates once so a Supabase project's backup restores beside it.
        await applySqlFile(
          await stack.db.createDatabase(PLATFORM_TEMPLATE),
          "supabase_baseline.sql",
        );
        const { status, json } = await post(stack, edge, "trigger-backup", {
          kind: "restore_test",
        });
        assert.equal(status, 202, JSON.stringify(json));
        assert.notEqual(json.waitsForWorker, true, "the Edge runs its restore test itself");
        const runId = json.runId ?? json.runs?.[0]?.runId;
        const run = await waitForRun(stack, runId, 300_000);
        assert.equal(run.status, "succeeded", `${run.error ?? ""}\n${edge.stderr()}`);
        assert.ok(edge.steps.some((s) => s.runId === runId && s.kind === "restore_test"));
      });
    }

    await t.step("no permission error anywhere in the host's output", () => {
      assert.doesNotMatch(edge.stderr(), PERMISSION_ERROR, edge.stderr());
    });
  } finally {
    await host?.stop();
    await sql.end();
    await settleBackground();
    await stack.stop();
  }
});
