/**
 * A backup that cannot be complete says so loudly, never silently: by default it is an error
 * naming the objects, and nothing is stored; with `--allow-incomplete` (or
 * SAUVEGARDE_ALLOW_INCOMPLETE for scheduled runs) it is recorded `incomplete`, shown by the CLI
 * and its JSON, never "latest" for unattended restores, failed by verification and alerted.
 *
 * The object nobody can restore here is a subscription: pg_dump dumps it, but restoring it
 * connects to the publisher, so the reader leaves it out (`catalog/unsupported.ts`).
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { backupDatabase, IncompleteBackupError } from "../../../shared/database/backup/mod.ts";
import { loadDatabaseManifest } from "../../../shared/database/manifest.ts";
import { settleBackground } from "../../../shared/jobs/background.ts";
import { Repository } from "../../../shared/repository/mod.ts";
import { runRestoreTest } from "../../../shared/restore_test/restore_test.ts";
import type { Run } from "../../../shared/runs/mod.ts";
import { FileTarget } from "../../../shared/targets/file_target.ts";
import { verifyBackups } from "../../../shared/verify/mod.ts";
import { type LocalStack, startLocalStack } from "../../../stack/local_stack.ts";
import { startPostgres } from "../../../stack/postgres.ts";

const CLI = new URL("../../../cli/main.ts", import.meta.url).pathname;

/** A subscription that never connects: the one object here a restore cannot reproduce. */
const SUBSCRIPTION = `
  create table public.items (id int primary key, label text);
  insert into public.items select i, 'item ' || i from generate_series(1, 300) i;
  create subscription "Legacy feed" connection 'host=127.0.0.1 port=1 dbname=nowhere'
    publication shop with (connect = false, enabled = false, create_slot = false,
    slot_name = none);`;

async function cli(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    env: { SAUVEGARDE_COMPRESSION: "zstd", ...env },
    stdin: "null",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  return { code: out.code, stdout, stderr, last: stdout.trim().split("\n").at(-1) ?? "" };
}

async function exec(url: string, text: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(text);
  } finally {
    await sql.end();
  }
}

async function listKeys(dir: string): Promise<string[]> {
  const keys: string[] = [];
  const walk = async (path: string, prefix: string) => {
    for await (const entry of Deno.readDir(path)) {
      if (entry.isDirectory) await walk(`${path}/${entry.name}`, `${prefix}${entry.name}/`);
      else keys.push(`${prefix}${entry.name}`);
    }
  };
  await walk(dir, "").catch(() => {});
  return keys.filter((key) => !key.startsWith("locks/"));
}

Deno.test("a backup of a database it cannot reproduce fails naming the object and stores nothing, unless allowed; then it is incomplete and never latest", async () => {
  const pg = await startPostgres({ supabase: false });
  const dir = await Deno.makeTempDir({ prefix: "sauvegarde-incomplete-" });
  try {
    const db = await pg.createDatabase("shop");
    await exec(db, SUBSCRIPTION);
    const repository = new Repository(new FileTarget(dir), { compression: "zstd" });

    // 1. Refused by default, before anything is stored.
    const refused = await backupDatabase({ db, repository }).then(
      () => assert.fail("the backup succeeded"),
      (error) => error,
    );
    assert.ok(refused instanceof IncompleteBackupError, String(refused));
    assert.match(refused.message, /SUBSCRIPTION "?Legacy feed"?/);
    assert.match(refused.message, /--allow-incomplete/);
    assert.deepEqual(await listKeys(dir), [], "no blob, no section, no manifest");

    // 2. A schema asked for that does not exist is not a silent empty backup either.
    await assert.rejects(
      backupDatabase({ db, repository, scope: { includeSchemas: ["nope"] } }),
      /Schema nope does not exist/,
    );

    // 3. Allowed: recorded incomplete, with what it leaves out.
    const made = await backupDatabase({ db, repository, allowIncomplete: true });
    assert.equal(made.manifest.class, "incomplete");
    assert.ok(made.manifest.warnings.some((w) => /Legacy feed/.test(w)), made.manifest.warnings[0]);
    assert.equal(made.rows, 300);

    // 4. Never the latest: restores, exports and restore tests of "latest" find no backup.
    await assert.rejects(loadDatabaseManifest(repository, "latest"), /No .*backup/i);
    await assert.rejects(runRestoreTest(repository, { serverUrl: pg.url }), /No .*backup/i);
    const asked = await loadDatabaseManifest(repository, "latest:incomplete");
    assert.equal(asked.backupId, made.backupId);

    // 5. The CLI: an error with the object named and a non-zero exit; with the flag, loud.
    const plain = await cli(["backup", "--db", db, "--to", `file://${dir}`, "--json"]);
    assert.notEqual(plain.code, 0);
    assert.match(plain.stderr, /cannot be complete[\s\S]*Legacy feed[\s\S]*--allow-incomplete/);
    const allowed = await cli([
      "backup",
      "--db",
      db,
      "--to",
      `file://${dir}`,
      "--allow-incomplete",
      "--json",
    ]);
    assert.equal(allowed.code, 0, allowed.stderr);
    const json = JSON.parse(allowed.last);
    assert.equal(json.complete, false);
    assert.equal(json.class, "incomplete");
    assert.ok(json.warnings.some((w: string) => /Legacy feed/.test(w)));
    assert.match(allowed.stderr, /INCOMPLETE/);
    const listed = await cli(["list", "--from", `file://${dir}`, "--json"]);
    assert.equal(listed.code, 0, listed.stderr);
    const backups = JSON.parse(listed.last).backups as Array<
      { backupId: string; complete: boolean; latest: boolean }
    >;
    assert.equal(backups.length, 2);
    assert.ok(backups.every((b) => b.complete === false && b.latest === false));
    const text = await cli(["list", "--from", `file://${dir}`]);
    assert.match(text.stdout, /incomplete .*INCOMPLETE: 1 objects not reproduced/);

    // 6. Without the object, the same database backs up complete and is the latest.
    await exec(
      db,
      `alter subscription "Legacy feed" set (slot_name = none);
      drop subscription "Legacy feed";`,
    );
    const full = await backupDatabase({ db, repository });
    assert.equal(full.manifest.class, "full");
    assert.deepEqual(full.manifest.warnings, []);
    assert.equal((await loadDatabaseManifest(repository, "latest")).backupId, full.backupId);
  } finally {
    await pg.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

async function trigger(stack: LocalStack): Promise<Run> {
  const response = await fetch(stack.functionUrl("trigger-backup"), {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-sauvegarde-secret": stack.env.SAUVEGARDE_CRON_SECRET,
    },
    body: JSON.stringify({ kind: "database" }),
  });
  const json = await response.json();
  assert.equal(response.status, 202, JSON.stringify(json));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    await settleBackground();
    const run = await stack.app.store.get(json.runId);
    if (run && ["succeeded", "failed", "cancelled"].includes(run.status)) return run;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`Run ${json.runId} did not finish`);
}

Deno.test("a scheduled backup that cannot be complete fails its run; allowed, it succeeds incomplete and verification fails and alerts", async () => {
  for (const allow of [false, true]) {
    const stack = await startLocalStack({
      slack: true,
      env: allow ? { SAUVEGARDE_ALLOW_INCOMPLETE: "true" } : {},
    });
    try {
      await exec(stack.db.url, SUBSCRIPTION);
      const run = await trigger(stack);
      if (!allow) {
        assert.equal(run.status, "failed");
        assert.match(run.error ?? "", /cannot be complete[\s\S]*Legacy feed/);
        continue;
      }
      assert.equal(run.status, "succeeded", run.error ?? "");
      assert.equal(run.details.class, "incomplete");
      assert.equal(run.details.complete, false);
      assert.ok((run.details.warnings as string[]).some((w) => /Legacy feed/.test(w)));

      const report = await verifyBackups(
        { sql: stack.app.sql, store: stack.app.store, config: stack.app.config },
        { sample: "all" },
      );
      const check = report.checks.find((c) => c.id === "completeness.database");
      assert.ok(check, report.checks.map((c) => c.id).join(", "));
      assert.equal(check.status, "fail", check.summary);
      assert.match(check.summary, new RegExp(`${run.backupId}.*incomplete.*Legacy feed`));
      const alerts = stack.slack!.messages.map((m) => JSON.stringify(m));
      assert.ok(
        alerts.some((m) => m.includes("completeness.database") || /incomplete/.test(m)),
        `no alert about the incomplete backup in ${alerts.length} messages`,
      );
    } finally {
      await stack.stop();
    }
  }
});
