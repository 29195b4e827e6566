/**
 * Writing restored objects to a Storage S3 endpoint: buckets, object heads for the
 * "already identical" check, and uploads that stream (a single PUT up to a threshold,
 * multipart above it) with content type, cache control and user metadata kept.
 *
 * @module
 */
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { Readable } from "node:stream";
import type { ObjectEntry } from "./manifest.ts";
import { normalizeEtag } from "./source.ts";

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

/** Writes buckets and objects to a Storage S3 endpoint. */
export class StorageDestination {
  constructor(private readonly client: S3Client) {}

  /** Names of the buckets that exist. */
  async listBuckets(): Promise<Set<string>> {
    const result = await this.client.send(new ListBucketsCommand({}));
    return new Set((result.Buckets ?? []).map((b) => b.Name ?? "").filter(Boolean));
  }

  /** Creates a bucket; succeeds when it exists already. */
  async createBucket(name: string): Promise<void> {
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: name }));
    } catch (error) {
      const code = (error as { name?: string }).name;
      if (code !== "BucketAlreadyOwnedByYou" && code !== "BucketAlreadyExists") throw error;
    }
  }

  /** Every object under a prefix of a bucket, by key (one listing instead of a HEAD each). */
  async listExisting(bucket: string, prefix = ""): Promise<Map<string, ExistingObject>> {
    const found = new Map<string, ExistingObject>();
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: prefix || undefined,
          ContinuationToken: token,
        }),
      );
      for (const item of page.Contents ?? []) {
        if (item.Key !== undefined) {
          found.set(item.Key, { size: Number(item.Size ?? 0), etag: normalizeEtag(item.ETag) });
        }
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return found;
  }

  /** The metadata of one object, or undefined when it does not exist. */
  async head(bucket: string, key: string): Promise<ObjectHead | undefined> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return {
        size: Number(head.ContentLength ?? 0),
        etag: normalizeEtag(head.ETag),
        contentType: head.ContentType,
        cacheControl: head.CacheControl,
        contentEncoding: head.ContentEncoding,
        contentDisposition: head.ContentDisposition,
        metadata: { ...(head.Metadata ?? {}) },
      };
    } catch (error) {
      const code = (error as { name?: string }).name;
      if (code === "NotFound" || code === "NoSuchKey") return undefined;
      throw error;
    }
  }

  /** Removes one object (missing is fine). */
  async remove(bucket: string, key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  }

  /** Uploads one object from a stream of its bytes, with the entry's metadata. */
  async put(
    entry: ObjectEntry,
    body: ReadableStream<Uint8Array>,
    options: { signal?: AbortSignal; multipartThreshold?: number } = {},
  ): Promise<void> {
    const common = {
      Bucket: entry.bucket,
      Key: entry.key,
      ContentType: entry.contentType,
      CacheControl: entry.cacheControl,
      ContentEncoding: entry.contentEncoding,
      ContentDisposition: entry.contentDisposition,
      Metadata: entry.metadata,
    };
    const nodeBody = Readable.fromWeb(body as Parameters<typeof Readable.fromWeb>[0]);
    // A body that fails (a corrupt blob, one that does not match the snapshot) must end the
    // request with its own error: the SDK leaves a failing stream's error unhandled (it
    // surfaced as an uncaught exception) and its request waiting for the rest of the body.
    const failed = new AbortController();
    let bodyError: unknown;
    nodeBody.on("error", (error) => {
      bodyError ??= error;
      failed.abort(error);
    });
    const signal = options.signal
      ? AbortSignal.any([options.signal, failed.signal])
      : failed.signal;
    try {
      if (entry.size <= (options.multipartThreshold ?? MULTIPART_THRESHOLD)) {
        await this.client.send(
          new PutObjectCommand({ ...common, Body: nodeBody, ContentLength: entry.size }),
          { abortSignal: signal },
        );
      } else {
        await this.#multipart(common, nodeBody, signal);
      }
    } catch (error) {
      throw bodyError ?? error;
    }
    if (bodyError) throw bodyError;
  }

  async #multipart(
    params: ConstructorParameters<typeof PutObjectCommand>[0],
    body: Readable,
    signal: AbortSignal,
  ): Promise<void> {
    const upload = new Upload({
      client: this.client,
      params: { ...params, Body: body },
      partSize: PART_SIZE,
      queueSize: 2,
      leavePartsOnError: false,
    });
    const onAbort = () => upload.abort().catch(() => {});
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      await upload.done();
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }
}
