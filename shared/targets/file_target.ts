/**
 * A storage target on the local filesystem.
 *
 * Saves are atomic: bytes stream into a temporary file in the key's directory, are checked,
 * fsynced, and only then renamed over the key. Directories are created 0700, files 0600.
 *
 * @module
 */

import { basename, dirname, join, resolve } from "node:path";
import { checkKey, checkPrefix, checkRange, isTempName, tempSuffix } from "./keys.ts";
import type { LoadOptions, ObjectInfo, SavedObject, SaveOptions, StorageTarget } from "./target.ts";
import { NotFoundError, TargetError } from "../util/errors.ts";
import { verifyBody } from "./verify_stream.ts";

const READ_CHUNK = 256 * 1024;

/** A {@link StorageTarget} rooted at a local directory. */
export class FileTarget implements StorageTarget {
  readonly kind = "file" as const;
  readonly location: string;
  readonly #root: string;

  /** @param root the directory holding the objects; created (0700) on the first save */
  constructor(root: string) {
    if (!root) throw new TargetError("File target root must not be empty");
    this.#root = resolve(root);
    this.location = `file://${this.#root}`;
  }

  #path(key: string): string {
    return join(this.#root, ...checkKey(key).split("/"));
  }

  async save(
    key: string,
    body: ReadableStream<Uint8Array> | Uint8Array,
    options: SaveOptions = {},
  ): Promise<SavedObject> {
    const path = this.#path(key);
    const verified = verifyBody(key, body, options);
    const reader = verified.readable.getReader();
    const dir = dirname(path);
    const temp = join(dir, `.${basename(path)}${tempSuffix()}`);
    let file: Deno.FsFile | undefined;
    try {
      file = await createFile(dir, temp);
      while (true) {
        const { done, value } = await reader.read();
        if (done) break;
        await writeAll(file, value);
      }
      await file.sync();
      file.close();
      file = undefined;
      options.signal?.throwIfAborted();
      await Deno.rename(temp, path);
    } catch (error) {
      reader.cancel(error).catch(() => {});
      try {
        file?.close();
      } catch { /* already closed */ }
      await Deno.remove(temp).catch(() => {});
      throw verified.failure ?? wrap(error, `Saving "${key}" on ${this.location} failed`);
    }
    await syncDir(dir);
    return { key, ...verified.digest() };
  }

  async load(key: string, options: LoadOptions = {}): Promise<ReadableStream<Uint8Array>> {
    const { offset = 0, length, signal } = options;
    const path = this.#path(key);
    checkRange(offset, length);
    signal?.throwIfAborted();
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { read: true });
    } catch (error) {
      throw this.#mapMissing(error, key);
    }
    let remaining = length ?? Infinity;
    try {
      const info = await file.stat();
      if (!info.isFile) throw new NotFoundError(key, this.location);
      if (offset > 0) await file.seek(offset, Deno.SeekMode.Start);
    } catch (error) {
      file.close();
      throw this.#mapMissing(error, key);
    }
    let open = true;
    const close = () => {
      if (open) {
        open = false;
        file.close();
      }
    };
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          signal?.throwIfAborted();
          if (remaining <= 0) {
            close();
            controller.close();
            return;
          }
          const buffer = new Uint8Array(Math.min(READ_CHUNK, remaining));
          const n = await file.read(buffer);
          if (n === null) {
            close();
            controller.close();
            return;
          }
          remaining -= n;
          controller.enqueue(buffer.subarray(0, n));
        } catch (error) {
          close();
          controller.error(error);
        }
      },
      cancel() {
        close();
      },
    }, { highWaterMark: 0 });
  }

  async stat(key: string): Promise<ObjectInfo> {
    try {
      const info = await Deno.stat(this.#path(key));
      if (!info.isFile) throw new NotFoundError(key, this.location);
      return { key, size: info.size, lastModified: info.mtime ?? undefined };
    } catch (error) {
      throw this.#mapMissing(error, key);
    }
  }

  async *list(prefix: string, options: { signal?: AbortSignal } = {}): AsyncIterable<ObjectInfo> {
    checkPrefix(prefix);
    const cut = prefix.lastIndexOf("/");
    const base = cut >= 0 ? prefix.slice(0, cut) : "";
    yield* this.#walk(base, prefix, options.signal);
  }

  async *#walk(relDir: string, prefix: string, signal?: AbortSignal): AsyncIterable<ObjectInfo> {
    signal?.throwIfAborted();
    const absDir = relDir ? join(this.#root, ...relDir.split("/")) : this.#root;
    const entries: Deno.DirEntry[] = [];
    try {
      for await (const entry of Deno.readDir(absDir)) entries.push(entry);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
        return;
      }
      throw wrap(error, `Listing "${prefix}" on ${this.location} failed`);
    }
    for (const entry of entries) {
      const key = relDir ? `${relDir}/${entry.name}` : entry.name;
      if (entry.isDirectory) {
        const asDir = `${key}/`;
        if (asDir.startsWith(prefix) || prefix.startsWith(asDir)) {
          yield* this.#walk(key, prefix, signal);
        }
      } else if (entry.isFile && !isTempName(entry.name) && key.startsWith(prefix)) {
        let info: Deno.FileInfo;
        try {
          info = await Deno.lstat(join(absDir, entry.name));
        } catch (error) {
          if (error instanceof Deno.errors.NotFound) continue; // removed meanwhile
          throw wrap(error, `Listing "${prefix}" on ${this.location} failed`);
        }
        yield { key, size: info.size, lastModified: info.mtime ?? undefined };
      }
    }
  }

  async remove(key: string): Promise<void> {
    try {
      await Deno.remove(this.#path(key));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      throw wrap(error, `Removing "${key}" on ${this.location} failed`);
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  #mapMissing(error: unknown, key: string): unknown {
    if (error instanceof TargetError) return error;
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return new NotFoundError(key, this.location);
    }
    return wrap(error, `Reading "${key}" on ${this.location} failed`);
  }
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.byteLength) {
    written += await file.write(bytes.subarray(written));
  }
}

/** Makes a rename durable; best effort, as not every filesystem allows syncing a directory. */
async function syncDir(dir: string): Promise<void> {
  let handle: Deno.FsFile | undefined;
  try {
    handle = await Deno.open(dir, { read: true });
    await handle.sync();
  } catch {
    // not supported here; the rename itself already happened
  } finally {
    handle?.close();
  }
}

function wrap(error: unknown, message: string): unknown {
  if (error instanceof TargetError) return error;
  if (error instanceof DOMException && error.name === "AbortError") return error;
  const detail = error instanceof Error ? error.message : String(error);
  return new TargetError(`${message}: ${detail}`, { cause: error });
}

/** Creates `temp` in `dir`, making the directory only when it is missing (one call, not two). */
async function createFile(dir: string, temp: string): Promise<Deno.FsFile> {
  const options = { write: true, createNew: true, mode: 0o600 };
  try {
    return await Deno.open(temp, options);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    return await Deno.open(temp, options);
  }
}
