/**
 * The rotating sample of blobs read back and re-hashed: a window of `size` blobs (in id
 * order) that moves on by `size` at each rotation, so successive verifications cover every
 * blob of a backup in turn. By default the rotation is the hour, so an hourly verification
 * reads a new window every time.
 *
 * @module
 */

/** Picks `size` items (or all) from `items`, starting at window `rotation`. */
export function rotatingSample<T>(
  items: readonly T[],
  size: number | "all",
  rotation: number,
): T[] {
  if (size === "all" || size >= items.length) return [...items];
  if (size <= 0 || items.length === 0) return [];
  const start = (Math.abs(Math.floor(rotation)) * size) % items.length;
  return Array.from({ length: size }, (_, i) => items[(start + i) % items.length]);
}

/** The default rotation: hours since the epoch. */
export function hourRotation(now: Date): number {
  return Math.floor(now.getTime() / 3_600_000);
}
