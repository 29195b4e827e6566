/**
 * Which blobs a destination already holds, asked one by one (a `stat` each) for small
 * replications, or listed once (one request per thousand blobs on S3) for large ones.
 *
 * @module
 */
import type { Repository } from "../repository/repository.ts";
import { blobKey } from "../repository/repository.ts";
import { NotFoundError } from "../util/errors.ts";

/** A destination's blobs and their stored sizes, learnt lazily and kept up to date. */
export class DestinationIndex {
  readonly #repository: Repository;
  readonly #listAbove: number;
  #listed?: Map<string, number>;
  readonly #known = new Map<string, number>();

  /** `listAbove`: list the destination once when a backup references more blobs than this. */
  constructor(repository: Repository, options: { listAbove?: number } = {}) {
    this.#repository = repository;
    this.#listAbove = options.listAbove ?? 256;
  }

  /** Prepares for checking `count` blobs: lists the destination when that is cheaper. */
  async prepare(count: number): Promise<void> {
    if (this.#listed || count <= this.#listAbove) return;
    const listed = new Map<string, number>();
    for await (const blob of this.#repository.listBlobObjects()) {
      listed.set(blob.id, blob.storedSize);
    }
    for (const [id, size] of this.#known) listed.set(id, size);
    this.#listed = listed;
  }

  /** The stored size of a blob at the destination; undefined when it is not there. */
  async storedSize(id: string): Promise<number | undefined> {
    if (this.#known.has(id)) return this.#known.get(id);
    if (this.#listed) return this.#listed.get(id);
    try {
      const size = (await this.#repository.target.stat(blobKey(id))).size;
      this.#known.set(id, size);
      return size;
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }

  /** Records that a blob is now stored with this size. */
  add(id: string, storedSize: number): void {
    this.#known.set(id, storedSize);
    this.#listed?.set(id, storedSize);
  }
}
