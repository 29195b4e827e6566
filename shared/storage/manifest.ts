/**
 * The Storage snapshot manifest (`manifests/storage/<id>.json`): the single source of truth of
 * a snapshot, written last, once every object's blobs are stored.
 *
 * Versioned and validated with zod on read, so a manifest from a newer or damaged writer is
 * refused with a clear message instead of being half-understood.
 *
 * @module
 */
import { z } from "zod";

/** The manifest kind under `manifests/`. */
export const STORAGE_MANIFEST_KIND = "storage";

/** Version written by this code. */
export const STORAGE_MANIFEST_VERSION = 1;

const blobRef = z.object({
  id: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
  storedSize: z.number().int().nonnegative(),
});

/** One object of a snapshot. */
export const objectEntrySchema = z.object({
  bucket: z.string().min(1),
  key: z.string().min(1),
  size: z.number().int().nonnegative(),
  /** SHA-256 of the whole object (lowercase hex). */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** The source's ETag, without quotes (for the incremental comparison and restore skips). */
  etag: z.string(),
  lastModified: z.string(),
  contentType: z.string().optional(),
  cacheControl: z.string().optional(),
  contentEncoding: z.string().optional(),
  contentDisposition: z.string().optional(),
  metadata: z.record(z.string(), z.string()),
  /** The object's content, in order. */
  blobs: z.array(blobRef),
});

/** One object of a snapshot. */
export type ObjectEntry = z.infer<typeof objectEntrySchema>;

/** Settings of a bucket, read from `storage.buckets` when the database was reachable. */
export const bucketSettingsSchema = z.object({
  public: z.boolean().optional(),
  fileSizeLimit: z.number().int().nonnegative().nullable().optional(),
  allowedMimeTypes: z.array(z.string()).nullable().optional(),
});

/** Settings of a bucket. */
export type BucketSettings = z.infer<typeof bucketSettingsSchema>;

const linkList = z.object({
  count: z.number().int().nonnegative(),
  /** The first few, for reports. */
  examples: z.array(z.object({ bucket: z.string(), key: z.string() })),
});

/** How the snapshot pairs with the database backups and `storage.objects`. */
export const pairingSchema = z.object({
  /** The database backup on the same target this snapshot pairs with (latest when it ran). */
  databaseBackupId: z.string().nullable(),
  /** Whether `storage.objects` could be compared with the bucket listing. */
  database: z.enum(["compared", "unreachable", "not_configured"]),
  /** Rows of `storage.objects` with no object in the bucket: broken links after a restore. */
  missingFromBucket: linkList,
  /** Objects in a bucket with no `storage.objects` row: invisible to the Storage API. */
  missingFromDatabase: linkList,
});

/** How the snapshot pairs with the database. */
export type Pairing = z.infer<typeof pairingSchema>;

/** A Storage snapshot manifest. */
export const storageManifestSchema = z.object({
  version: z.literal(STORAGE_MANIFEST_VERSION),
  kind: z.literal("storage"),
  id: z.string().min(1),
  startedAt: z.string(),
  finishedAt: z.string(),
  /** Where the objects were read (no credentials). */
  source: z.object({ endpoint: z.string() }),
  /** The snapshot whose unchanged objects were referenced rather than read again. */
  previousSnapshotId: z.string().nullable(),
  options: z.object({
    compression: z.string(),
    encrypted: z.boolean(),
    chunkSize: z.number().int().positive(),
  }),
  buckets: z.array(z.object({
    name: z.string().min(1),
    settings: bucketSettingsSchema.nullable(),
    objects: z.number().int().nonnegative(),
    bytes: z.number().int().nonnegative(),
  })),
  pairing: pairingSchema,
  totals: z.object({
    objects: z.number().int().nonnegative(),
    bytes: z.number().int().nonnegative(),
    /** Objects read from the source in this snapshot. */
    copied: z.number().int().nonnegative(),
    /** Objects unchanged since the previous snapshot, referenced without reading. */
    skipped: z.number().int().nonnegative(),
    /** Bytes newly stored on the target (after compression and deduplication). */
    storedBytes: z.number().int().nonnegative(),
    /** Listed objects that were deleted before they could be read. */
    vanished: z.number().int().nonnegative(),
  }),
  objects: z.array(objectEntrySchema),
});

/** A Storage snapshot manifest. */
export type StorageManifest = z.infer<typeof storageManifestSchema>;

/** Validates a manifest read from a target. */
export function parseStorageManifest(value: unknown, id = "?"): StorageManifest {
  const version = (value as { version?: unknown } | null)?.version;
  if (typeof version === "number" && version > STORAGE_MANIFEST_VERSION) {
    throw new Error(
      `Storage snapshot ${id} has manifest version ${version}; this Sauvegarde reads up to ${STORAGE_MANIFEST_VERSION}`,
    );
  }
  const result = storageManifestSchema.safeParse(value);
  if (!result.success) {
    const first = result.error.issues[0];
    throw new Error(
      `Storage snapshot ${id} has an invalid manifest: ${first.path.join(".")} ${first.message}`,
    );
  }
  return result.data;
}

/** A new snapshot id: UTC time to the second, then 4 random hex digits. */
export function newSnapshotId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  const random = crypto.getRandomValues(new Uint8Array(2));
  return `${stamp}-${[...random].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** The key an object is known by across snapshots. */
export function entryKey(bucket: string, key: string): string {
  return `${bucket}\u0000${key}`;
}
