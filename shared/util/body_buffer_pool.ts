/**
 * Reusable buffers for object bodies. In Deno 2.9 a buffer allocated per object and dropped
 * after its upload is freed only when V8 next collects garbage, which it does late for memory
 * outside its heap: over a 1 GB snapshot, tens to hundreds of MB of dead buffers piled up
 * (measured). A snapshot reads every body into a buffer from this pool and gives it back once
 * the body is stored, so the same few buffers carry every object.
 *
 * Each buffer keeps {@link HEADROOM} free bytes before the body, so a blob stored
 * uncompressed can have its header written in front of the body rather than be copied behind
 * one (`storage/in_place_encoder.ts`). Chunks of one size (the database engine's) have their own
 * pool (`chunk_buffer_pool.ts`).
 *
 * @module
 */

import { releaseBuffer } from "./release_buffer.ts";

/** Free bytes before the body in every pooled buffer: room for a blob header. */
export const HEADROOM = 32;

/** The smallest buffer handed out; smaller bodies share its size. */
const SMALLEST = 16 * 1024;

/** Options for {@link BodyBufferPool}. */
export interface BodyBufferPoolOptions {
  /** The largest body asked for (a part of a large object): its buffers are of exactly this size. */
  largest: number;
  /** Most bytes of idle buffers kept; buffers given back beyond it are dropped. */
  maxIdleBytes: number;
}

/**
 * Buffers in a few sizes (powers of two from 16 KiB, and the largest body's size), handed out
 * as views of the asked length after {@link HEADROOM} bytes and taken back when given up.
 */
export class BodyBufferPool {
  readonly #largest: number;
  readonly #maxIdleBytes: number;
  /** Idle buffers by size. */
  readonly #idle = new Map<number, ArrayBuffer[]>();
  #idleBytes = 0;

  constructor(options: BodyBufferPoolOptions) {
    this.#largest = options.largest;
    this.#maxIdleBytes = options.maxIdleBytes;
  }

  /** The size of the buffer a body of `length` bytes gets (headroom included). */
  capacityFor(length: number): number {
    const needed = length + HEADROOM;
    const largest = this.#largest + HEADROOM;
    let capacity = SMALLEST;
    while (capacity < needed) capacity *= 2;
    // Between the last power of two and a part, the part's size wastes less.
    return needed <= largest && capacity > largest ? largest : capacity;
  }

  /** A view of `length` bytes with {@link HEADROOM} free bytes before it, in a buffer of ours. */
  take(length: number): Uint8Array<ArrayBuffer> {
    const capacity = this.capacityFor(length);
    let buffer = this.#idle.get(capacity)?.pop();
    if (buffer) this.#idleBytes -= capacity;
    else buffer = new ArrayBuffer(capacity);
    return new Uint8Array(buffer, HEADROOM, length);
  }

  /**
   * Takes a view's buffer back, for another body, or releases its memory when enough buffers
   * wait. The caller must be done with every view of it. A buffer not of the pool's sizes or
   * layout (or moved to another thread) is left alone.
   */
  give(view: Uint8Array): void {
    const buffer = view.buffer;
    if (!(buffer instanceof ArrayBuffer) || view.byteOffset !== HEADROOM) return;
    const capacity = buffer.byteLength;
    if (capacity === 0 || this.capacityFor(capacity - HEADROOM) !== capacity) return;
    const idle = this.#idle.get(capacity) ?? [];
    if (idle.includes(buffer)) return;
    if (this.#idleBytes + capacity > this.#maxIdleBytes) {
      // Not kept: its memory goes back now rather than at V8's next old-generation collection.
      releaseBuffer(new Uint8Array(buffer));
      return;
    }
    idle.push(buffer);
    this.#idle.set(capacity, idle);
    this.#idleBytes += capacity;
  }

  /** Bytes of idle buffers kept. */
  get idleBytes(): number {
    return this.#idleBytes;
  }
}
