/**
 * Reading Supabase Storage through its S3-compatible endpoint: every bucket, a complete
 * recursive listing (ListObjectsV2, followed across pages by continuation token; never the
 * REST list(), which is one folder of 100 entries), and object bodies in bounded parts, all
 * through the one S3 client (`targets/s3_http.ts`).
 *
 * @module
 */
import {
  errorFrom,
  normalizeEtag,
  objectHead,
  type S3Http,
  S3ResponseError,
} from "../targets/s3_http.ts";

/** One object as the listing reports it. */
export interface ListedObject {
  bucket: string;
  key: string;
  size: number;
  /** ETag without quotes. */
  etag: string;
  /** ISO 8601. */
  lastModified: string;
}

/** An object's body and the metadata that came with it. */
export interface SourceObject {
  body: ReadableStream<Uint8Array>;
  size: number;
  etag: string;
  lastModified: string;
  contentType?: string;
  cacheControl?: string;
  contentEncoding?: string;
  contentDisposition?: string;
  metadata: Record<string, string>;
}

/** The object was listed but is gone (deleted while the snapshot ran). */
export class ObjectVanishedError extends Error {
  constructor(readonly bucket: string, readonly key: string) {
    super(`Object "${key}" in bucket "${bucket}" disappeared while the snapshot ran`);
    this.name = "ObjectVanishedError";
  }
}

/** The object was replaced while it was being read in parts. */
export class ObjectChangedError extends Error {
  constructor(readonly bucket: string, readonly key: string) {
    super(`Object "${key}" in bucket "${bucket}" changed while it was being read`);
    this.name = "ObjectChangedError";
  }
}

/** Objects larger than this are read in ranged parts of this size. */
export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;

/** A bucket named in the request does not exist on the source. */
export class BucketNotFoundError extends Error {
  constructor(readonly bucket: string) {
    super(`Bucket "${bucket}" does not exist on the Storage endpoint`);
    this.name = "BucketNotFoundError";
  }
}

/** Reads buckets and objects from a Storage S3 endpoint. */
export class StorageSource {
  constructor(private readonly http: S3Http) {}

  /** Names of every bucket, sorted. */
  async listBuckets(options: { signal?: AbortSignal } = {}): Promise<string[]> {
    return (await this.http.listBuckets(options)).sort();
  }

  /**
   * Every object of a bucket, in the server's listing order, following continuation tokens
   * until the listing is complete. `startAfter` resumes after a key (exclusive).
   */
  async *listObjects(
    bucket: string,
    options: { startAfter?: string; pageSize?: number; signal?: AbortSignal } = {},
  ): AsyncIterable<ListedObject> {
    const listing = this.http.listObjects(bucket, {
      startAfter: options.startAfter,
      pageSize: options.pageSize ?? 1000,
      signal: options.signal,
    });
    try {
      for await (const item of listing) {
        yield {
          bucket,
          key: item.key,
          size: item.size,
          etag: item.etag,
          lastModified: new Date(item.lastModified ?? 0).toISOString(),
        };
      }
    } catch (error) {
      if (error instanceof S3ResponseError && error.code === "NoSuchBucket") {
        throw new BucketNotFoundError(bucket);
      }
      throw error;
    }
  }

  /**
   * Opens an object for reading. An object up to `partSize` is read whole in one request;
   * a larger one as consecutive ranged GETs pinned to the first part's ETag (`If-Match`), at
   * most `prefetch` parts ahead of the part the reader holds, so memory stays bounded whatever
   * the object's size and however slowly it is consumed. Each part (or whole object) is read
   * into a buffer from `allocate` (default: a new one), which the reader then owns.
   *
   * @throws {ObjectVanishedError} when the object no longer exists
   * @throws {ObjectChangedError} when it was replaced while being read
   */
  async getObject(
    bucket: string,
    key: string,
    options: {
      signal?: AbortSignal;
      sizeHint?: number;
      partSize?: number;
      prefetch?: number;
      allocate?: (length: number) => Uint8Array<ArrayBuffer>;
    } = {},
  ): Promise<SourceObject> {
    const partSize = options.partSize ?? DEFAULT_PART_SIZE;
    const allocate = options.allocate ?? ((length: number) => new Uint8Array(length));
    const ranged = (options.sizeHint ?? 0) > partSize;
    const first = await this.#get(bucket, key, {
      signal: options.signal,
      range: ranged ? `bytes=0-${partSize - 1}` : undefined,
    });
    const partial = first.status === 206;
    const total = partial
      ? totalFromRange(first.headers.get("content-range"))
      : Number(first.headers.get("content-length") ?? 0);
    const etag = first.headers.get("etag") ?? "";
    const { size: _partLength, ...described } = objectHead(first.headers);
    const head = {
      ...described,
      size: total,
      lastModified: described.lastModified ?? new Date(0).toISOString(),
    };
    if (!partial && total > partSize) {
      // Larger than listed, or the server ignored the range: stream it rather than hold it.
      return { ...head, body: first.body ?? ReadableStream.from([]) };
    }
    const firstLength = partial ? Math.min(partSize, total) : total;
    const firstPart = readAll(first, allocate(firstLength));
    firstPart.catch(() => {}); // Reported when the reader reaches it.
    if (!partial || total <= partSize) {
      return { ...head, body: ReadableStream.from(once(firstPart)) };
    }
    const parts = Math.ceil(total / partSize);
    const fetchPart = async (index: number): Promise<Uint8Array> => {
      const start = index * partSize;
      const end = Math.min(total, start + partSize) - 1;
      const response = await this.#get(bucket, key, {
        signal: options.signal,
        range: `bytes=${start}-${end}`,
        ifMatch: etag,
      });
      if (response.status !== 206) {
        await response.body?.cancel();
        throw new Error(`The Storage endpoint ignored a ranged read of "${key}"`);
      }
      // Also checked here, for endpoints that ignore If-Match.
      if (normalizeEtag(response.headers.get("etag")) !== normalizeEtag(etag)) {
        await response.body?.cancel();
        throw new ObjectChangedError(bucket, key);
      }
      return await readAll(response, allocate(end - start + 1));
    };
    const prefetch = Math.max(1, options.prefetch ?? 1);
    const queue: Promise<Uint8Array>[] = [firstPart];
    let next = 1;
    // Called when the reader takes a part: the parts still queued are the ones ahead of it.
    const fill = () => {
      while (queue.length < prefetch && next < parts) {
        const load = fetchPart(next++);
        load.catch(() => {}); // Reported when the reader reaches it.
        queue.push(load);
      }
    };
    async function* body(): AsyncGenerator<Uint8Array> {
      while (queue.length) {
        const bytes = await queue.shift()!;
        fill();
        yield bytes;
      }
    }
    return { ...head, body: ReadableStream.from(body()) };
  }

  async #get(
    bucket: string,
    key: string,
    options: { signal?: AbortSignal; range?: string; ifMatch?: string },
  ): Promise<Response> {
    const response = await this.http.request("GET", bucket, key, {
      headers: { range: options.range, "if-match": options.ifMatch },
      signal: options.signal,
    });
    if (response.ok) return response;
    const error = errorFrom(response.status, await response.text());
    if (error.code === "NoSuchKey" || (response.status === 404 && error.code !== "NoSuchBucket")) {
      throw new ObjectVanishedError(bucket, key);
    }
    if (error.code === "NoSuchBucket") throw new BucketNotFoundError(bucket);
    // A later part failing its precondition, or out of range: the object was replaced.
    if (response.status === 412 || (response.status === 416 && options.ifMatch)) {
      throw new ObjectChangedError(bucket, key);
    }
    throw error;
  }
}

async function* once(part: Promise<Uint8Array>): AsyncGenerator<Uint8Array> {
  const bytes = await part;
  if (bytes.length) yield bytes;
}

/**
 * Reads a body of known length whole into `into` (callers bound the length), checking it. The
 * bytes go straight there (a BYOB reader): `arrayBuffer()` gathers a body in growing buffers
 * first, which cost about 100 MB more peak memory over a 1 GB snapshot in Deno 2.9 (measured).
 * Answers a view of the same memory (a BYOB read moves the buffer: `into` is left detached).
 */
async function readAll(response: Response, into: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const length = into.length;
  const wrong = (got: number | string) =>
    new Error(`The Storage endpoint sent ${got} bytes where ${length} were due`);
  const body = response.body;
  let reader: ReadableStreamBYOBReader | undefined;
  try {
    reader = body?.getReader({ mode: "byob" });
  } catch {
    // Not a byte stream here: gather it.
  }
  if (!reader) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes.length !== length) throw wrong(bytes.length);
    return bytes;
  }
  const start = into.byteOffset;
  let buffer = into;
  let filled = 0;
  try {
    while (filled < length) {
      const { done, value } = await reader.read(
        new Uint8Array(buffer.buffer, start + filled, length - filled),
      );
      // The read moved the buffer.
      if (value) buffer = new Uint8Array(value.buffer as ArrayBuffer, start, length);
      if (done) throw wrong(filled);
      filled += value!.byteLength;
    }
    const more = await reader.read(new Uint8Array(1));
    if (!more.done) throw wrong("more");
  } catch (error) {
    await reader.cancel().catch(() => {});
    throw error;
  }
  reader.releaseLock();
  return buffer;
}

function totalFromRange(contentRange: string | null): number {
  const match = /\/(\d+)\s*$/.exec(contentRange ?? "");
  if (!match) throw new Error("The Storage endpoint answered a ranged read without Content-Range");
  return Number(match[1]);
}
