/**
 * The loop forms of a stream: `for await (const ev of stream)` one event at a time, and
 * `batches()` arrays of events. Both are plain iterator objects returning resolved
 * promises while events are there (an async generator costs several times more per
 * event), and hand back what they read ahead when a loop is left early.
 *
 * @module
 */

import type { IterateOptions } from "./types.ts";

/** Events a `for await` reads ahead (at most the stream's maxBatch). */
const READ_AHEAD = 128;

/** What the loops need of a stream (an EventStream). */
export interface Fillable<T> {
  /** Most events per batch. */
  readonly maxBatch: number;
  /** Whether the stream was closed. */
  readonly closed: boolean;
  /**
   * Push up to `limit` events if that needs no waiting.
   *
   * @returns How many; 0 when closed or aborted; -1 when fill() must be awaited.
   */
  fillNow(push: (ev: T) => void, limit: number, signal?: AbortSignal): number;
  /**
   * Push up to `limit` events, waiting while there are none.
   *
   * @returns How many; 0 when closed or aborted.
   */
  fill(push: (ev: T) => void, limit: number, signal?: AbortSignal): Promise<number>;
  /** Give back events read ahead and not handed out, for the next read. */
  unread(events: T[]): void;
  /** A loop over the stream started. */
  loopStarted(): void;
  /** A loop over the stream ended (it may release what it holds). */
  loopEnded(): void;
}

/**
 * The one-event-at-a-time iterator: reads a few events ahead, hands them out one by one.
 *
 * @example
 * ```ts
 * for await (const ev of new EventIterator(stream, {})) console.log(ev);
 * ```
 */
export class EventIterator<T> implements AsyncIterableIterator<T> {
  #stream: Fillable<T>;
  /** Events read ahead: [#i, #n) are still to hand out. */
  #buf: T[] = [];
  #i = 0;
  #n = 0;
  #done = false;
  /** Whether the loop told the stream it started (at its first read). */
  #started = false;
  #limit: number;
  #signal?: AbortSignal;
  #push = (ev: T) => {
    this.#buf[this.#n++] = ev;
  };

  /**
   * @param stream The stream read.
   * @param opts A signal to stop, and how many events to read ahead.
   */
  constructor(stream: Fillable<T>, opts: IterateOptions) {
    this.#stream = stream;
    this.#limit = Math.max(1, Math.floor(opts.maxBatch ?? Math.min(READ_AHEAD, stream.maxBatch)));
    this.#signal = opts.signal;
  }

  /**
   * The next event.
   *
   * @returns It, or done when the stream closed or the signal aborted.
   */
  next(): Promise<IteratorResult<T>> {
    // Plain resolved promises, not an async generator: cheaper per event.
    const i = this.#i;
    if (i < this.#n) {
      const value = this.#buf[i];
      this.#i = i + 1;
      return Promise.resolve({ value, done: false });
    }
    // Read on without an await while events are there: so a short read-ahead is cheap.
    if (!this.#done) {
      if (!this.#started) {
        this.#started = true;
        this.#stream.loopStarted();
      }
      this.#n = 0;
      if (this.#stream.fillNow(this.#push, this.#limit, this.#signal) > 0) {
        this.#i = 1;
        return Promise.resolve({ value: this.#buf[0], done: false });
      }
    }
    return this.#refill();
  }

  async #refill(): Promise<IteratorResult<T>> {
    this.#i = 0;
    this.#n = 0;
    if (!this.#done && (await this.#stream.fill(this.#push, this.#limit, this.#signal)) > 0) {
      this.#i = 1;
      return { value: this.#buf[0], done: false };
    }
    this.#end();
    return { value: undefined, done: true };
  }

  /**
   * The loop was left (break, return, throw): events read ahead go back to the stream.
   *
   * @returns Done.
   */
  return(): Promise<IteratorResult<T>> {
    // Events read ahead are not lost: the next loop or consume() gets them first.
    if (!this.#done && this.#i < this.#n && !this.#stream.closed) {
      this.#stream.unread(this.#buf.slice(this.#i, this.#n));
    }
    this.#end();
    return Promise.resolve({ value: undefined, done: true });
  }

  #end(): void {
    this.#buf = [];
    this.#i = this.#n = 0;
    if (this.#done) return;
    this.#done = true;
    if (this.#started) this.#stream.loopEnded();
  }

  /** This iterator. */
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}

/**
 * The batch iterator: arrays of up to `maxBatch` events, waiting when there are none.
 *
 * @example
 * ```ts
 * for await (const batch of new BatchIterator(stream, {})) total += batch.length;
 * ```
 */
export class BatchIterator<T> implements AsyncIterableIterator<T[]> {
  #stream: Fillable<T>;
  #limit: number;
  #signal?: AbortSignal;
  #done = false;
  #started = false;
  #batch: T[] = [];
  #push = (ev: T) => void this.#batch.push(ev);

  /**
   * @param stream The stream read.
   * @param opts A signal to stop, and the batch size.
   */
  constructor(stream: Fillable<T>, opts: IterateOptions) {
    this.#stream = stream;
    this.#limit = Math.max(1, Math.floor(opts.maxBatch ?? stream.maxBatch));
    this.#signal = opts.signal;
  }

  /**
   * The next batch.
   *
   * @returns A non-empty array, or done when the stream closed or the signal aborted.
   */
  next(): Promise<IteratorResult<T[]>> {
    if (this.#done) return Promise.resolve(this.#end());
    if (!this.#started) {
      this.#started = true;
      this.#stream.loopStarted();
    }
    this.#batch = [];
    // No await while events are there (see EventIterator.next).
    const n = this.#stream.fillNow(this.#push, this.#limit, this.#signal);
    if (n > 0) return Promise.resolve({ value: this.#batch, done: false });
    return n === 0 ? Promise.resolve(this.#end()) : this.#wait();
  }

  async #wait(): Promise<IteratorResult<T[]>> {
    const n = await this.#stream.fill(this.#push, this.#limit, this.#signal);
    return n > 0 ? { value: this.#batch, done: false } : this.#end();
  }

  /**
   * The loop was left.
   *
   * @returns Done.
   */
  return(): Promise<IteratorResult<T[]>> {
    return Promise.resolve(this.#end());
  }

  #end(): IteratorResult<T[]> {
    if (!this.#done) {
      this.#done = true;
      if (this.#started) this.#stream.loopEnded();
    }
    return { value: undefined, done: true };
  }

  /** This iterator. */
  [Symbol.asyncIterator](): AsyncIterableIterator<T[]> {
    return this;
  }
}
