/**
 * Backups dated in the future. A backup id starts with the UTC time it was taken
 * (`20261125T141500Z-…`), and "latest" is the newest id, so an id from a clock running ahead, or
 * one planted by whoever can write to a target, would otherwise stay "latest" for years and
 * hide every real backup after it. An id more than {@link CLOCK_SKEW_MS} ahead of this machine's
 * clock is never chosen as latest, is refused when named, and is reported as suspicious.
 *
 * @module
 */
import { idTime } from "./references.ts";

/** How far ahead of this clock a backup's time may be (clocks of two machines differ a little). */
export const CLOCK_SKEW_MS = 5 * 60_000;

/** Whether `time` is more than {@link CLOCK_SKEW_MS} after `now`. */
export function isFutureTime(time: Date | undefined, now: Date = new Date()): boolean {
  return time !== undefined && time.getTime() > now.getTime() + CLOCK_SKEW_MS;
}

/** Whether the time a backup id starts with is more than the clock skew after `now`. */
export function isFutureId(id: string, now: Date = new Date()): boolean {
  return isFutureTime(idTime(id), now);
}

/** A backup named by an id dated in the future was refused. */
export class FutureBackupError extends Error {
  constructor(readonly what: string, readonly id: string) {
    super(
      `${what} ${id} is dated ${idTime(id)?.toISOString()}, in the future: refused (a clock ` +
        `running ahead, or a manifest someone else wrote to the target; check the machine that ` +
        `wrote it before trusting it)`,
    );
    this.name = "FutureBackupError";
  }
}

/**
 * Throws {@link FutureBackupError} when `id` is dated beyond the clock skew after `now`.
 *
 * @param what what the id names, capitalised: "Database backup", "Storage snapshot"
 */
export function refuseFutureId(what: string, id: string, now: Date = new Date()): void {
  if (isFutureId(id, now)) throw new FutureBackupError(what, id);
}
