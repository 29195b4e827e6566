/**
 * Work that continues after the response: `EdgeRuntime.waitUntil` on Supabase, a tracked
 * promise elsewhere (the local functions host, tests), so nothing is dropped silently.
 *
 * @module
 */

import { describeError } from "./executor.ts";

declare const EdgeRuntime: { waitUntil(promise: Promise<unknown>): void } | undefined;

const pending = new Set<Promise<unknown>>();

/** Keeps `work` going after the response is sent; its errors are logged, never thrown. */
export function inBackground(work: Promise<unknown>): void {
  const tracked = work.catch((error) => {
    console.error(`Background work failed: ${describeError(error)}`);
  }).finally(() => pending.delete(tracked));
  pending.add(tracked);
  if (typeof EdgeRuntime !== "undefined" && EdgeRuntime?.waitUntil) {
    EdgeRuntime.waitUntil(tracked);
  }
}

/** Resolves once all background work started so far has settled (tests, shutdown). */
export async function settleBackground(): Promise<void> {
  while (pending.size) await Promise.allSettled([...pending]);
}
