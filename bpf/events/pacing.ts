/**
 * Pacing of the async read forms (`poll`, `batches`, `for await`): fair turns between
 * streams, and lazy batching.
 *
 * Lazy batching: after a read that emptied a buffer with events flowing, the next read
 * lets events pile up for about a millisecond instead of waiting for a wake-up. A kernel
 * wake-up can cost more than reading: a ring buffer producer signals one (an irq_work)
 * for each record it commits into an empty ring, so a reader that keeps the ring empty
 * makes the producer pay per record. Reading every millisecond or two keeps the ring
 * non-empty: one signal per read, and batches of thousands. The reader turns eager again
 * when the rate seen would fill the buffer during such a wait.
 *
 * @module
 */

/** How long a stream may keep the event loop busy before it lets other tasks run. */
export const FAIR_SLICE_MS = 5;
/** How long a lazy wait lets events pile up (see the module notes). */
export const LAZY_MS = 1;
/** How long a lazy wait really lasts, at most, as timers go (timers overshoot). */
const LAZY_SPAN_MS = 3;
/**
 * When the rate seen would fill more than this share of the buffer during one lazy wait,
 * the reader turns eager (no lazy waits) for {@link EAGER_HOLD_MS}: the buffer is small
 * for the rate, and a lazy wait could let it overflow.
 */
const EAGER_SHARE = 1 / 4;
const EAGER_HOLD_MS = 100;
/** For this long after a read found events, waits for more are short (see waitCap). */
const RECENT_MS = 100;

/**
 * The timing state of one stream's async reads: when it last let other tasks run, when a
 * read last emptied its buffer, whether it reads eagerly, and the lazy wait in flight.
 * The clock is read as little as can be: reading it costs about as much as an event.
 *
 * @example
 * ```ts
 * const pacer = new Pacer();
 * const now = performance.now();
 * pacer.beforeRead(now, fullness);
 * pacer.afterRead(n, limit, now);
 * const ms = pacer.napMs(Infinity);
 * if (ms > 0) await pacer.nap(ms);
 * ```
 */
export class Pacer {
  /** When the stream last let other tasks run (or waited). */
  lastTurn = performance.now();
  /** When a read of the async forms last emptied the buffer after delivering (-1: not). */
  emptiedAt = -1;
  /** Until when reads stay eager (no lazy wait): the buffer filled fast. */
  #eagerUntil = -1;
  /** When a read of the async forms last found events. */
  #dataAt = -Infinity;
  /** The lazy wait in flight: its timer and how to end it early. */
  #nap: { timer: ReturnType<typeof setTimeout>; resolve: () => void } | undefined;

  /** Whether the stream has held the event loop for its slice at time `now`. */
  turnDue(now: number): boolean {
    return now - this.lastTurn >= FAIR_SLICE_MS;
  }

  /** Note that the stream just let other tasks run. */
  turned(): void {
    this.lastTurn = performance.now();
  }

  /**
   * Before a read at `now`: everything in the buffer came since it was last emptied, which
   * gives the rate; when a lazy wait at that rate could overflow the buffer, turn eager.
   *
   * @param now The time just before the read.
   * @param fullness How full the buffer is, 0 to 1.
   */
  beforeRead(now: number, fullness: () => number): void {
    if (this.emptiedAt < 0) return;
    const since = Math.max(now - this.emptiedAt, 0.1);
    if (fullness() * LAZY_SPAN_MS > EAGER_SHARE * since) this.#eagerUntil = now + EAGER_HOLD_MS;
  }

  /**
   * After a read at `now` that delivered `n` events of at most `limit`: whether it emptied
   * the buffer (then the next read may be lazy) and when events last came.
   */
  afterRead(n: number, limit: number, now: number): void {
    if (n > 0) this.#dataAt = now;
    this.emptiedAt = n > 0 && n < limit ? performance.now() : -1;
  }

  /**
   * How long the next read should wait first: the rest of a lazy wait when the last read
   * emptied a busy buffer, bounded by `deadline`; 0 for none.
   */
  napMs(deadline: number): number {
    if (this.emptiedAt < 0) return 0;
    const now = performance.now();
    const ms = Math.min(this.emptiedAt + LAZY_MS, deadline) - now;
    return ms <= 0 || now < this.#eagerUntil ? 0 : ms;
  }

  /** A lazy wait of `ms` that {@link Pacer.wake} ends early. */
  async nap(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#nap = undefined;
        resolve();
      }, ms);
      this.#nap = { timer, resolve };
    });
    this.turned();
  }

  /** End the lazy wait in flight now (close, abort). */
  wake(): void {
    const nap = this.#nap;
    if (!nap) return;
    this.#nap = undefined;
    clearTimeout(nap.timer);
    nap.resolve();
  }

  /**
   * The longest one wait for readability may last: the stream's own cap (-1: none), and
   * {@link LAZY_MS} while events flowed lately, because the kernel's wake-up (an
   * irq_work) may only come at the next timer tick, by when a fast producer has filled
   * megabytes. Checking every millisecond costs a wake-up per millisecond, and only while
   * events flow.
   *
   * @param cap The stream's own cap in ms, or -1.
   * @returns The cap in ms, or -1.
   */
  waitCap(cap: number): number {
    if (performance.now() - this.#dataAt < RECENT_MS) {
      return cap < 0 ? LAZY_MS : Math.min(cap, LAZY_MS);
    }
    return cap;
  }
}
