/**
 * An in-memory {@link StorageTarget} test double that keeps the interface's contract (it runs
 * the contract suite, `target_contract.ts`): all-or-nothing saves checked against an expected
 * size and SHA-256, keys and ranges checked as the real targets check them, ranged loads,
 * NotFoundError for missing keys, idempotent removes.
 *
 * It also counts operations so tests can assert that nothing was uploaded again.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { checkKey, checkPrefix, checkRange } from "../../shared/targets/keys.ts";
import type {
  LoadOptions,
  ObjectInfo,
  SavedObject,
  SaveOptions,
  StorageTarget,
} from "../../shared/targets/target.ts";
import { IntegrityError, NotFoundError, TargetError } from "../../shared/util/errors.ts";

/** Counters of calls made to a {@link MemoryTarget}. */
export interface MemoryTargetCounts {
  save: number;
  load: number;
  stat: number;
  list: number;
  remove: number;
}

/** A storage target that keeps every object in a Map. */
export class MemoryTarget implements StorageTarget {
  readonly kind = "file" as const;
  readonly location: string;
  /** The stored objects, by key; tests may read or tamper with them directly. */
  readonly objects = new Map<string, { bytes: Uint8Array; lastModified: Date }>();
  /** How many times each operation was called. */
  readonly counts: MemoryTargetCounts = { save: 0, load: 0, stat: 0, list: 0, remove: 0 };
  #closed = false;

  constructor(name = "memory") {
    this.location = `memory:${name}`;
  }

  async save(
    key: string,
    body: ReadableStream<Uint8Array> | Uint8Array,
    options: SaveOptions = {},
  ): Promise<SavedObject> {
    this.#open();
    this.counts.save++;
    checkKey(key);
    options.signal?.throwIfAborted();
    const parts: Uint8Array[] = [];
    if (body instanceof Uint8Array) {
      parts.push(body.slice());
    } else {
      for await (const part of body) {
        options.signal?.throwIfAborted();
        parts.push(part.slice());
      }
    }
    const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      bytes.set(p, at);
      at += p.length;
    }
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    if (options.size !== undefined && options.size !== bytes.length) {
      throw new IntegrityError(
        `Object "${key}" is ${bytes.length} bytes, expected ${options.size}`,
      );
    }
    if (options.sha256 !== undefined && options.sha256 !== sha256) {
      throw new IntegrityError(`Object "${key}" does not hash to the expected SHA-256`);
    }
    options.signal?.throwIfAborted();
    this.objects.set(key, { bytes, lastModified: new Date() });
    return { key, size: bytes.length, sha256 };
  }

  // deno-lint-ignore require-await
  async load(key: string, options: LoadOptions = {}): Promise<ReadableStream<Uint8Array>> {
    this.#open();
    this.counts.load++;
    checkKey(key);
    checkRange(options.offset ?? 0, options.length);
    const entry = this.objects.get(key);
    if (!entry) throw new NotFoundError(key, this.location);
    const start = options.offset ?? 0;
    const end = options.length === undefined ? entry.bytes.length : start + options.length;
    const bytes = entry.bytes.slice(start, end);
    // Deliver in pieces, as a network or file stream would.
    const piece = 64 * 1024;
    let at = 0;
    return new ReadableStream<Uint8Array>({
      pull(controller) {
        if (at >= bytes.length) return controller.close();
        controller.enqueue(bytes.slice(at, at + piece));
        at += piece;
      },
    });
  }

  // deno-lint-ignore require-await
  async stat(key: string): Promise<ObjectInfo> {
    this.#open();
    this.counts.stat++;
    checkKey(key);
    const entry = this.objects.get(key);
    if (!entry) throw new NotFoundError(key, this.location);
    return { key, size: entry.bytes.length, lastModified: entry.lastModified };
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    this.#open();
    this.counts.list++;
    checkPrefix(prefix);
    for (const [key, entry] of [...this.objects]) {
      if (key.startsWith(prefix)) {
        yield { key, size: entry.bytes.length, lastModified: entry.lastModified };
      }
    }
  }

  // deno-lint-ignore require-await
  async remove(key: string): Promise<void> {
    this.#open();
    this.counts.remove++;
    checkKey(key);
    this.objects.delete(key);
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }

  #open(): void {
    if (this.#closed) throw new TargetError(`Target ${this.location} is closed`);
  }
}
