/**
 * The one abortable sleep of the shell and the scripts.
 *
 * @module
 */

/**
 * Wait `ms` milliseconds, or less when the signal aborts meanwhile.
 *
 * @param ms How long; `Infinity` waits until the signal aborts.
 * @param signal Ends the wait early.
 * @returns Whether the wait was cut short by the signal (rather than the time having passed).
 * @example
 * ```ts
 * const ctl = new AbortController();
 * setTimeout(() => ctl.abort(), 10);
 * await abortableSleep(60_000, ctl.signal); // true, after 10 ms
 * ```
 */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve(signal?.aborted ?? false);
    };
    const timer = Number.isFinite(ms) ? setTimeout(done, Math.max(0, ms)) : undefined;
    signal?.addEventListener("abort", done, { once: true });
  });
}
