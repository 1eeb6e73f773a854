/**
 * What the ring buffer and perf buffer readers share: shared mappings of a kernel buffer,
 * an epoll waiter that a close() can interrupt, event decoding through BTF, and the
 * iteration forms (`consume`, `poll`, batches, `for await`) over one `drain` primitive.
 *
 * The hot path never crosses FFI: a reader walks its mapping with plain typed-array reads
 * and calls into libc only to wait (one nonblocking `epoll_wait`) when it found nothing.
 * While events flow, the async forms (`poll`, `batches`, `for await`) read lazily: after
 * a read that emptied the buffer they let events pile up for a millisecond or so, which
 * saves the producer a kernel wake-up per event (see {@link EventStream}); they turn
 * eager when the rate would fill the buffer during such a wait.
 *
 * @module
 */

import { EPOLL_EVENT, ERRNO } from "../../ffi/abi.ts";
import { BpfError } from "../../ffi/errors.ts";
import {
  EPOLL_CLOEXEC,
  EPOLL_CTL_ADD,
  EPOLLIN,
  errno,
  libc,
  MAP_FAILED,
  MAP_SHARED,
} from "../../ffi/libc.ts";

/** Counters every stream keeps. */
export interface StreamStats {
  /** Events delivered (discarded ring records are not counted). */
  events: number;
  /** Payload bytes delivered. */
  bytes: number;
}

/**
 * A zero-copy event callback: the record is `bytes[offset, offset + length)`. The view
 * aliases the kernel's buffer and is valid only until the callback returns.
 */
export type RawCallback = (bytes: Uint8Array, offset: number, length: number) => void;

/**
 * Turns the records of the buffer it was made for into the values a stream yields. Bound
 * to one buffer, so the hot loop passes two numbers: `decode(offset, length)` for records
 * of at least `min` bytes (unchecked, the fast path), `pad(offset, length)` for shorter
 * ones (decoded from a zero-padded copy, never past their end).
 */
export interface Decoder<T> {
  /** The shortest record `decode` takes. */
  readonly min: number;
  /** Decode the record at `[offset, offset + length)`, `length >= min`. */
  readonly decode: (offset: number, length: number) => T;
  /** Decode a record shorter than `min`. */
  readonly pad: (offset: number, length: number) => T;
}

/** Makes the {@link Decoder} of a stream for one buffer (a mapping or a scratch copy). */
export type DecoderFactory<T> = (bytes: Uint8Array) => Decoder<T>;

/** The part of a BTF codec a stream needs (see bpf/btf). */
export interface EventCodec {
  /** The type's size in bytes. */
  readonly size: number;
  /** The C name of the type, e.g. `"struct data_t"`. */
  readonly typeName?: string;
  /** Decode one value at `offset`; returns plain JavaScript values (copies). */
  decode(bytes: Uint8Array, offset?: number): unknown;
  /**
   * Optional: an unchecked decoder over one buffer, `(offset) => value`, for hot loops
   * (the caller keeps `offset + size` within the buffer). Used when the codec has it.
   */
  bind?(bytes: Uint8Array): (offset: number) => unknown;
}

/** The part of an object's BTF a stream needs. */
export interface StreamBtf {
  /** A codec for a type given by id or name (`"data_t"` or `"struct data_t"`). */
  codec(typeIdOrName: number | string): EventCodec;
}

/** The part of a BpfMap a stream needs; a BpfMap fits. */
export interface StreamMap {
  /** The map's name. */
  readonly name: string;
  /** The map type, e.g. `"ringbuf"`, `"perf_event_array"`. */
  readonly type: string;
  /** The map's fd (throws when the map is closed). */
  readonly fd: number;
  /** max_entries: the ring size, or the number of CPU slots. */
  readonly maxEntries: number;
  /** The BTF of the map's object, which resolves event type names. */
  readonly btf?: StreamBtf | undefined;
}

/** Options every stream takes. */
export interface StreamOptions {
  /**
   * The BTF type of an event (`"data_t"`, `"struct data_t"` or a type id), or a codec.
   * When absent: the only struct named `event`, `*_event` or `data_t` that a global
   * variable points to, else the only one so named in the object's BTF, else
   * `Uint8Array` copies (see {@link eventDecoder}).
   */
  type?: string | number | EventCodec;
  /**
   * Most events one batch holds (default 128): bounds memory (events kept alive between
   * garbage collections make V8 grow its young generation) and keeps turns fair.
   */
  maxBatch?: number;
}

/** Options of the iteration forms. */
export interface IterateOptions {
  /** Stop the iteration (the stream stays open). */
  signal?: AbortSignal;
  /** Most events per batch (default: the stream's maxBatch). */
  maxBatch?: number;
}

/**
 * A shared mapping of part of a kernel object (a BPF map or a perf event) into memory.
 *
 * @example
 * ```ts
 * const m = Mapping.map(fd, 4096, PROT_READ, 0, "ring buffer mmap");
 * const u32 = new Uint32Array(m.buffer);
 * m.unmap();
 * ```
 */
export class Mapping {
  /** The mapped bytes; must not be touched after {@link Mapping.unmap}. */
  readonly buffer: ArrayBuffer;
  #ptr: Deno.PointerObject | null;
  readonly #length: number;

  private constructor(ptr: Deno.PointerObject, length: number) {
    this.#ptr = ptr;
    this.#length = length;
    this.buffer = Deno.UnsafePointerView.getArrayBuffer(ptr, length);
  }

  /**
   * Map `length` bytes of `fd` at `offset` (MAP_SHARED).
   *
   * @param fd The file to map.
   * @param length Bytes to map.
   * @param prot PROT_READ, optionally | PROT_WRITE.
   * @param offset The file offset (a multiple of the page size).
   * @param op The operation to name in an error.
   * @returns The mapping.
   * @example
   * ```ts
   * const consumer = Mapping.map(map.fd, pageSize(), PROT_READ | PROT_WRITE, 0, "mmap");
   * ```
   */
  static map(fd: number, length: number, prot: number, offset: number, op: string): Mapping {
    const ptr = libc().mmap(null, BigInt(length), prot, MAP_SHARED, fd, BigInt(offset));
    if (ptr === null || Deno.UnsafePointer.value(ptr) === MAP_FAILED) {
      const code = errno();
      throw new BpfError({
        op,
        errno: code,
        message: `cannot map ${length} bytes of fd ${fd} at offset ${offset}`,
        hint: code === ERRNO.EPERM || code === ERRNO.EACCES ? "run as root" : undefined,
      });
    }
    return new Mapping(ptr, length);
  }

  /** Whether the mapping is still there. */
  get mapped(): boolean {
    return this.#ptr !== null;
  }

  /**
   * Unmap; calling it again does nothing.
   *
   * @example
   * ```ts
   * mapping.unmap();
   * ```
   */
  unmap(): void {
    if (this.#ptr === null) return;
    libc().munmap(this.#ptr, BigInt(this.#length));
    this.#ptr = null;
  }
}

const EFD_NONBLOCK = 0o4000;
const EFD_CLOEXEC = 0o2000000;
const EPOLL_EVENT_SIZE = EPOLL_EVENT.size;

/**
 * Waits for any of a set of fds to become readable, on a worker thread (a nonblocking FFI
 * call) so the event loop keeps running. An eventfd in the set lets {@link Poller.wake}
 * and {@link Poller.close} end a wait at once.
 *
 * @example
 * ```ts
 * const poller = new Poller([map.fd], "ring buffer");
 * await poller.wait(100); // readable, woken, or 100 ms passed
 * poller.close();
 * ```
 */
export class Poller {
  #epfd: number;
  #wakefd: number;
  #events: Uint8Array<ArrayBuffer>;
  #pending: Promise<void> | undefined;
  #closed = false;

  /**
   * @param fds The fds to wait on (each for EPOLLIN).
   * @param what What the fds belong to, for error messages.
   */
  constructor(fds: readonly number[], what: string) {
    const c = libc();
    this.#epfd = c.epoll_create1(EPOLL_CLOEXEC);
    if (this.#epfd < 0) throw syscallError("epoll_create1", what);
    this.#wakefd = c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (this.#wakefd < 0) {
      const err = syscallError("eventfd", what);
      c.close(this.#epfd);
      throw err;
    }
    this.#events = new Uint8Array(EPOLL_EVENT_SIZE * (fds.length + 1));
    try {
      this.#add(this.#wakefd, what);
      for (const fd of fds) this.#add(fd, what);
    } catch (e) {
      this.#release();
      throw e;
    }
  }

  #add(fd: number, what: string): void {
    const ev = EPOLL_EVENT.alloc();
    EPOLL_EVENT.set(ev, "events", EPOLLIN);
    EPOLL_EVENT.set(ev, "data", fd);
    if (libc().epoll_ctl(this.#epfd, EPOLL_CTL_ADD, fd, ev) < 0) {
      throw syscallError("epoll_ctl", `${what} (fd ${fd})`);
    }
  }

  /** Whether a wait is in flight. */
  get waiting(): boolean {
    return this.#pending !== undefined;
  }

  /**
   * Wait until an fd is readable, {@link Poller.wake} is called, or `timeoutMs` passes.
   * Concurrent callers share the wait in flight. After close() it resolves at once.
   *
   * @param timeoutMs Milliseconds; -1 waits without limit, 0 only checks.
   * @returns When the wait ended.
   * @example
   * ```ts
   * await poller.wait(-1);
   * ```
   */
  wait(timeoutMs: number): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#pending ??= libc()
      .epoll_wait_async(this.#epfd, this.#events, this.#events.length / EPOLL_EVENT_SIZE, timeoutMs)
      .then(() => {
        this.#pending = undefined;
        if (this.#closed) this.#release();
        else this.#clearWake();
      });
    return this.#pending;
  }

  /**
   * End the wait in flight (if any) now.
   *
   * @example
   * ```ts
   * signal.addEventListener("abort", () => poller.wake());
   * ```
   */
  wake(): void {
    if (this.#wakefd < 0) return;
    libc().write(this.#wakefd, ONE, 8n);
  }

  #clearWake(): void {
    if (this.#wakefd >= 0) libc().read(this.#wakefd, SCRATCH8, 8n);
  }

  /**
   * Close the epoll and eventfd fds; a wait in flight is woken and the fds are closed as
   * soon as it returns (so its thread never waits on a reused fd number).
   *
   * @example
   * ```ts
   * poller.close();
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#pending) this.wake();
    else this.#release();
  }

  /**
   * Close, then wait for the wait in flight (if any) to return and release its fds.
   *
   * @returns When every fd is closed.
   * @example
   * ```ts
   * await poller.closed();
   * ```
   */
  async closed(): Promise<void> {
    this.close();
    while (this.#pending) await this.#pending;
  }

  #release(): void {
    const c = libc();
    if (this.#wakefd >= 0) c.close(this.#wakefd);
    if (this.#epfd >= 0) c.close(this.#epfd);
    this.#wakefd = -1;
    this.#epfd = -1;
  }
}

const ONE = new Uint8Array(new BigUint64Array([1n]).buffer);
const SCRATCH8 = new Uint8Array(8);

function syscallError(call: string, what: string): BpfError {
  const code = errno();
  return new BpfError({
    op: call,
    errno: code,
    message: `cannot wait for ${what}`,
    hint: code === ERRNO.EMFILE
      ? "too many open files: close objects or raise the fd limit"
      : undefined,
  });
}

/** Names that mark a struct as an event: `event`, `*_event`, `data_t`. */
const EVENT_NAME = /^(event|.*_event|data_t)$/;

/**
 * Guess the struct a BPF program sends through a buffer, by name: the only one named
 * `event`, `*_event` or `data_t`. Ring buffers and perf event arrays carry no value type
 * in BTF, so a name is all there is to go on.
 *
 * @param names Struct names, best candidates first (see {@link eventDecoder}).
 * @returns The struct name, or undefined when there is none or more than one.
 * @example
 * ```ts
 * guessEventType(["data_t", "fill_ctx"]); // "data_t"
 * guessEventType(["data_t", "exec_event"]); // undefined: ambiguous
 * ```
 */
export function guessEventType(names: Iterable<string>): string | undefined {
  const found = new Set<string>();
  for (const n of names) if (EVENT_NAME.test(n)) found.add(n);
  return found.size === 1 ? [...found][0] : undefined;
}

/** What a BTF object offers to list its types (bpf/btf's Btf has all of it). */
interface ListableBtf extends StreamBtf {
  readonly count?: number;
  readonly startId?: number;
  kind?(id: number): string;
  typeById?(id: number): { name: string; kind: string; type?: number };
  resolve?(id: number): number;
}

/**
 * The struct names an object's BTF offers as events, in two tiers: structs a global
 * variable points to (the `struct data_t *unused __attribute__((unused))` idiom that puts
 * an event type into BTF), then every struct (which includes kernel structs that CO-RE
 * reads pulled in, such as `perf_event`).
 */
function structTiers(btf: ListableBtf): [string[], string[]] {
  const { count, kind, typeById, resolve } = btf;
  if (count === undefined || !kind || !typeById || !resolve) return [[], []];
  const get = typeById.bind(btf);
  const strip = resolve.bind(btf);
  const pointed: string[] = [];
  const all: string[] = [];
  for (let id = btf.startId ?? 1; id < count; id++) {
    const k = kind.call(btf, id);
    if (k === "struct") {
      const name = get(id).name;
      if (name) all.push(name);
    } else if (k === "var") {
      let t = get(strip(get(id).type ?? 0));
      if (t.kind === "ptr") t = get(strip(t.type ?? 0));
      if (t.kind === "struct" && t.name) pointed.push(t.name);
    }
  }
  return [pointed, all];
}

/**
 * Pick the decoder of a stream: the codec of `type` when given, else the guessed event
 * struct of the object, else copies of the raw bytes.
 *
 * @param map The buffer's map (its object's BTF resolves names).
 * @param type A type name or id, a codec, or undefined to guess.
 * @param what The stream kind, for error messages.
 * @returns A factory of decoders per buffer, and the C name of what they decode
 *   (`"bytes"` for raw copies).
 * @example
 * ```ts
 * const { decoderFor, typeName } = eventDecoder(map, "data_t", "ring buffer");
 * const { min, decode, pad } = decoderFor(mappingBytes);
 * const ev = length >= min ? decode(offset, length) : pad(offset, length);
 * ```
 */
export function eventDecoder(
  map: StreamMap,
  type: string | number | EventCodec | undefined,
  what: string,
): { decoderFor: DecoderFactory<unknown>; typeName: string } {
  let codec: EventCodec | undefined;
  if (typeof type === "object") codec = type;
  else {
    const btf = map.btf as ListableBtf | undefined;
    if (type !== undefined) {
      if (!btf) {
        throw new BpfError({
          op: `${what} open`,
          message: `cannot decode events of map '${map.name}' as '${type}': the object has no BTF`,
          hint: "compile the BPF program with -g, or omit type to receive Uint8Array events",
        });
      }
      codec = btf.codec(type);
    } else if (btf) {
      const [pointed, all] = structTiers(btf);
      const guess = guessEventType(pointed) ?? guessEventType(all);
      if (guess) codec = btf.codec(`struct ${guess}`);
    }
  }
  if (!codec) return { decoderFor: bytesDecoder, typeName: "bytes" };
  return { decoderFor: codecDecoder(codec), typeName: codec.typeName ?? "struct" };
}

/** Copies of the bytes, whatever their length. */
function bytesDecoder(bytes: Uint8Array): Decoder<Uint8Array> {
  const copy = byteCopier(bytes);
  return { min: 0, decode: copy, pad: copy };
}

/** Records shorter than the type are decoded from a zero-padded copy, never past their end. */
function codecDecoder(codec: EventCodec): DecoderFactory<unknown> {
  const size = codec.size;
  return (bytes) => {
    const pad = (offset: number, length: number) => {
      const padded = new Uint8Array(size);
      padded.set(bytes.subarray(offset, offset + length));
      return codec.decode(padded, 0);
    };
    // The codec's bound decoder is called directly by the hot loop (its extra length
    // argument is ignored): no wrapper in between.
    const decode = typeof codec.bind === "function"
      ? codec.bind(bytes)
      : (offset: number) => codec.decode(bytes, offset);
    return { min: size, decode, pad };
  };
}

/** Bytes per shared chunk of copies: small, so a kept event keeps little else alive. */
const CHUNK_SIZE = 16384;
/** Records larger than this get a buffer of their own. */
const CHUNK_MAX_RECORD = 512;

/**
 * The decoder of untyped streams: copies (so an event outlives its ring slot). Small
 * records are copied into views of a shared 16 KiB chunk, because allocating an
 * ArrayBuffer per event costs ~20× more than the copy; 4-aligned ones (ring and perf
 * buffer records are) a word at a time.
 *
 * @param bytes The buffer records are read from.
 * @returns A decoder returning a fresh `Uint8Array` per record.
 * @example
 * ```ts
 * const copy = byteCopier(mapping);
 * const ev = copy(offset, length); // Uint8Array of `length` bytes
 * ```
 */
export function byteCopier(bytes: Uint8Array): (offset: number, length: number) => Uint8Array {
  const src32 = (bytes.byteOffset & 3) === 0
    ? new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length >> 2)
    : undefined;
  let chunk = new Uint8Array(CHUNK_SIZE);
  let chunk32 = new Int32Array(chunk.buffer);
  let at = 0;
  return (offset, length) => {
    if (length > CHUNK_MAX_RECORD) return bytes.slice(offset, offset + length);
    if (at + length > CHUNK_SIZE) {
      chunk = new Uint8Array(CHUNK_SIZE);
      chunk32 = new Int32Array(chunk.buffer);
      at = 0;
    }
    const start = at;
    let i = 0;
    if (src32 && (offset & 3) === 0) {
      const from = offset >> 2;
      const to = start >> 2;
      const words = length >> 2;
      for (; i < words; i++) chunk32[to + i] = src32[from + i];
      i = words << 2;
    }
    for (; i < length; i++) chunk[start + i] = bytes[offset + i];
    at = (start + length + 7) & ~7;
    return chunk.subarray(start, start + length);
  };
}

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

/** How long a stream may keep the event loop busy before it lets other tasks run. */
const FAIR_SLICE_MS = 5;

/**
 * Lazy batching: after a read that emptied a buffer with events flowing, the async forms
 * let events pile up this long before reading again, instead of waiting for a wake-up.
 * On this kind of VM a kernel wake-up costs more than reading: a ring buffer producer
 * signals one (an irq_work) for each record it commits into an empty ring, so a reader
 * that keeps the ring empty makes the producer pay per record. Reading every millisecond
 * or two keeps the ring non-empty: one signal per read, and batches of thousands.
 */
const LAZY_MS = 1;
/** How long a lazy wait really lasts, at most, as timers go (1 ms asked: ~2.2 ms here). */
const LAZY_SPAN_MS = 3;
/**
 * When the rate seen would fill more than this share of the buffer during one lazy wait,
 * the reader turns eager (no lazy waits) for {@link EAGER_HOLD_MS}: the buffer is small
 * for the rate, and a lazy wait could let it overflow.
 */
const EAGER_SHARE = 1 / 4;
const EAGER_HOLD_MS = 100;
/** For this long after a read found events, waits for more are short (see waitReadable). */
const RECENT_MS = 100;
/**
 * Events a `for await` reads ahead (at most the stream's maxBatch). 128 rather than 64:
 * 5-8% faster (128-byte events: 13.1 against 12.1 M/s), same peak RSS. What is alive at a
 * garbage collection makes V8 grow its young generation, and the RSS with it, up to a cap
 * the `bpfsh` launcher sets (see there).
 */
const READ_AHEAD = 128;

/**
 * The iteration forms shared by the ring and perf buffer readers, built on `drain`.
 * Subclasses read their mapping in `drain`, say how full it is in `fullness` and how long
 * one wait may last in `maxWaitMs`.
 */
export abstract class EventStream<T> implements Disposable, AsyncDisposable, AsyncIterable<T> {
  /** Most events per batch in iteration. */
  readonly maxBatch: number;
  /** What this stream is, for messages: `ring buffer 'events'`. */
  protected abstract readonly label: string;
  /** The waiter for this stream's fds; set by the subclass constructor. */
  protected abstract readonly poller: Poller;
  #lastTurn = performance.now();
  #closed = false;
  /** Events a loop read ahead but never handed out (it was left with break). */
  #leftover: T[] = [];
  /** When a read of the async forms last emptied the buffer after delivering (-1: not). */
  #emptiedAt = -1;
  /** Until when reads stay eager (no lazy wait): the buffer filled fast. */
  #eagerUntil = -1;
  /** When a read of the async forms last found events. */
  #dataAt = -Infinity;
  /** The lazy wait in flight: its timer and how to end it early. */
  #nap: { timer: ReturnType<typeof setTimeout>; resolve: () => void } | undefined;

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

  /** Release the subclass's mappings and fds (the poller is closed by close()). */
  protected abstract release(): void;

  /** How full the buffer is now, 0 to 1 (the fullest CPU's ring for a perf buffer). */
  protected abstract fullness(): number;

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

  /**
   * Deliver every event in the buffer now (up to `limit`) to `cb`, without waiting.
   *
   * @param cb Called once per event, in order.
   * @param limit Most events to deliver (default: all).
   * @returns How many events were delivered.
   * @example
   * ```ts
   * const n = rb.consume((ev) => console.log(ev.pid));
   * ```
   */
  consume(cb: (ev: T) => void, limit = Infinity): number {
    this.checkOpen();
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
    return n + this.drain(cb, limit - n);
  }

  /**
   * The read of the async forms: {@link EventStream.consume} that also notes when it
   * emptied the buffer (the next read may be lazy) and, from what piled up since the last
   * time it did, whether a lazy wait could overflow the buffer (then stay eager).
   *
   * @param now The time (performance.now()) just before: reading the clock costs ~100 ns
   *   here, so it is read as little as can be.
   */
  #takeLazily(cb: (ev: T) => void, limit: number, now: number): number {
    if (this.#emptiedAt >= 0) {
      // Everything in the buffer came since it was emptied: that gives the rate.
      const since = Math.max(now - this.#emptiedAt, 0.1);
      if (this.fullness() * LAZY_SPAN_MS > EAGER_SHARE * since) {
        this.#eagerUntil = now + EAGER_HOLD_MS;
      }
    }
    const n = this.#take(cb, limit);
    if (n > 0) this.#dataAt = now;
    this.#emptiedAt = n > 0 && n < limit ? performance.now() : -1;
    return n;
  }

  /**
   * Before a read of the async forms: when the last one emptied a busy buffer less than
   * {@link LAZY_MS} ago, wait for the rest of it (or until `deadline`) so events pile up.
   */
  async #pace(deadline: number): Promise<void> {
    if (this.#emptiedAt < 0) return;
    const now = performance.now();
    const ms = Math.min(this.#emptiedAt + LAZY_MS, deadline) - now;
    if (ms <= 0 || now < this.#eagerUntil) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#nap = undefined;
        resolve();
      }, ms);
      this.#nap = { timer, resolve };
    });
    this.#lastTurn = performance.now();
  }

  /** End the lazy wait in flight now (close, abort). */
  #wakeNap(): void {
    const nap = this.#nap;
    if (!nap) return;
    this.#nap = undefined;
    clearTimeout(nap.timer);
    nap.resolve();
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
   * let pids = 0;
   * rb.consumeRaw((b, off) => { pids += b[off]; });
   * ```
   */
  consumeRaw(cb: RawCallback, limit = Infinity): number {
    this.checkOpen();
    return this.drainRaw(cb, limit);
  }

  /**
   * Wait up to `timeoutMs` for events, then deliver what is there to `cb`. Returns at once
   * when events are already waiting — except right after a call that emptied a busy
   * buffer: then it lets events pile up for about a millisecond first (fewer, larger
   * batches and no kernel wake-up per event; see the module notes).
   *
   * @param timeoutMs Milliseconds to wait; -1 waits until events come or close() is called.
   * @param cb Called once per event.
   * @returns How many events were delivered (0 on timeout or close).
   * @example
   * ```ts
   * while (!rb.closed) await rb.poll(100, (ev) => console.log(ev));
   * ```
   */
  async poll(timeoutMs: number, cb: (ev: T) => void): Promise<number> {
    this.checkOpen();
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
  }

  /**
   * Iterate over batches of events (arrays of up to `maxBatch`), waiting when the buffer
   * is empty: the form for hot loops. Ends when the stream is closed or `signal` aborts;
   * breaking out leaves the stream open for a new loop.
   *
   * @param opts A signal to stop, and the batch size.
   * @returns An async iterable of non-empty arrays.
   * @example
   * ```ts
   * for await (const batch of rb.batches()) total += batch.length;
   * ```
   */
  batches(opts: IterateOptions = {}): AsyncIterableIterator<T[]> {
    const limit = Math.max(1, Math.floor(opts.maxBatch ?? this.maxBatch));
    const signal = opts.signal;
    // deno-lint-ignore no-this-alias
    const self = this;
    let done = false;
    let batch: T[] = [];
    const push = (ev: T) => void batch.push(ev);
    const end = (): IteratorResult<T[]> => {
      done = true;
      return { value: undefined, done: true };
    };
    const wait = async (): Promise<IteratorResult<T[]>> =>
      (await self.fill(push, limit, signal)) > 0 ? { value: batch, done: false } : end();
    return {
      next(): Promise<IteratorResult<T[]>> {
        if (done) return Promise.resolve(end());
        batch = [];
        // No await while events are there (see EventIterator.next).
        const n = self.fillNow(push, limit, signal);
        if (n > 0) return Promise.resolve({ value: batch, done: false });
        return n === 0 ? Promise.resolve(end()) : wait();
      },
      return(): Promise<IteratorResult<T[]>> {
        return Promise.resolve(end());
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  /**
   * Iterate over events one at a time, waiting when the buffer is empty. Ends when the
   * stream is closed or `signal` aborts; `break` leaves the stream open.
   *
   * @param opts A signal to stop, and how many events to read ahead (default 128).
   * @returns An async iterator of events.
   * @example
   * ```ts
   * for await (const ev of rb.events({ signal: AbortSignal.timeout(5000) })) console.log(ev);
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
   * for await (const ev of rb) { if (ev.pid === 1) break; }
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
    if (this.#emptiedAt >= 0) return -1;
    const now = performance.now();
    if (now - this.#lastTurn >= FAIR_SLICE_MS) return -1;
    const n = this.#takeLazily(push, limit, now);
    return n > 0 ? n : -1;
  }

  /**
   * Fill `push` with up to `limit` events, waiting while the buffer is empty.
   *
   * @returns How many were pushed; 0 when closed or aborted.
   */
  async fill(push: (ev: T) => void, limit: number, signal?: AbortSignal): Promise<number> {
    await this.fairTurn();
    if (this.#emptiedAt >= 0) {
      const onAbort = () => this.#wakeNap();
      signal?.addEventListener("abort", onAbort, { once: true });
      try {
        await this.#pace(Infinity);
      } finally {
        signal?.removeEventListener("abort", onAbort);
      }
    }
    for (;;) {
      if (this.#closed || signal?.aborted) return 0;
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
    if (performance.now() - this.#lastTurn < FAIR_SLICE_MS) return;
    await this.poller.wait(0);
    this.#lastTurn = performance.now();
  }

  /**
   * One wait for readability, bounded by timeout and by the subclass's flush interval,
   * and to {@link LAZY_MS} while events flowed lately: on this kind of VM the kernel's
   * wake-up (an irq_work) may only come at the next timer tick, by when a fast producer
   * has filled megabytes. Checking every millisecond costs ~1000 wake-ups a second, and
   * only while events flow.
   */
  protected async waitReadable(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    let cap = this.maxWaitMs();
    if (performance.now() - this.#dataAt < RECENT_MS) {
      cap = cap < 0 ? LAZY_MS : Math.min(cap, LAZY_MS);
    }
    let ms = timeoutMs < 0 ? cap : cap < 0 ? timeoutMs : Math.min(cap, timeoutMs);
    if (ms !== -1) ms = Math.max(0, Math.ceil(ms));
    const onAbort = () => this.poller.wake();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      await this.poller.wait(ms);
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
    this.#lastTurn = performance.now();
  }

  /**
   * Stop reading and release the mappings and fds; a wait in flight ends at once and
   * loops over the stream finish. Calling it again does nothing.
   *
   * @example
   * ```ts
   * rb.close();
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#wakeNap();
    try {
      this.release();
    } finally {
      this.poller.close();
    }
  }

  /** `using rb = obj.ringbuf("events")` closes it at the end of the scope. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** `await using`: closes and waits until the epoll thread has let go of its fds. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.poller.closed();
  }
}

/** The one-event-at-a-time iterator: reads a few events ahead, hands them out one by one. */
class EventIterator<T> implements AsyncIterableIterator<T> {
  #stream: EventStream<T>;
  /** Events read ahead: [#i, #n) are still to hand out. */
  #buf: T[] = [];
  #i = 0;
  #n = 0;
  #done = false;
  #limit: number;
  #signal?: AbortSignal;
  #push = (ev: T) => {
    this.#buf[this.#n++] = ev;
  };

  constructor(stream: EventStream<T>, opts: IterateOptions) {
    this.#stream = stream;
    this.#limit = Math.max(1, Math.floor(opts.maxBatch ?? Math.min(READ_AHEAD, stream.maxBatch)));
    this.#signal = opts.signal;
  }

  next(): Promise<IteratorResult<T>> {
    // Plain resolved promises: an async generator costs 3× more per event.
    const i = this.#i;
    if (i < this.#n) {
      const value = this.#buf[i];
      this.#i = i + 1;
      return Promise.resolve({ value, done: false });
    }
    // Read on without an await while events are there: so a short read-ahead is cheap.
    if (!this.#done) {
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
    this.#done = true;
    this.#buf = [];
    return { value: undefined, done: true };
  }

  return(): Promise<IteratorResult<T>> {
    this.#done = true;
    // Events read ahead are not lost: the next loop or consume() gets them first.
    if (this.#i < this.#n && !this.#stream.closed) {
      this.#stream.unread(this.#buf.slice(this.#i, this.#n));
    }
    this.#buf = [];
    this.#i = this.#n = 0;
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
