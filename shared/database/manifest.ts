/**
 * The manifest of a database backup: the single source of truth for what a backup contains.
 *
 * It is validated with zod when written and when read, versioned (`formatVersion: 1`), and
 * saved LAST, after every blob it references was stored and checked: a backup without a
 * manifest does not exist. It never contains a secret (the encryption key's id, never the key).
 *
 * ## Sliced tables
 *
 * A budgeted backup (Edge steps) copies a large table that has a key in key-ordered slices
 * (`pg/slices.ts`), possibly over several steps, each step in its own snapshot. Such a table's
 * entry is additive to the plain shape:
 *
 * - `blobs` are every slice's blobs in slice order: concatenated, they are the table's COPY
 *   stream (the rows in key order), which a restore loads as for any table; `rows`, `bytes`
 *   and `storedBytes` are the slices' sums.
 * - `key` names the key columns and `slices` lists each slice: its rows, bytes, SHA-256 of its
 *   part of the stream, stored bytes, how many of the table's blobs (following the previous
 *   slice's) hold it, the time of the snapshot it was read in, and `through`, the key of its
 *   last row as text (null for the last slice, which runs to the table's end). A slice's rows
 *   are those after the previous slice's `through` (from the start for the first), up to its own.
 * - `sha256` cannot be the whole stream's hash (no hash state survives from one step to the
 *   next). For a sliced table it is {@link slicesDigest}: the SHA-256 of the slices' hex
 *   SHA-256s, each followed by a newline, in order — a digest of the slice list, not of the
 *   stream. A check of a sliced table compares its slices: the restore test reads the restored
 *   table back in key order and hashes that COPY output cut at the slices' byte boundaries.
 * - `snapshotTime` is the first slice's.
 *
 * Consistency: each slice is consistent in itself, a view of its key range as of its own
 * `snapshotTime`. Slices read in different snapshots join where one ends and the next begins,
 * so a sliced table spanning snapshots is NOT one instant's view of the table: rows inserted,
 * updated or deleted in a key range after its slice was read are not reflected (an insert below
 * the position reached is missing, a delete there is still present); a row whose key moved
 * from a range not yet read to one already read is missing, one whose key moved the other way
 * is present twice (under its old and its new key); and a unique constraint on other columns
 * may not hold across slices (a value freed in a range already read and reused in one read
 * later), which a restore would report when it builds that constraint. Each key appears at
 * most once. A backup read in one snapshot (`snapshots: 1`) has none of this.
 *
 * ## Large objects and extension configuration
 *
 * Large objects' definitions (`lo_create`, owner, comment, privileges) are DDL statements
 * (kind `BLOB` and those that follow it). Their contents are one stream in `largeObjects`: COPY
 * text with a row per piece of at most 1 MiB of an object (`oid`, offset, base64 bytes; see
 * `pg/large_objects.ts`), in oid and offset order, stored as blobs like a table's rows; `count`
 * and `bytes` are the objects' number and total size, `sha256` the stream's, so reading the
 * restored objects back the same way must give the same hash. Absent in older manifests and
 * when there are none.
 *
 * An extension's configuration table (`pg_extension_config_dump`) is a table entry with
 * `extension`: the extension's name, its condition (SQL from the source's catalog, `""` for
 * every row) and the configuration tables its foreign keys reference (`loadAfter`, loaded
 * first). The extension creates the table; a restore only COPYs the stored rows into it, never
 * running the condition.
 *
 * @module
 */
import { z } from "zod";
import { sha256Hex } from "../repository/digest.ts";
import { isFutureId, refuseFutureId } from "../repository/backup_time.ts";
import type { Repository } from "../repository/mod.ts";
import {
  BACKUP_CLASSES,
  type BackupClass,
  backupClassOf,
  deriveBackupClass,
  parseBackupChoice,
} from "./backup_class.ts";
import { carryAuthentication } from "../repository/authenticity.ts";

/** The manifest kind under which database backups are stored. */
export const DATABASE_MANIFEST_KIND = "database";

/** The manifest format this engine writes and reads. */
export const FORMAT_VERSION = 1;

const BACKUP_ID = /^\d{8}T\d{6}Z-[0-9a-z]{4,32}$/;
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, "must be a lowercase hex SHA-256");
const count = z.number().int().nonnegative();
const timestamp = z.string().refine((value) => !Number.isNaN(Date.parse(value)), {
  message: "must be an ISO timestamp",
});

const blobRefSchema = z.object({ id: sha256, size: count, storedSize: count });

const statementSchema = z.object({
  section: z.enum(["pre-data", "post-data"]),
  kind: z.string().min(1),
  schema: z.string().nullable(),
  name: z.string(),
  sql: z.string(),
});

/**
 * A DDL section: inline when small, otherwise stored as blobs of NDJSON (one statement per
 * line) whose whole-stream SHA-256 and size are recorded.
 */
const sectionSchema = z.union([
  z.object({ statements: z.array(statementSchema) }).strict(),
  z.object({
    count,
    size: count,
    sha256,
    blobs: z.array(blobRefSchema),
  }).strict(),
]);

const scopeSchema = z.object({
  includeSchemas: z.array(z.string()).optional(),
  excludeSchemas: z.array(z.string()).optional(),
  includeTables: z.array(z.string()).optional(),
  excludeTables: z.array(z.string()).optional(),
  schemaOnly: z.boolean().optional(),
  dataOnly: z.boolean().optional(),
});

/** A key-ordered slice of a table (see the module's notes on sliced tables). */
const sliceSchema = z.object({
  /** The key of the slice's last row, as text per key column; null: to the table's end. */
  through: z.array(z.string()).nullable(),
  rows: count,
  /** Raw COPY text bytes of this slice. */
  bytes: count,
  /** SHA-256 of this slice's part of the COPY text stream. */
  sha256,
  storedBytes: count,
  /** How many of the table's blobs, after the previous slice's, hold this slice. */
  blobs: count,
  /** The time of the snapshot the slice was read in. */
  snapshotTime: timestamp,
});

const tableSchema = z.object({
  schema: z.string(),
  name: z.string(),
  /** Unquoted column names, in COPY order. */
  columns: z.array(z.string()),
  kind: z.enum(["table", "partition"]),
  /** In a Supabase-managed schema: restored as data only. */
  managed: z.boolean(),
  rows: count,
  /** Raw COPY text bytes. */
  bytes: count,
  /**
   * SHA-256 of the whole COPY text stream; for a sliced table, the digest of its slices'
   * SHA-256s ({@link slicesDigest}).
   */
  sha256,
  storedBytes: count,
  blobs: z.array(blobRefSchema),
  /** When the table was copied: the time of the snapshot it was (first) read in. */
  snapshotTime: timestamp,
  /** A sliced table's key columns (unquoted), in key order. */
  key: z.array(z.string()).min(1).optional(),
  /** A sliced table's slices, in key order: present exactly when `key` is. */
  slices: z.array(sliceSchema).min(1).optional(),
  /**
   * An extension's configuration table (see the module's notes on large objects and extension
   * configuration): the extension creates it; `blobs` hold the rows its condition selected.
   */
  extension: z.object({
    name: z.string().min(1),
    condition: z.string(),
    loadAfter: z.array(z.string()),
  }).optional(),
}).superRefine((table, context) => {
  const problem = checkSlices(table);
  if (problem) context.addIssue({ code: "custom", message: problem, path: ["slices"] });
});

/** The contents of a backup's large objects (see the module's notes). */
const largeObjectsSchema = z.object({
  /** Large objects, each created by the pre-data (empty ones have no row in the stream). */
  count,
  /** Their contents' bytes, all together. */
  bytes: count,
  /** Rows (pieces) of the stream. */
  rows: count,
  /** Raw bytes of the stream (COPY text). */
  streamBytes: count,
  /** SHA-256 of the stream. */
  sha256,
  storedBytes: count,
  blobs: z.array(blobRefSchema),
  /** The time of the snapshot the contents were read in. */
  snapshotTime: timestamp,
});

/** The zod schema of a database backup manifest. */
export const databaseManifestSchema = z.object({
  formatVersion: z.literal(FORMAT_VERSION),
  kind: z.literal(DATABASE_MANIFEST_KIND),
  backupId: z.string().regex(BACKUP_ID, "must look like 20261125T141500Z-ab12cd"),
  /** `safety`: taken automatically before a restore overwrote this database. */
  purpose: z.enum(["backup", "safety"]),
  /**
   * What the backup stands in for (`backup_class.ts`): only `full` is the project's "latest".
   * Recorded since classes exist; absent in older manifests, whose class is derived from
   * `purpose` and `options.scope`. It must agree with them.
   */
  class: z.enum(BACKUP_CLASSES).optional(),
  label: z.string().optional(),
  source: z.object({
    serverVersion: z.string(),
    database: z.string(),
    isSupabase: z.boolean(),
  }),
  startedAt: timestamp,
  finishedAt: timestamp,
  /** The instant the (first) snapshot saw. */
  snapshotTime: timestamp,
  /**
   * How many snapshots the data was read in. 1: the whole backup is one consistent view of the
   * database as of `snapshotTime`. More than 1: a backup resumed across steps; each table is
   * consistent in itself (its own `snapshotTime`), but tables may come from different instants
   * between `snapshotTime` and the latest table's, so cross-table invariants (foreign keys)
   * may not hold for rows written meanwhile.
   */
  snapshots: z.number().int().positive(),
  options: z.object({
    scope: scopeSchema,
    compression: z.enum(["zstd", "gzip", "none"]),
    /** Id of the encryption key the blobs were sealed with; null when unencrypted. */
    encryptionKeyId: z.string().nullable(),
    /** COPY format of the table streams. */
    copyFormat: z.literal("text"),
  }),
  /** Roles the DDL refers to; a restore needs them to exist. */
  roles: z.array(z.string()),
  /**
   * What the backup could not reproduce, each naming the object and why. Not empty only in an
   * `incomplete` backup (or a safety backup, which is taken whatever it finds).
   */
  warnings: z.array(z.string()),
  sections: z.object({ preData: sectionSchema, postData: sectionSchema }),
  tables: z.array(tableSchema),
  /** The large objects' contents; absent when the backup holds none (older manifests too). */
  largeObjects: largeObjectsSchema.optional(),
  totals: z.object({
    tables: count,
    rows: count,
    bytes: count,
    storedBytes: count,
    blobs: count,
    reusedBlobs: count,
  }),
}).superRefine((manifest, context) => {
  if (manifest.class === undefined) return;
  const expected = deriveBackupClass({
    purpose: manifest.purpose,
    scope: manifest.options.scope,
    otherDatabase: manifest.class === "other-database",
    incomplete: manifest.class === "incomplete",
  });
  if (manifest.class !== expected) {
    context.addIssue({
      code: "custom",
      path: ["class"],
      message: `is ${manifest.class}, but its purpose and scope make it ${expected}`,
    });
  }
});

/** A database backup manifest. */
export type DatabaseManifest = z.infer<typeof databaseManifestSchema>;
/** One table of a manifest. */
export type ManifestTable = z.infer<typeof tableSchema>;
/** A key-ordered slice of a table in a manifest. */
export type ManifestSlice = z.infer<typeof sliceSchema>;
/** The large objects' contents in a manifest. */
export type ManifestLargeObjects = z.infer<typeof largeObjectsSchema>;
/** A DDL section of a manifest. */
export type ManifestSection = z.infer<typeof sectionSchema>;
/** A DDL statement as stored in a manifest. */
export type ManifestStatement = z.infer<typeof statementSchema>;

/** The manifest is missing, unreadable or not valid. */
export class ManifestError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ManifestError";
  }
}

/**
 * The `sha256` of a sliced table: the SHA-256 of its slices' hex SHA-256s, each followed by a
 * newline, in slice order.
 */
export async function slicesDigest(slices: readonly { sha256: string }[]): Promise<string> {
  const text = slices.map((slice) => `${slice.sha256}\n`).join("");
  return await sha256Hex(new TextEncoder().encode(text));
}

/** Why a table's slices do not add up to the table, or undefined when they do. */
function checkSlices(table: {
  rows: number;
  bytes: number;
  storedBytes: number;
  blobs: readonly unknown[];
  key?: readonly string[];
  slices?: readonly ManifestSlice[];
}): string | undefined {
  const { key, slices } = table;
  if (key === undefined && slices === undefined) return undefined;
  if (key === undefined || slices === undefined) return "must come with key, and key with it";
  const sum = (field: "rows" | "bytes" | "storedBytes" | "blobs") =>
    slices.reduce((total, slice) => total + slice[field], 0);
  if (sum("rows") !== table.rows) return "rows do not add up to the table's";
  if (sum("bytes") !== table.bytes) return "bytes do not add up to the table's";
  if (sum("storedBytes") !== table.storedBytes) return "stored bytes do not add up";
  if (sum("blobs") !== table.blobs.length) return "blobs do not add up to the table's";
  for (const [index, slice] of slices.entries()) {
    const last = index === slices.length - 1;
    if ((slice.through === null) !== last) return "only the last slice may run to the end";
    if (slice.through !== null && slice.through.length !== key.length) {
      return `slice ${index + 1} ends at a key of ${slice.through.length} values`;
    }
  }
  return undefined;
}

/** A new sortable backup id: `20261125T141500Z-` and 6 random base-36 characters. */
export function newBackupId(at: Date = new Date()): string {
  const stamp = at.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}Z$/, "Z");
  const random = crypto.getRandomValues(new Uint32Array(2));
  const suffix = (random[0].toString(36) + random[1].toString(36)).padStart(6, "0").slice(-6);
  return `${stamp}-${suffix}`;
}

/** Whether `id` has the shape of a backup id. */
export function isBackupId(id: string): boolean {
  return BACKUP_ID.test(id);
}

/** Validates a manifest value; throws {@link ManifestError} listing what is wrong. */
export function parseManifest(value: unknown, id = "?"): DatabaseManifest {
  const result = databaseManifestSchema.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues.slice(0, 5).map((issue) =>
      `${issue.path.join(".") || "(root)"} ${issue.message}`
    );
    throw new ManifestError(`Manifest of backup ${id} is not valid: ${problems.join("; ")}`);
  }
  if (result.data.backupId !== id && id !== "?") {
    throw new ManifestError(`Manifest ${id} names another backup (${result.data.backupId})`);
  }
  return result.data;
}

/** Validates then saves a manifest. Call only once every blob it references is stored. */
export async function saveDatabaseManifest(
  repository: Repository,
  manifest: DatabaseManifest,
): Promise<void> {
  const valid = parseManifest(manifest, manifest.backupId);
  await repository.saveManifest(DATABASE_MANIFEST_KIND, valid.backupId, valid);
}

/** Every database backup id in the repository, newest first. */
export async function listDatabaseBackupIds(repository: Repository): Promise<string[]> {
  const ids = await repository.listManifests(DATABASE_MANIFEST_KIND);
  return ids.filter(isBackupId).sort().reverse();
}

/**
 * The newest backup of a class (default `full`, the project's) whose id is not dated in the
 * future (`backup_time.ts`), or undefined when there is none. Manifests are read newest first
 * until one of the class turns up; one that cannot be read stops the search with its error.
 */
export async function findLatestDatabaseBackup(
  repository: Repository,
  options: { class?: BackupClass; now?: Date } = {},
): Promise<DatabaseManifest | undefined> {
  const wanted = options.class ?? "full";
  const now = options.now ?? new Date();
  for (const candidate of await listDatabaseBackupIds(repository)) {
    if (isFutureId(candidate, now)) continue;
    const manifest = await loadDatabaseManifest(repository, candidate, { now });
    if (backupClassOf(manifest) === wanted) return manifest;
  }
  return undefined;
}

/**
 * Loads and validates a manifest. `"latest"` is the newest full backup of the project
 * (partial, safety and other-database backups are skipped: name them by id, or ask for
 * `"latest:<class>"`); ids dated in the future are never latest and are refused when named
 * (unless `allowFuture`, for listings). Throws {@link ManifestError} when there is none.
 */
export async function loadDatabaseManifest(
  repository: Repository,
  id: string,
  options: { now?: Date; allowFuture?: boolean } = {},
): Promise<DatabaseManifest> {
  let choice;
  try {
    choice = parseBackupChoice(id);
  } catch (error) {
    throw new ManifestError((error as Error).message);
  }
  if ("latest" in choice) {
    const found = await findLatestDatabaseBackup(repository, {
      class: choice.latest,
      now: options.now,
    });
    if (found) return found;
    const ids = await listDatabaseBackupIds(repository);
    if (ids.length === 0) throw new ManifestError("The repository has no database backup yet");
    throw new ManifestError(
      choice.latest === "full"
        ? `The repository has no full database backup yet, only partial, safety, other-database ` +
          `or future-dated ones (${ids.length}): name one by id, or as latest:partial`
        : `The repository has no ${choice.latest} database backup`,
    );
  }
  if (!isBackupId(id)) {
    throw new ManifestError(
      `"${id}" is not a backup id (like 20261125T141500Z-ab12cd) or "latest"`,
    );
  }
  if (!options.allowFuture) {
    try {
      refuseFutureId("Database backup", id, options.now);
    } catch (error) {
      throw new ManifestError((error as Error).message, { cause: error });
    }
  }
  let value: unknown;
  try {
    value = await repository.loadManifest(DATABASE_MANIFEST_KIND, id);
  } catch (error) {
    if (error instanceof Error && error.name === "NotFoundError") {
      throw new ManifestError(`No database backup ${id} in the repository`, { cause: error });
    }
    throw error;
  }
  if (value === undefined || value === null) {
    throw new ManifestError(`No database backup ${id} in the repository`);
  }
  // The validated copy keeps the mark of an authenticated seal (`authenticity.ts`).
  return carryAuthentication(value, parseManifest(value, id));
}
