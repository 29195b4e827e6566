/**
 * The operator's Storage commands: `snapshot` and `restore-storage`, run as a person would.
 */
import assert from "node:assert/strict";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import {
  runCli,
  startStorageStack,
  storageEnv,
  targetEnv,
} from "../../support/storage_fixtures.ts";
import { startS3Server } from "../../../stack/s3_server.ts";
import { sdkClient } from "../../support/sdk_client.ts";

const lastLine = (text: string) => JSON.parse(text.trim().split("\n").at(-1)!);

Deno.test("snapshot and restore-storage keep their command-line contract", async (t) => {
  const stack = await startStorageStack(["public-assets", "user-files"]);
  const other = await startS3Server();
  const env = { ...storageEnv(stack.source), ...targetEnv(stack.target) };
  try {
    await stack.put("public-assets", "logo.svg", "<svg/>", { contentType: "image/svg+xml" });
    await stack.put("user-files", "u1/notes.txt", "notes", { metadata: { author: "u1" } });

    await t.step("snapshot --json ends with the summary line", async () => {
      const run = await runCli(["snapshot", "--to", stack.targetUrl, "--json"], env);
      assert.equal(run.code, 0, run.stderr);
      const summary = lastLine(run.stdout);
      assert.deepEqual(Object.keys(summary), [
        "snapshotId",
        "objects",
        "bytes",
        "copied",
        "skipped",
        "seconds",
      ]);
      assert.equal(summary.objects, 2);
      assert.equal(summary.copied, 2);
      const again = lastLine(
        (await runCli(
          ["snapshot", "--to", stack.targetUrl, "--bucket", "user-files", "--json"],
          env,
        ))
          .stdout,
      );
      assert.equal(again.objects, 1);
      assert.equal(again.skipped, 1);
      assert.equal(again.copied, 0);
      const full = lastLine(
        (await runCli(["snapshot", "--to", stack.targetUrl, "--json"], env)).stdout,
      );
      assert.equal(full.skipped, 2, "a bucket left out of the last snapshot is not read again");
    });

    await t.step(
      "restore-storage plans with --dry-run, refuses without --yes, restores with it",
      async () => {
        const args = [
          "restore-storage",
          "--from",
          stack.targetUrl,
          "--snapshot",
          "latest",
          "--endpoint",
          other.endpoint,
          // The repository has no keys: the operator vouches for it.
          "--allow-unauthenticated",
        ];
        const dry = await runCli([...args, "--dry-run", "--json"], env);
        assert.equal(dry.code, 0, dry.stderr);
        const plan = lastLine(dry.stdout);
        assert.equal(plan.dryRun, true);
        assert.equal(plan.uploaded, 2);
        assert.deepEqual(plan.actions.map((a: { action: string }) => a.action), [
          "create-bucket",
          "upload",
          "create-bucket",
          "upload",
        ]);
        const human = await runCli([...args, "--dry-run"], env);
        assert.match(human.stdout, /upload user-files\/u1\/notes\.txt/);

        const refused = await runCli(args, env);
        assert.equal(refused.code, 2);
        assert.match(refused.stderr, /--yes/);

        const done = await runCli([...args, "--yes", "--json"], env);
        assert.equal(done.code, 0, done.stderr);
        assert.equal(lastLine(done.stdout).uploaded, 2);
        const client = sdkClient(other);
        const restored = await client.send(
          new GetObjectCommand({ Bucket: "user-files", Key: "u1/notes.txt" }),
        );
        assert.equal(await restored.Body!.transformToString(), "notes");
        assert.deepEqual(restored.Metadata, { author: "u1" });
        client.destroy();
      },
    );

    await t.step("mistakes are explained in one line", async () => {
      const noTarget = await runCli(["snapshot", "--json"], env);
      assert.equal(noTarget.code, 2);
      assert.match(noTarget.stderr, /Missing --to/);
      const noSource = await runCli(["snapshot", "--to", stack.targetUrl], targetEnv(stack.target));
      assert.equal(noSource.code, 1);
      assert.match(noSource.stderr, /STORAGE_S3_ENDPOINT/);
      const noSnapshot = await runCli(
        ["restore-storage", "--from", stack.targetUrl, "--snapshot", "20200101T000000Z-0000"],
        env,
      );
      assert.equal(noSnapshot.code, 1);
      assert.match(noSnapshot.stderr, /does not exist/);
      assert.ok(!noSnapshot.stderr.includes("    at "), "no stack trace");
    });
  } finally {
    await other.stop();
    await stack.stop();
  }
});
