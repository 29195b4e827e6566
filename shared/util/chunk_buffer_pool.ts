/**
 * Chunk buffers used again instead of allocated per chunk: buffers of one size, for the
 * database engine's COPY chunks (`pg/copy_lane.ts`), given back by the encoder once a chunk's
 * blob is encoded. Storage object bodies, of many sizes, have their own pool
 * (`body_buffer_pool.ts`).
 *
 * A backup cuts a gigabyte of rows into a few hundred multi-megabyte buffers. Fresh ones cost
 * page faults on first touch and sit in memory as garbage until V8 collects them; a buffer
 * that comes back once its chunk is encoded (from the encoder thread, see `codec/encoder.ts`)
 * is already resident and makes no garbage.
 *
 * @module
 */

import { releaseBuffer } from "./release_buffer.ts";

/** Buffers of one size, at most `keep` of them waiting. */
export class ChunkBufferPool {
  readonly size: number;
  readonly #keep: number;
  readonly #free: ArrayBuffer[] = [];

  constructor(size: number, keep = 8) {
    this.size = size;
    this.#keep = keep;
  }

  /** A buffer of `size` bytes (contents unspecified). */
  take(): Uint8Array<ArrayBuffer> {
    const buffer = this.#free.pop();
    return buffer ? new Uint8Array(buffer) : new Uint8Array(this.size);
  }

  /**
   * Gives a buffer back (the caller is done with it); ignored if it is of another size or
   * detached, released at once if the pool is full.
   */
  give(buffer: ArrayBufferLike): void {
    if (!(buffer instanceof ArrayBuffer) || buffer.detached) return;
    if (buffer.byteLength !== this.size || buffer.resizable) return;
    if (this.#free.length < this.#keep) this.#free.push(buffer);
    // Not kept: its memory goes back now rather than at V8's next old-generation collection.
    else releaseBuffer(new Uint8Array(buffer));
  }

  /** How many buffers wait to be taken. */
  get waiting(): number {
    return this.#free.length;
  }
}
