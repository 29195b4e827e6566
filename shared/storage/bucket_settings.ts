/**
 * Bucket settings (public, size limit, allowed MIME types) live in `storage.buckets`, not in
 * the S3 protocol: read them when the project's database is reachable, and write them back
 * after a restore re-created a bucket.
 *
 * @module
 */
import type postgres from "postgres";
import type { BucketSettings } from "./manifest.ts";

/**
 * Settings of the named buckets from `storage.buckets`; a bucket without a row maps to null.
 * Returns undefined when the database cannot be read (the snapshot goes on without them).
 */
export async function readBucketSettings(
  sql: postgres.Sql,
  buckets: string[],
): Promise<Record<string, BucketSettings | null> | undefined> {
  try {
    const rows = await sql`
      select id, public, file_size_limit, allowed_mime_types
      from storage.buckets where id = any(${buckets})`;
    const byId = new Map(rows.map((row) => [row.id as string, row]));
    return Object.fromEntries(buckets.map((name) => {
      const row = byId.get(name);
      if (!row) return [name, null];
      return [name, {
        public: row.public ?? undefined,
        fileSizeLimit: row.file_size_limit === null ? null : Number(row.file_size_limit),
        allowedMimeTypes: row.allowed_mime_types ?? null,
      }];
    }));
  } catch (error) {
    console.error(`Bucket settings could not be read from storage.buckets: ${messageOf(error)}`);
    return undefined;
  }
}

/**
 * Applies saved settings to a bucket's `storage.buckets` row (inserting the row when Storage
 * has not, as a bare S3 server never does). Returns false when the database refused.
 */
export async function applyBucketSettings(
  sql: postgres.Sql,
  bucket: string,
  settings: BucketSettings,
): Promise<boolean> {
  try {
    await sql`
      insert into storage.buckets (id, name, public, file_size_limit, allowed_mime_types)
      values (${bucket}, ${bucket}, ${settings.public ?? false},
              ${settings.fileSizeLimit ?? null}, ${settings.allowedMimeTypes ?? null})
      on conflict (id) do update set
        public = excluded.public,
        file_size_limit = excluded.file_size_limit,
        allowed_mime_types = excluded.allowed_mime_types,
        updated_at = now()`;
    return true;
  } catch (error) {
    console.error(`Settings of bucket "${bucket}" could not be applied: ${messageOf(error)}`);
    return false;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message.split("\n")[0] : String(error);
}
