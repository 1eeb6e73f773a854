/**
 * What every benchmark needs: the repository root and the median of its runs.
 *
 * @module
 */

/** The repository root (no trailing slash). */
export const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/**
 * The median of some numbers.
 *
 * @param xs The numbers.
 * @returns The middle one (the upper middle for an even count).
 */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
