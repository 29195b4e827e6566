/**
 * Keeps the V8 heap of a long transfer run near what is live in it.
 *
 * V8 starts its next full collection when the heap reaches the live size times a growth
 * factor, and the factor is large (up to 4×) when collecting is cheap, as it is for a heap of
 * short-lived request objects. A Storage snapshot makes about 200 KB of such garbage per object
 * (fetch requests, headers, streams, `node:http` requests), and the few in flight at each
 * scavenge get promoted: over a 1 GB snapshot the heap climbed to 60 MB over 15 MB live before
 * V8 collected, a third of the process's peak (bench/README). Governed, that snapshot peaked at
 * 136–139 MiB instead of 179–192 for about 1 s more CPU (11 %); V8's own `--memory-saver-mode`
 * got as low but cost 2.6 s.
 *
 * The governor collects whenever the heap has grown by `headroomBytes` since the last
 * collection, then trims the C heap (`malloc_trim.ts`), where the array buffers that
 * collection freed were. It needs the runtime's `gc()`, which the CLI exposes (`--expose-gc`
 * in the `cli` task); elsewhere (tests, Edge Functions) it does nothing.
 *
 * @module
 */
import { mallocTrim } from "./malloc_trim.ts";

/** Options for {@link governHeap}. */
export interface HeapGovernorOptions {
  /** Growth of the used heap since the last collection that triggers the next one. */
  headroomBytes: number;
  /** How often the used heap is read (ms). */
  intervalMs?: number;
  /** A full collection (default: the runtime's exposed `gc`, then `malloc_trim` where there is one). */
  collect?: () => void;
  /** Bytes of V8 heap in use (default: `Deno.memoryUsage().heapUsed`). */
  heapUsed?: () => number;
}

/** A running governor. */
export interface HeapGovernor {
  /** Whether it collects (false when the runtime exposes no `gc`). */
  readonly active: boolean;
  /** Collections it has run. */
  readonly collections: number;
  /** Milliseconds those collections took. */
  readonly collectingMs: number;
  stop(): void;
}

/** The headroom the CLI runs with: 8 MiB, measured on the Storage bench (bench/README). */
export const CLI_HEAP_HEADROOM = 8 * 1024 * 1024;

/**
 * Starts a governor; its timer does not keep the process alive. Inactive (and free) when no
 * `collect` is given and the runtime exposes no `gc`.
 */
export function governHeap(options: HeapGovernorOptions): HeapGovernor {
  const collect = options.collect ?? runtimeCollect();
  const heapUsed = options.heapUsed ?? (() => Deno.memoryUsage().heapUsed);
  let collections = 0;
  let collectingMs = 0;
  if (!collect) {
    return { active: false, collections, collectingMs, stop() {} };
  }
  let baseline = heapUsed();
  const timer = setInterval(() => {
    if (heapUsed() < baseline + options.headroomBytes) return;
    const started = performance.now();
    collect();
    collectingMs += performance.now() - started;
    collections++;
    baseline = heapUsed();
  }, options.intervalMs ?? 100);
  Deno.unrefTimer(timer);
  return {
    active: true,
    get collections() {
      return collections;
    },
    get collectingMs() {
      return collectingMs;
    },
    stop: () => clearInterval(timer),
  };
}

/** The runtime's exposed `gc`, followed by a C heap trim where one can be loaded. */
function runtimeCollect(): (() => void) | undefined {
  const gc = (globalThis as { gc?: unknown }).gc;
  if (typeof gc !== "function") return undefined;
  const trim = mallocTrim();
  return () => {
    gc();
    trim?.();
  };
}
