/**
 * Real backups for verification tests: a small database backed up with the engine into the
 * local file target and copied to the S3 target, a Storage snapshot written through the
 * repository API, and the `backup_runs` rows that record them.
 *
 * @module
 */
import postgres from "postgres";
import { backupDatabase } from "../../shared/database/backup/mod.ts";
import { Repository } from "../../shared/repository/mod.ts";
import { parseStorageManifest } from "../../shared/storage/manifest.ts";
import type { StorageTarget } from "../../shared/targets/target.ts";
import { openTarget } from "../../shared/targets/open_target.ts";
import type { Config } from "../../shared/config/mod.ts";
import type { Keyring } from "../../shared/codec/encryption.ts";

/** The configured targets, opened by name. */
export function openTargets(config: Config): Record<string, StorageTarget> {
  return Object.fromEntries(
    Object.entries(config.targets).map(([name, url]) => [name, openTarget(url, { s3: config.s3 })]),
  );
}

/** Copies every object under `prefix` from one target to another (what replication does). */
export async function copyTarget(
  from: StorageTarget,
  to: StorageTarget,
  prefixes = ["blobs/", "manifests/"],
): Promise<void> {
  for (const prefix of prefixes) {
    for await (const info of from.list(prefix)) {
      const bytes = new Uint8Array(await new Response(await from.load(info.key)).arrayBuffer());
      await to.save(info.key, bytes, { size: bytes.length });
    }
  }
}

/** Creates a small shop database to back up; returns its URL. */
export async function createShop(
  createDatabase: (name: string) => Promise<string>,
): Promise<string> {
  const url = await createDatabase(`shop_${crypto.randomUUID().slice(0, 8)}`);
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`
      create table customers (id int primary key, name text not null);
      create table orders (id int primary key, customer int references customers, total numeric);
      insert into customers select i, 'customer ' || i from generate_series(1, 2000) i;
      insert into orders select i, 1 + i % 2000, i * 1.5 from generate_series(1, 5000) i;`);
  } finally {
    await sql.end();
  }
  return url;
}

/**
 * Backs up `dbUrl` into the first target (sealed with `keyring` when given) and copies it to
 * the others; returns the id.
 */
export async function databaseBackup(
  dbUrl: string,
  targets: Record<string, StorageTarget>,
  options: { keyring?: Keyring } = {},
): Promise<{ backupId: string; bytes: number }> {
  const [first, ...others] = Object.values(targets);
  const repository = new Repository(first, { keyring: options.keyring });
  const result = await backupDatabase({ db: dbUrl, repository });
  for (const other of others) await copyTarget(first, other);
  return { backupId: result.backupId, bytes: result.bytes };
}

/**
 * Writes a Storage snapshot of a few objects into every target (sealed with `keyring` when
 * given); returns its id.
 */
export async function storageSnapshot(
  targets: Record<string, StorageTarget>,
  options: { at?: Date; objects?: number; keyring?: Keyring } = {},
): Promise<{ snapshotId: string; bytes: number }> {
  const at = options.at ?? new Date();
  const snapshotId = `${at.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")}-${
    crypto.randomUUID().slice(0, 4)
  }`;
  const objects = [];
  let total = 0;
  for (let i = 0; i < (options.objects ?? 3); i++) {
    const body = new TextEncoder().encode(`object ${i} of ${snapshotId} `.repeat(200 + i));
    const refs = [];
    for (const target of Object.values(targets)) {
      const put = await new Repository(target, { keyring: options.keyring }).putBlob(body);
      refs[0] = { id: put.id, size: put.size, storedSize: put.storedSize };
    }
    total += body.length;
    objects.push({
      bucket: "avatars",
      key: `user-${i}.txt`,
      size: body.length,
      sha256: refs[0].id,
      etag: refs[0].id.slice(0, 32),
      lastModified: at.toISOString(),
      contentType: "text/plain",
      metadata: {},
      blobs: refs,
    });
  }
  const manifest = parseStorageManifest({
    version: 1,
    kind: "storage",
    id: snapshotId,
    startedAt: at.toISOString(),
    finishedAt: at.toISOString(),
    source: { endpoint: "local" },
    previousSnapshotId: null,
    options: {
      compression: "zstd",
      encrypted: options.keyring !== undefined,
      chunkSize: 4_194_304,
    },
    buckets: [{ name: "avatars", settings: null, objects: objects.length, bytes: total }],
    pairing: {
      databaseBackupId: null,
      database: "not_configured",
      missingFromBucket: { count: 0, examples: [] },
      missingFromDatabase: { count: 0, examples: [] },
    },
    totals: {
      objects: objects.length,
      bytes: total,
      copied: objects.length,
      skipped: 0,
      storedBytes: total,
      vanished: 0,
    },
    objects,
  }, snapshotId);
  for (const target of Object.values(targets)) {
    await new Repository(target, { keyring: options.keyring }).saveManifest(
      "storage",
      snapshotId,
      manifest,
    );
  }
  return { snapshotId, bytes: total };
}

/** Records a finished run as the engine would have. */
export async function recordRun(
  sql: postgres.Sql,
  run: {
    kind: string;
    status?: string;
    backupId?: string;
    bytes?: number;
    finishedAt?: Date;
    error?: string;
    targets?: string[];
  },
): Promise<string> {
  const finished = run.finishedAt ?? new Date();
  const started = new Date(finished.getTime() - 60_000);
  const [row] = await sql`
    insert into public.backup_runs (kind, status, trigger, targets, backup_id, created_at,
      started_at, heartbeat_at, finished_at, bytes, error)
    values (${run.kind}, ${run.status ?? "succeeded"}, 'cron', ${run.targets ?? []},
      ${run.backupId ?? null}, ${started}, ${started}, ${finished}, ${finished},
      ${run.bytes ?? 0}, ${run.error ?? null})
    returning id`;
  return row.id;
}
