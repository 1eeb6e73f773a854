/**
 * What the ring buffer and perf buffer readers share: the read forms (`consume`,
 * `consumeRaw`, `poll`, `batches`, `for await`) over one `drain` primitive each reader
 * implements, events a loop read ahead, pacing, and the lifetime of the reader's fds and
 * mappings.
 *
 * A ring buffer reader holds fds and mappings only while it is used: they are made when it
 * is created, released when the last loop over it ends (break, return, throw, abort) with
 * no `poll()` in flight, and made again by the next read of any form. So a loop over a
 * reader made for it (`for await (const ev of obj.ringbuf("events")) { ...; break; }`)
 * leaves nothing behind, and a reader kept in a variable reads on in its next loop. A
 * perf buffer keeps its events (closing one drops the samples sent to it); `obj.perfbuf()`
 * hands back the map's open reader instead. Only close() ends a reader for good.
 *
 * The hot path never crosses FFI: a reader walks its mapping with plain typed-array reads
 * and calls into libc only to wait (one nonblocking `epoll_wait`, see poller.ts) when it
 * found nothing. While events flow, the async forms read lazily (see pacing.ts).
 *
 * @module
 */

import { ERRNO } from "../../ffi/abi.ts";
import { BpfError } from "../../ffi/errors.ts";
import { BatchIterator, EventIterator } from "./iterator.ts";
import { Pacer } from "./pacing.ts";
import { Poller } from "./poller.ts";
import type { IterateOptions, RawCallback, StreamMap, StreamOptions } from "./types.ts";

/**
 * The error for reading a stream from inside its own callback, which would deliver the
 * records of the batch in progress twice.
 *
 * @param label The stream, e.g. `ring buffer 'events'`.
 * @returns The error to throw.
 * @example
 * ```ts
 * if (this.#draining) throw reentered(this.label);
 * ```
 */
export function reentered(label: string): BpfError {
  return new BpfError({
    op: "read",
    message: `${label} was read again from inside its own event callback`,
    hint: "collect events in the callback and process them after consume() returns",
  });
}

/** The map type each reader reads, and the reader of the other type. */
const STREAM_KINDS = {
  "ring buffer": { type: "ringbuf", other: "perf_event_array", otherReader: "obj.perfbuf()" },
  "perf buffer": { type: "perf_event_array", other: "ringbuf", otherReader: "obj.ringbuf()" },
} as const;

/**
 * Refuse a map a reader cannot read, naming the other reader when the map is its kind.
 *
 * @param map The map handed to the reader.
 * @param what The reader: `"ring buffer"` or `"perf buffer"`.
 * @throws {BpfError} op `"<what> open"` when the map is of another type.
 * @example
 * ```ts
 * checkStreamMap(map, "ring buffer"); // throws for a perf_event_array, hinting obj.perfbuf()
 * ```
 */
export function checkStreamMap(map: StreamMap, what: keyof typeof STREAM_KINDS): void {
  const kind = STREAM_KINDS[what];
  if (map.type === kind.type) return;
  throw new BpfError({
    op: `${what} open`,
    message: `map '${map.name}' is a ${map.type} map, not a ${kind.type}`,
    hint: map.type === kind.other ? `read it with ${kind.otherReader}` : undefined,
  });
}

/**
 * Who closes a stream with itself (a BpfObject): it holds the stream only while the
 * stream holds fds and mappings (see {@link EventStream.ownedBy}).
 */
export interface StreamOwner {
  /** Close `child` with the owner. */
  adopt(child: { close(): void; readonly closed?: boolean }): unknown;
  /** Stop closing `child` with the owner. */
  forget(child: { close(): void; readonly closed?: boolean }): void;
}

/**
 * The iteration forms shared by the ring and perf buffer readers, built on `drain`.
 * Subclasses make and release their mappings and fds in `acquire` and `release`, read
 * them in `drain`, say how full they are in `fullness` and how long one wait may last in
 * `maxWaitMs`. The base class makes the epoll waiter over `pollFds()`.
 */
export abstract class EventStream<T> implements Disposable, AsyncDisposable, AsyncIterable<T> {
  /** Most events per batch in iteration. */
  readonly maxBatch: number;
  /** What this stream is, for messages: `ring buffer 'events'`. */
  protected abstract readonly label: string;
  readonly #pacer = new Pacer();
  #closed = false;
  /** Events a loop read ahead but never handed out (it was left with break). */
  #leftover: T[] = [];
  /** Loops over the stream that have started and not ended. */
  #loops = 0;
  /** fullness(), bound once for the pacer. */
  readonly #fullness = () => this.fullness();
  /** poll() calls in flight. */
  #polls = 0;
  /** Whether the subclass holds its fds and mappings, and the waiter exists. */
  #held = false;
  /** The waiter over the subclass's fds, while held. */
  #poller: Poller | undefined;
  /** Waiters released while a wait was in flight: asyncDispose waits for them. */
  readonly #closing = new Set<Poller>();
  /** Who closes this stream with itself, told when it holds resources and when not. */
  #owner: StreamOwner | undefined;

  /**
   * Set up the shared state; the subclass constructor then calls ensureHeld().
   *
   * @param opts The batch size.
   */
  constructor(opts: StreamOptions) {
    this.maxBatch = Math.max(1, Math.floor(opts.maxBatch ?? 128));
  }

  /**
   * Deliver up to `limit` decoded events that are in the buffer now to `cb`.
   *
   * @returns How many were delivered.
   */
  protected abstract drain(cb: (ev: T) => void, limit: number): number;

  /**
   * Deliver up to `limit` records as zero-copy views.
   *
   * @returns How many were delivered.
   */
  protected abstract drainRaw(cb: RawCallback, limit: number): number;

  /** Make the subclass's mappings and fds (undoing its work when it throws). */
  protected abstract acquire(): void;

  /**
   * Release the subclass's mappings and fds (the waiter is the base class's). Called
   * between reads, or from a callback (then once the walk in progress returns).
   */
  protected abstract release(): void;

  /** The fds a wait waits on; called after acquire(). */
  protected abstract pollFds(): number[];

  /** How full the buffer is now, 0 to 1 (the fullest CPU's ring for a perf buffer). */
  protected abstract fullness(): number;

  /**
   * Whether the fds and mappings go when the last loop ends (ring buffers: the records
   * wait in the ring) or stay until close (perf buffers: a closed event drops samples).
   */
  protected releasesBetweenLoops(): boolean {
    return true;
  }

  /** The longest single epoll wait: -1, or a flush interval for lazily woken buffers. */
  protected maxWaitMs(): number {
    return -1;
  }

  /** Whether close() was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Throw when closed: reading a closed stream is a bug in the caller. */
  protected checkOpen(): void {
    if (this.#closed) {
      throw new BpfError({ op: "read", errno: ERRNO.EBADF, message: `${this.label} is closed` });
    }
  }

  /** Whether the stream holds its fds and mappings now (between loops it does not). */
  get holding(): boolean {
    return this.#held;
  }

  /**
   * Make the fds and mappings if the last loop released them; subclasses call it first
   * in every public read.
   */
  protected ensureHeld(): void {
    if (this.#held) return;
    this.checkOpen();
    this.acquire();
    try {
      this.#poller = new Poller(this.pollFds(), this.label);
    } catch (e) {
      this.release();
      throw e;
    }
    this.#held = true;
    this.#owner?.adopt(this);
  }

  /** Release the fds and mappings when nothing reads: no loop, no poll in flight. */
  #releaseIfIdle(): void {
    if (!this.#held || this.#closed || this.#loops > 0 || this.#polls > 0) return;
    if (!this.releasesBetweenLoops()) return;
    this.#held = false;
    this.#pacer.wake();
    try {
      this.release();
    } finally {
      this.#dropPoller();
      this.#owner?.forget(this);
    }
  }

  /** Close the waiter; one with a wait in flight closes when it returns. */
  #dropPoller(): void {
    const p = this.#poller;
    this.#poller = undefined;
    if (!p) return;
    p.close();
    if (p.waiting) {
      this.#closing.add(p);
      p.closed().then(() => this.#closing.delete(p));
    }
  }

  /**
   * Close this stream with `owner` (a BpfObject; `obj.ringbuf()` and `obj.perfbuf()` do
   * this): the owner holds the stream while it holds fds and mappings, and forgets it
   * between loops, so readers made for one loop each do not pile up in it.
   *
   * @param owner The owner.
   * @returns This stream.
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/events.bpf.o");
   * obj.load();
   * obj.attachAll(); // on_execve sends a data_t to the ring on every execve
   * await new Deno.Command("/bin/true").output();
   * const rb = new RingBuffer(obj.map("events")).ownedBy(obj);
   * rb.consume((ev) => console.log(ev)); // closed with obj
   * ```
   */
  ownedBy(owner: StreamOwner): this {
    this.#owner = owner;
    if (this.#held) owner.adopt(this);
    return this;
  }

  /**
   * Deliver every event in the buffer now (up to `limit`) to `cb`, without waiting.
   *
   * @param cb Called once per event, in order.
   * @param limit Most events to deliver (default: all).
   * @returns How many events were delivered.
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/events.bpf.o");
   * obj.load();
   * obj.attachAll(); // on_execve sends a data_t to the ring on every execve
   * using rb = obj.ringbuf("events", { type: "data_t" });
   * await new Deno.Command("/bin/true").output();
   * const n = rb.consume((ev) => console.log(ev.pid));
   * console.log(n); // 1 (more when other processes exec meanwhile)
   * ```
   */
  consume(cb: (ev: T) => void, limit = Infinity): number {
    this.checkOpen();
    if (this.#leftover.length === 0) this.ensureHeld();
    return this.#take(cb, limit);
  }

  /** Deliver leftovers of an abandoned loop first, then what the buffer holds. */
  #take(cb: (ev: T) => void, limit: number): number {
    if (this.#leftover.length === 0) return this.drain(cb, limit);
    let n = 0;
    const left = this.#leftover;
    this.#leftover = [];
    while (n < left.length && n < limit) {
      try {
        cb(left[n++]);
      } catch (e) {
        this.#leftover = left.slice(n).concat(this.#leftover);
        throw e;
      }
    }
    if (n < left.length) this.#leftover = left.slice(n).concat(this.#leftover);
    if (n >= limit) return n;
    this.ensureHeld();
    return n + this.drain(cb, limit - n);
  }

  /**
   * The read of the async forms: {@link EventStream.consume} that also tells the pacer
   * what it found (whether it emptied the buffer, how fast it filled).
   *
   * @param now The time (performance.now()) just before: read as little as can be.
   */
  #takeLazily(cb: (ev: T) => void, limit: number, now: number): number {
    const pacer = this.#pacer;
    pacer.beforeRead(now, this.#fullness);
    const n = this.#take(cb, limit);
    pacer.afterRead(n, limit, now);
    return n;
  }

  /**
   * Before a read of the async forms: when the last one emptied a busy buffer less than
   * a lazy wait ago, wait for the rest of it (or until `deadline`) so events pile up.
   */
  async #pace(deadline: number): Promise<void> {
    const ms = this.#pacer.napMs(deadline);
    if (ms > 0) await this.#pacer.nap(ms);
  }

  /**
   * Give back events a loop read ahead but did not hand out, so the next loop or
   * consume() delivers them first (called when a `for await` is left with break).
   *
   * @param events The undelivered events, in order.
   */
  unread(events: T[]): void {
    if (events.length) this.#leftover = events.concat(this.#leftover);
  }

  /** A loop over this stream started (see iterator.ts). */
  loopStarted(): void {
    this.#loops++;
  }

  /** A loop over this stream ended: the last one releases the fds and mappings. */
  loopEnded(): void {
    this.#loops = Math.max(0, this.#loops - 1);
    this.#releaseIfIdle();
  }

  /**
   * Like {@link EventStream.consume}, but each record comes as a zero-copy view into the
   * kernel's buffer: `bytes[offset, offset + length)`, valid only during the call. The
   * fastest form; decode what you need and copy nothing else. (Events a `for await` read
   * ahead before a break are already decoded: consume() and the next loop get those.)
   *
   * @param cb Called once per record.
   * @param limit Most records to deliver (default: all).
   * @returns How many records were delivered.
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/events.bpf.o");
   * obj.load();
   * obj.attachAll(); // on_execve sends a data_t to the ring on every execve
   * using rb = obj.ringbuf("events", { type: "data_t" });
   * await new Deno.Command("/bin/true").output();
   * const pids: number[] = [];
   * rb.consumeRaw((b, off) => {
   *   pids.push(new DataView(b.buffer, b.byteOffset).getInt32(off, true)); // data_t.pid
   * });
   * console.log(pids); // [4242]
   * ```
   */
  consumeRaw(cb: RawCallback, limit = Infinity): number {
    this.checkOpen();
    this.ensureHeld();
    return this.drainRaw(cb, limit);
  }

  /**
   * Wait up to `timeoutMs` for events, then deliver what is there to `cb`. Returns at once
   * when events are already waiting — except right after a call that emptied a busy
   * buffer: then it lets events pile up for about a millisecond first (fewer, larger
   * batches and no kernel wake-up per event; see pacing.ts).
   *
   * @param timeoutMs Milliseconds to wait; -1 waits until events come or close() is called.
   * @param cb Called once per event.
   * @returns How many events were delivered (0 on timeout or close).
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/events.bpf.o");
   * obj.load();
   * obj.attachAll(); // on_execve sends a data_t to the ring on every execve
   * using rb = obj.ringbuf("events", { type: "data_t" });
   * await new Deno.Command("/bin/true").output();
   * setTimeout(() => rb.close(), 200);
   * while (!rb.closed) await rb.poll(100, (ev) => console.log(ev.pid));
   * ```
   */
  async poll(timeoutMs: number, cb: (ev: T) => void): Promise<number> {
    this.checkOpen();
    this.ensureHeld();
    this.#polls++;
    try {
      const deadline = timeoutMs < 0 ? Infinity : performance.now() + timeoutMs;
      await this.fairTurn();
      await this.#pace(deadline);
      for (;;) {
        if (this.#closed) return 0;
        const now = performance.now();
        const n = this.#takeLazily(cb, Infinity, now);
        if (n > 0) return n;
        const left = deadline - now;
        if (left <= 0) return 0;
        await this.waitReadable(left);
      }
    } finally {
      this.#polls--;
    }
  }

  /**
   * Iterate over batches of events (arrays of up to `maxBatch`), waiting when the buffer
   * is empty: the form for hot loops. Ends when the stream is closed or `signal` aborts;
   * breaking out leaves the stream open for a new loop (its fds and mappings are released
   * until then).
   *
   * @param opts A signal to stop, and the batch size.
   * @returns An async iterable of non-empty arrays.
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/events.bpf.o");
   * obj.load();
   * obj.attachAll(); // on_execve sends a data_t to the ring on every execve
   * using rb = obj.ringbuf("events", { type: "data_t" });
   * await new Deno.Command("/bin/true").output();
   * let total = 0;
   * for await (const batch of rb.batches({ signal: AbortSignal.timeout(200) })) {
   *   total += batch.length;
   * }
   * console.log(total); // 1 or more
   * ```
   */
  batches(opts: IterateOptions = {}): AsyncIterableIterator<T[]> {
    return new BatchIterator(this, opts);
  }

  /**
   * Iterate over events one at a time, waiting when the buffer is empty. Ends when the
   * stream is closed or `signal` aborts; `break` leaves the stream open (its fds and
   * mappings are released until the next read).
   *
   * @param opts A signal to stop, and how many events to read ahead (default 128).
   * @returns An async iterator of events.
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/events.bpf.o");
   * obj.load();
   * obj.attachAll(); // on_execve sends a data_t to the ring on every execve
   * using rb = obj.ringbuf("events", { type: "data_t" });
   * await new Deno.Command("/bin/true").output();
   * for await (const ev of rb.events({ signal: AbortSignal.timeout(200) })) console.log(ev);
   * ```
   */
  events(opts: IterateOptions = {}): AsyncIterableIterator<T> {
    return new EventIterator(this, opts);
  }

  /**
   * `for await (const ev of stream)`: {@link EventStream.events} with no options.
   *
   * @returns An async iterator of events.
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/events.bpf.o");
   * obj.load();
   * obj.attachAll(); // on_execve sends a data_t to the ring on every execve
   * using rb = obj.ringbuf("events", { type: "data_t" });
   * await new Deno.Command("/bin/true").output();
   * for await (const ev of rb) {
   *   console.log(ev.pid, ev.command); // 4242 deno: at sys_enter_execve the comm is still the caller's
   *   break;
   * }
   * ```
   */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return new EventIterator(this, {});
  }

  /**
   * Fill `push` with up to `limit` events if that needs no waiting: the buffer has some,
   * no lazy wait is due and the stream has not held the event loop too long.
   *
   * @returns How many were pushed; 0 when closed or aborted; -1 when {@link fill} must
   *   be awaited instead.
   */
  fillNow(push: (ev: T) => void, limit: number, signal?: AbortSignal): number {
    if (this.#closed || signal?.aborted) return 0;
    this.ensureHeld();
    const pacer = this.#pacer;
    if (pacer.emptiedAt >= 0) return -1;
    const now = performance.now();
    if (pacer.turnDue(now)) return -1;
    const n = this.#takeLazily(push, limit, now);
    return n > 0 ? n : -1;
  }

  /**
   * Fill `push` with up to `limit` events, waiting while the buffer is empty.
   *
   * @returns How many were pushed; 0 when closed or aborted.
   */
  async fill(push: (ev: T) => void, limit: number, signal?: AbortSignal): Promise<number> {
    if (this.#closed || signal?.aborted) return 0;
    this.ensureHeld();
    await this.fairTurn();
    if (this.#pacer.emptiedAt >= 0) {
      const onAbort = () => this.#pacer.wake();
      signal?.addEventListener("abort", onAbort, { once: true });
      try {
        await this.#pace(Infinity);
      } finally {
        signal?.removeEventListener("abort", onAbort);
      }
    }
    for (;;) {
      // A loop left (and its reader released) while this waited reads nothing more.
      if (this.#closed || signal?.aborted || !this.#held) return 0;
      const n = this.#takeLazily(push, limit, performance.now());
      if (n > 0) return n;
      await this.waitReadable(-1, signal);
    }
  }

  /**
   * Let other tasks (other streams' wake-ups, timers, signals) run when this stream has
   * held the event loop for a while: a busy ring never awaits a macrotask otherwise.
   */
  protected async fairTurn(): Promise<void> {
    if (!this.#pacer.turnDue(performance.now())) return;
    await (this.#poller ? this.#poller.wait(0) : Promise.resolve());
    this.#pacer.turned();
  }

  /**
   * One wait for readability, bounded by timeout, by the subclass's flush interval, and
   * shorter while events flow (see {@link Pacer.waitCap}).
   */
  protected async waitReadable(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const cap = this.#pacer.waitCap(this.maxWaitMs());
    let ms = timeoutMs < 0 ? cap : cap < 0 ? timeoutMs : Math.min(cap, timeoutMs);
    if (ms !== -1) ms = Math.max(0, Math.ceil(ms));
    const poller = this.#poller;
    if (!poller) return;
    const onAbort = () => poller.wake();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      await poller.wait(ms);
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
    this.#pacer.turned();
  }

  /**
   * Stop reading and release the mappings and fds; a wait in flight ends at once and
   * loops over the stream finish. Calling it again does nothing.
   *
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/events.bpf.o");
   * obj.load();
   * obj.attachAll(); // on_execve sends a data_t to the ring on every execve
   * using rb = obj.ringbuf("events", { type: "data_t" });
   * await new Deno.Command("/bin/true").output();
   * rb.close();
   * rb.closed; // true
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#leftover = [];
    this.#pacer.wake();
    if (!this.#held) return;
    this.#held = false;
    try {
      this.release();
    } finally {
      this.#dropPoller();
    }
  }

  /** `using rb = obj.ringbuf("events")` closes it at the end of the scope. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** `await using`: closes and waits until the epoll thread has let go of its fds. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await Promise.all([...this.#closing].map((p) => p.closed()));
  }
}
