/**
 * Storage snapshot runs end to end on the local stack: the `storage-snapshot` function and
 * `trigger-backup` kind "storage" reach the same engine, runs are recorded in `backup_runs`,
 * snapshots pair with database backups and report broken links, and bucket settings come back
 * with a restore.
 */
import assert from "node:assert/strict";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import postgres from "postgres";
import { startLocalStack } from "../../../stack/local_stack.ts";
import { settleBackground } from "../../../shared/jobs/background.ts";
import { openRepository } from "../../../shared/storage/open.ts";
import { sdkClient } from "../../support/sdk_client.ts";
import { loadStorageSnapshot, restoreStorage } from "../../../shared/storage/restore.ts";
import { StorageDestination } from "../../../shared/storage/destination.ts";
import { snapshotsPairedWith } from "../../../shared/storage/pairing.ts";
import { startS3Server } from "../../../stack/s3_server.ts";
import { stackUserToken } from "../../support/jwt.ts";

const DATABASE_BACKUP = "20261125T000000Z-dbdb";

Deno.test("storage snapshot runs: function and trigger-backup, pairing, broken links, bucket settings", async (t) => {
  const stack = await startLocalStack({ storage: true });
  const storage = stack.storage!;
  const client = sdkClient(storage);
  const sql = postgres(stack.db.url, { max: 2, onnotice: () => {} });
  const url = stack.functionUrl("storage-snapshot");
  const cron = { "x-sauvegarde-secret": stack.env.SAUVEGARDE_CRON_SECRET };
  const call = async (
    headers: Record<string, string>,
    body?: unknown,
    query = "",
  ) => {
    const response = await fetch(`${url}${query}`, {
      method: body === undefined ? "GET" : "POST",
      headers: { "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, json: await response.json() };
  };
  const waitForRun = async (runId: string) => {
    await settleBackground();
    const { status, json } = await call(cron, undefined, `?runId=${runId}`);
    assert.equal(status, 200);
    return json;
  };
  const local = await openRepository("local", `file://${stack.localTargetDir}`, stack.app.config);
  try {
    for (const bucket of ["avatars", "documents"]) await storage.createBucket(bucket);
    const put = (bucket: string, key: string, body: string) =>
      client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    await put("avatars", "a.png", "png a");
    await put("avatars", "team/b.png", "png b");
    await put("documents", "report 2026.pdf", "pdf");
    await sql`insert into storage.buckets (id, name, public, file_size_limit, allowed_mime_types)
              values ('avatars', 'avatars', true, 1048576, ${["image/png"]}),
                     ('documents', 'documents', false, null, null)`;
    await sql`insert into storage.objects (bucket_id, name)
              values ('avatars', 'a.png'), ('avatars', 'team/b.png'), ('avatars', 'ghost.png')`;
    // A database backup on the same target, and its run.
    await local.repository.saveManifest("database", DATABASE_BACKUP, { id: DATABASE_BACKUP });
    await sql`insert into public.backup_runs (kind, status, trigger, backup_id, finished_at)
              values ('database', 'succeeded', 'cron', ${DATABASE_BACKUP}, now())`;

    let snapshotId = "";
    await t.step(
      "the cron caller starts a snapshot, answered 202, done in the background",
      async () => {
        const { status, json } = await call(cron, {});
        assert.equal(status, 202, JSON.stringify(json));
        assert.match(json.runId, /^[0-9a-f-]{36}$/);
        assert.equal(typeof json.status, "string");
        const run = await waitForRun(json.runId);
        assert.equal(run.status, "succeeded", run.error);
        assert.equal(run.kind, "storage");
        assert.equal(run.items, 3);
        assert.equal(run.details.databaseBackupId, DATABASE_BACKUP);
        snapshotId = run.backupId;
      },
    );

    await t.step(
      "the snapshot pairs with the database backup and reports broken links",
      async () => {
        const manifest = await loadStorageSnapshot(local.repository, snapshotId);
        assert.equal(manifest.pairing.databaseBackupId, DATABASE_BACKUP);
        assert.equal(manifest.pairing.database, "compared");
        assert.equal(manifest.pairing.missingFromBucket.count, 1);
        assert.deepEqual(manifest.pairing.missingFromBucket.examples, [
          { bucket: "avatars", key: "ghost.png" },
        ]);
        assert.equal(manifest.pairing.missingFromDatabase.count, 1);
        assert.deepEqual(manifest.pairing.missingFromDatabase.examples, [
          { bucket: "documents", key: "report 2026.pdf" },
        ]);
        const avatars = manifest.buckets.find((b) => b.name === "avatars")!;
        assert.deepEqual(avatars.settings, {
          public: true,
          fileSizeLimit: 1048576,
          allowedMimeTypes: ["image/png"],
        });
        const [databaseRun] = await sql`
        select details from public.backup_runs where backup_id = ${DATABASE_BACKUP}`;
        assert.equal(databaseRun.details.storageSnapshotId, snapshotId, "the reverse link");
        assert.deepEqual(await snapshotsPairedWith(local.repository, DATABASE_BACKUP), [
          snapshotId,
        ]);
      },
    );

    await t.step("a second request while a snapshot is live gets 409 with its id", async () => {
      const live = await stack.app.store.create({ kind: "storage", trigger: "manual" });
      const { status, json } = await call(cron, { buckets: ["avatars"] });
      assert.equal(status, 409);
      assert.equal(json.runId, live.id);
      const run = await waitForRun(live.id);
      assert.equal(run.status, "succeeded", run.error);
    });

    await t.step("callers and bodies are checked", async () => {
      const admin = await stackUserToken(stack, { admin: true });
      const byAdmin = await call({ authorization: `Bearer ${admin}` }, { buckets: ["avatars"] });
      assert.equal(byAdmin.status, 202, JSON.stringify(byAdmin.json));
      assert.equal((await waitForRun(byAdmin.json.runId)).status, "succeeded");
      const user = await stackUserToken(stack);
      assert.equal((await call({ authorization: `Bearer ${user}` }, {})).status, 403);
      assert.equal((await call({}, {})).status, 401);
      const unknown = await call(cron, { buckets: ["avatars"], everything: true });
      assert.equal(unknown.status, 400);
      assert.match(unknown.json.error, /everything/);
      assert.equal((await call(cron, { targets: ["mars"] })).status, 400);
      const missingRun = await call(cron, undefined, `?runId=${crypto.randomUUID()}`);
      assert.equal(missingRun.status, 404);
    });

    await t.step("a snapshot of a bucket that does not exist fails its run clearly", async () => {
      const { status, json } = await call(cron, { buckets: ["no-such-bucket"] });
      assert.equal(status, 202);
      const run = await waitForRun(json.runId);
      assert.equal(run.status, "failed");
      assert.match(run.error, /no-such-bucket/);
    });

    await t.step("trigger-backup kind storage reaches the same engine", async () => {
      const response = await fetch(stack.functionUrl("trigger-backup"), {
        method: "POST",
        headers: { "content-type": "application/json", ...cron },
        body: JSON.stringify({ kind: "storage", buckets: ["documents"] }),
      });
      const json = await response.json();
      assert.equal(response.status, 202, JSON.stringify(json));
      const run = await waitForRun(json.runId);
      assert.equal(run.status, "succeeded", run.error);
      assert.deepEqual(run.details.buckets, ["documents"]);
      const manifest = await loadStorageSnapshot(local.repository, run.backupId);
      assert.deepEqual(manifest.objects.map((o) => o.key), ["report 2026.pdf"]);
    });

    await t.step(
      "the Storage endpoint going down fails the run and writes no manifest",
      async () => {
        const before = await local.repository.listManifests("storage");
        await storage.kill();
        try {
          const { status, json } = await call(cron, {});
          assert.equal(status, 202);
          const run = await waitForRun(json.runId);
          assert.equal(run.status, "failed");
          assert.equal(typeof run.error, "string");
          assert.ok(!run.error.includes(storage.secretAccessKey), "no secret in the error");
          assert.deepEqual(await local.repository.listManifests("storage"), before);
        } finally {
          await storage.restart();
        }
      },
    );

    await t.step("a restore re-creates buckets with their settings", async () => {
      const other = await startS3Server();
      const destination = new StorageDestination(other);
      try {
        await sql`delete from storage.objects`;
        await sql`delete from storage.buckets`;
        const report = await restoreStorage(
          local.repository,
          destination,
          { snapshot: snapshotId, sql, allowUnauthenticated: true },
        );
        assert.deepEqual(report.bucketsCreated, ["avatars", "documents"]);
        assert.equal(report.uploaded, 3);
        const rows = await sql`
          select id, public, file_size_limit, allowed_mime_types from storage.buckets order by id`;
        assert.deepEqual(rows.map((r) => ({ ...r })), [
          {
            id: "avatars",
            public: true,
            file_size_limit: "1048576",
            allowed_mime_types: ["image/png"],
          },
          { id: "documents", public: false, file_size_limit: null, allowed_mime_types: null },
        ]);
      } finally {
        await destination.close();
        await other.stop();
      }
    });
  } finally {
    await settleBackground();
    client.destroy();
    await local.target.close();
    await sql.end();
    await stack.stop();
  }
});
