/**
 * Keeps a run's heartbeat fresh while work goes on, so a live run is never mistaken for a
 * dead one, and a dead one is noticed within the stale interval.
 *
 * @module
 */
import type { RunStore } from "./run_store.ts";

/** Starts beating every `intervalMs`; the returned function stops it. */
export function startHeartbeat(
  store: RunStore,
  runId: string,
  options: { intervalMs?: number; progress?: () => { bytes?: number; items?: number } } = {},
): () => void {
  const timer = setInterval(() => {
    store.heartbeat(runId, options.progress?.() ?? {}).catch((error) => {
      console.error(`Heartbeat of run ${runId} failed: ${error?.message ?? error}`);
    });
  }, options.intervalMs ?? 5_000);
  return () => clearInterval(timer);
}
