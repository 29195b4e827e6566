/**
 * Writing restored objects to a Storage S3 endpoint: buckets, object heads for the
 * "already identical" check, and uploads that stream (a single PUT up to a threshold,
 * multipart above it) with content type, cache control and user metadata kept; all through
 * the one S3 client (`targets/s3_http.ts`).
 *
 * @module
 */
import { awsCredentialChain, S3Http } from "../targets/s3_http.ts";
import type { StorageS3Settings } from "./endpoint.ts";
import type { ObjectEntry } from "./manifest.ts";

/** Objects above this size are uploaded in parts (default 64 MiB). */
export const MULTIPART_THRESHOLD = 64 * 1024 * 1024;

/** Part size of multipart uploads. */
export const PART_SIZE = 8 * 1024 * 1024;

/** What a destination already holds under a key. */
export interface ExistingObject {
  size: number;
  etag: string;
}

/** The metadata of an object at the destination. */
export interface ObjectHead {
  size: number;
  etag: string;
  contentType?: string;
  cacheControl?: string;
  contentEncoding?: string;
  contentDisposition?: string;
  metadata: Record<string, string>;
}

/** Writes buckets and objects to a Storage S3 endpoint (path-style, as Storage wants it). */
export class StorageDestination {
  readonly #http: S3Http;

  /** Without keys in `settings`, it signs with what the AWS default credential chain finds. */
  constructor(settings: StorageS3Settings) {
    this.#http = new S3Http({
      ...settings,
      credentials: settings.accessKeyId === undefined
        ? awsCredentialChain(settings.region ?? "us-east-1")
        : undefined,
    });
  }

  /** Names of the buckets that exist. */
  async listBuckets(): Promise<Set<string>> {
    return new Set(await this.#http.listBuckets());
  }

  /** Creates a bucket; succeeds when it exists already. */
  async createBucket(name: string): Promise<void> {
    await this.#http.createBucket(name);
  }

  /** Every object under a prefix of a bucket, by key (one listing instead of a HEAD each). */
  async listExisting(bucket: string, prefix = ""): Promise<Map<string, ExistingObject>> {
    const found = new Map<string, ExistingObject>();
    for await (const item of this.#http.listObjects(bucket, { prefix })) {
      found.set(item.key, { size: item.size, etag: item.etag });
    }
    return found;
  }

  /** The metadata of one object, or undefined when it does not exist. */
  async head(bucket: string, key: string): Promise<ObjectHead | undefined> {
    const head = await this.#http.headObject(bucket, key);
    if (!head) return undefined;
    return {
      size: head.size,
      etag: head.etag,
      contentType: head.contentType,
      cacheControl: head.cacheControl,
      contentEncoding: head.contentEncoding,
      contentDisposition: head.contentDisposition,
      metadata: head.metadata,
    };
  }

  /** Removes one object (missing is fine). */
  async remove(bucket: string, key: string): Promise<void> {
    await this.#http.deleteObject(bucket, key);
  }

  /**
   * Uploads one object from a stream of its bytes, with the entry's metadata. A body that
   * fails (a corrupt blob, one that does not match the snapshot) ends the upload with its own
   * error, and nothing is stored under the key.
   */
  async put(
    entry: ObjectEntry,
    body: ReadableStream<Uint8Array>,
    options: { signal?: AbortSignal; multipartThreshold?: number } = {},
  ): Promise<void> {
    const headers: Record<string, string | undefined> = {
      "content-type": entry.contentType,
      "cache-control": entry.cacheControl,
      "content-encoding": entry.contentEncoding,
      "content-disposition": entry.contentDisposition,
    };
    for (const [name, value] of Object.entries(entry.metadata ?? {})) {
      headers[`x-amz-meta-${name.toLowerCase()}`] = value;
    }
    if (entry.size <= (options.multipartThreshold ?? MULTIPART_THRESHOLD)) {
      await this.#http.putObjectStream(entry.bucket, entry.key, body, {
        length: entry.size,
        headers,
        signal: options.signal,
      });
    } else {
      await this.#http.upload(entry.bucket, entry.key, body, {
        headers,
        partSize: PART_SIZE,
        queueSize: 2,
        signal: options.signal,
      });
    }
  }

  /** Closes the idle connections. */
  async close(): Promise<void> {
    await this.#http.close();
  }
}
