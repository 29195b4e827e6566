/**
 * A young-generation collection on demand, where the runtime exposes `gc` (the CLI runs with
 * `--expose-gc`; tests and Edge Functions do not, and get undefined).
 *
 * Array buffers that die young are freed by a scavenge, but V8 scavenges when its young
 * generation fills with objects, not with the bytes those objects hold outside the heap: a
 * reader that gets a fresh buffer per read (Deno's `node:tls` does, for every read of its TCP
 * socket) makes little young garbage and a great deal of dead buffer memory, which then waits
 * for V8's external-memory limit (tens of MB) to be collected. A caller that knows how many
 * such bytes it let go can ask for a scavenge after every few MiB of them.
 *
 * @module
 */

/** Runs a scavenge (a minor collection), or undefined when the runtime exposes no `gc`. */
export function youngCollector(): (() => void) | undefined {
  const gc = (globalThis as { gc?: unknown }).gc;
  if (typeof gc !== "function") return undefined;
  return () => (gc as (options: { type: "minor" }) => void)({ type: "minor" });
}
