/**
 * Database backups hold the repository lock Storage snapshots hold: a prune started while one
 * runs is refused before it changes anything, a backup waits while a prune holds the
 * repository, and the lock goes on every way out. Real parts: a PostgreSQL cluster, a file
 * target, the real backup, run step and prune. A backup is kept mid-way by a table lock taken
 * in another session (it waits for its ACCESS SHARE lock, as pg_dump would).
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import type { Config } from "../../../shared/config/mod.ts";
import { backupDatabase } from "../../../shared/database/backup/mod.ts";
import { createDatabaseStep } from "../../../shared/steps/database.ts";
import { Budget } from "../../../shared/jobs/budget.ts";
import { type LockInfo, PRUNE_LOCK, type Repository } from "../../../shared/repository/mod.ts";
import { openRepository } from "../../../shared/repository/open.ts";
import { prune, PruneRefusedError, type RunHistory } from "../../../shared/retention/mod.ts";
import type { ClaimedRun, Run } from "../../../shared/runs/mod.ts";
import { startPostgres } from "../../../stack/postgres.ts";

/** Backups of every kind succeeded a minute ago: prune's health check passes. */
const healthy: RunHistory = {
  latest: (kind, status) =>
    Promise.resolve(
      status === "succeeded"
        ? {
          id: `${kind}-ok`,
          kind,
          status,
          createdAt: new Date(Date.now() - 60_000),
          finishedAt: new Date(Date.now() - 60_000),
        } as unknown as Run
        : undefined,
    ),
};

/** Keep only the newest backup: anything older is the prune's to remove. */
const keepOne = { database: { last: 1, daily: 0, weekly: 0, monthly: 0 } };

async function withCluster(
  fn: (ctx: { url: string; dir: string; repository: Repository; admin: postgres.Sql }) => Promise<
    void
  >,
) {
  const db = await startPostgres({ supabase: false });
  const dir = await Deno.makeTempDir({ prefix: "sauvegarde-dblock-" });
  const admin = postgres(db.url, { max: 2, onnotice: () => {} });
  const opened = await openRepository("local", `file://${dir}`, {
    s3: {},
    compression: "zstd",
    encryptionKeys: undefined,
  });
  try {
    await admin`create table public.items (id int primary key, note text)`;
    await admin`insert into public.items select i, repeat('n', 100) from generate_series(1, 500) i`;
    await fn({ url: db.url, dir, repository: opened.repository, admin });
  } finally {
    await opened.target.close();
    await admin.end();
    await db.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Holds ACCESS EXCLUSIVE on public.items until `release` is called. */
async function lockItems(url: string): Promise<{ release(): Promise<void> }> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  let release!: () => void;
  const released = new Promise<void>((resolve) => release = resolve);
  let locked!: () => void;
  const isLocked = new Promise<void>((resolve) => locked = resolve);
  const transaction = sql.begin(async (tx) => {
    await tx`lock table public.items in access exclusive mode`;
    locked();
    await released;
  });
  await isLocked;
  return {
    async release() {
      release();
      await transaction;
      await sql.end();
    },
  };
}

/** Waits until a live lock whose name starts with `prefix` is on the repository. */
async function lockAppears(repository: Repository, prefix: string): Promise<LockInfo> {
  for (let i = 0; i < 200; i++) {
    const found = (await repository.listLocks()).find((lock) => lock.name.startsWith(prefix));
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`No lock named ${prefix}… appeared`);
}

function stepOf(url: string, dir: string) {
  const step = createDatabaseStep({
    config: {
      databaseUrl: url,
      targets: { local: `file://${dir}` },
      compression: "zstd",
      s3: {},
    } as unknown as Config,
  });
  return (checkpoint: Record<string, unknown>, budget: Budget = new Budget({})) =>
    step(
      {
        id: "run-lock-test",
        kind: "database",
        targets: [],
        details: {},
        checkpoint,
      } as unknown as ClaimedRun,
      {
        budget,
        signal: new AbortController().signal,
        saveCheckpoint: () => Promise.resolve(),
      },
    );
}

Deno.test("a prune started while a database backup runs is refused before removing anything, and the backup completes", async () => {
  await withCluster(async ({ url, repository }) => {
    const older = await backupDatabase({ db: url, repository });
    await new Promise((resolve) => setTimeout(resolve, 1100)); // a later backup id
    const table = await lockItems(url);
    const running = backupDatabase({ db: url, repository });
    let refusal: unknown;
    try {
      const held = await lockAppears(repository, "database-");
      assert.equal(held.owner, "database backup");
      refusal = await prune(repository, { policies: keepOne, history: healthy })
        .catch((error) => error);
    } finally {
      await table.release();
      await running.catch(() => {}); // settled before the cluster goes, whatever happened
    }
    const newer = await running;
    assert.ok(refusal instanceof PruneRefusedError, `prune was not refused: ${refusal}`);
    assert.match(
      String(refusal),
      /^PruneRefusedError: Prune refused: lock "database-backup-[0-9a-f]{8}" is held by "database backup" until /,
    );
    assert.deepEqual(
      (await repository.listManifests("database")).sort(),
      [older.backupId, newer.backupId].sort(),
      "the refused prune removed nothing",
    );
    assert.deepEqual(await repository.listLocks({ includeExpired: true }), [], "lock released");
    // Once the backup is done, the same prune goes ahead and keeps the new backup whole.
    const report = await prune(repository, { policies: keepOne, history: healthy, graceMs: 0 });
    assert.deepEqual(report.removedManifests, [`database/${older.backupId}`]);
    for (const table of newer.manifest.tables) {
      for (const blob of table.blobs) {
        const check = await repository.verifyBlob(blob);
        assert.ok(check.ok, `blob ${blob.id} of the new backup is intact`);
      }
    }
  });
});

Deno.test("a database backup waits while a prune holds the repository, then runs", async () => {
  await withCluster(async ({ url, repository }) => {
    const pruning = await repository.acquireLock(PRUNE_LOCK, { owner: "a prune", ttlMs: 60_000 });
    const started = performance.now();
    let finished = false;
    const running = backupDatabase({ db: url, repository }).finally(() => finished = true);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.equal(finished, false, "the backup waits for the prune");
    assert.deepEqual(await repository.listManifests("database"), []);
    await repository.releaseLock(pruning);
    const result = await running;
    assert.ok(performance.now() - started >= 1_000);
    assert.deepEqual(await repository.listManifests("database"), [result.backupId]);
  });
});

Deno.test("a budgeted backup step holds the repository for the step, hands back while a prune holds it, and lets go on every way out", async () => {
  await withCluster(async ({ url, dir, repository }) => {
    const step = stepOf(url, dir);

    // A prune holds the repository and the budget runs out while the step waits for it: the
    // step hands back having done nothing, and leaves no lock of its own.
    const pruning = await repository.acquireLock(PRUNE_LOCK, { owner: "a prune", ttlMs: 60_000 });
    let asked = 0;
    const runsOut = {
      limits: {},
      exhausted: () => asked++ > 0,
      addBytes: () => {},
    } as unknown as Budget;
    const handed = await step({}, runsOut);
    assert.equal(handed.done, false);
    assert.ok(asked >= 2, "the budget was asked while waiting");
    assert.deepEqual(handed.checkpoint, { checkpointVersion: 1, targets: { local: {} } });
    assert.deepEqual((await repository.listLocks()).map((lock) => lock.name), [PRUNE_LOCK]);
    await repository.releaseLock(pruning);

    // A step under way holds it: a prune is refused.
    const table = await lockItems(url);
    const running = step({});
    let refusal: unknown;
    try {
      const held = await lockAppears(repository, "database-");
      assert.equal(held.owner, "database backup run run-lock-test");
      refusal = await prune(repository, { policies: keepOne, history: healthy })
        .catch((error) => error);
    } finally {
      await table.release();
      await running.catch(() => {});
    }
    const done = await running;
    assert.ok(refusal instanceof PruneRefusedError, `prune was not refused: ${refusal}`);
    assert.match(String(refusal), /held by "database backup run run-lock-test"/);
    assert.equal(done.done, true);
    assert.deepEqual(await repository.listLocks({ includeExpired: true }), []);

    // A step that fails lets go too.
    const failing = stepOf(url.replace(/:(\d+)\//, ":1/"), dir);
    await assert.rejects(failing({}), /Could not connect to the database/);
    assert.deepEqual(
      await repository.listLocks({ includeExpired: true }),
      [],
      "released on failure",
    );
  });
});
