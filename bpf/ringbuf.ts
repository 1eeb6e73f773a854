/**
 * The BPF ring buffer reader (BPF_MAP_TYPE_RINGBUF, kernel 5.8+), in TypeScript over the
 * mmapped map, the way cilium/ebpf's `ringbuf/reader.go` reads it:
 *
 * - the consumer page (offset 0) is mapped read-write, the producer page and the data
 *   area (offset one page) read-only; the kernel maps the data area twice in a row, so a
 *   record that crosses the end of the ring is contiguous in memory and never wraps;
 * - each record has an 8-byte header: a u32 length with a busy bit (still being written:
 *   stop here) and a discard bit (skip it), and a u32 page offset; records are 8-aligned;
 * - positions are u64 byte counters read as two u32 with `Atomics.load` (no BigInt on the
 *   hot path), and the consumer position is published once per batch, not per record;
 * - record headers are read with plain loads on x86-64, whose loads are ordered (acquire)
 *   already: `Atomics.load` costs ~40% of the walk there. Elsewhere they use it;
 * - no FFI call per event: when the ring is empty, one nonblocking `epoll_wait` waits;
 *   while events flow, the async forms read lazily, every millisecond or so (see
 *   bpf/stream.ts): the producer then signals one wake-up per batch, not per record.
 *
 * @module
 */

import { BpfError } from "../ffi/errors.ts";
import { pageSize, PROT_READ, PROT_WRITE } from "../ffi/libc.ts";
import {
  type Decoder,
  eventDecoder,
  EventStream,
  Mapping,
  Poller,
  type RawCallback,
  reentered,
  type StreamMap,
  type StreamOptions,
  type StreamStats,
} from "./stream.ts";

/** Record header bits (include/uapi/linux/bpf.h). */
const BUSY_BIT = 0x80000000 | 0;
const DISCARD_BIT = 0x40000000;
const LENGTH_MASK = 0x3fffffff;
const TWO_32 = 4294967296;
/** Whether plain loads are ordered like Atomics.load (x86-64's memory model: TSO). */
const ORDERED_LOADS = Deno.build.arch === "x86_64";

/** Options of {@link RingBuffer}. */
export type RingBufferOptions = StreamOptions;

/**
 * A reader of a BPF ring buffer map, yielding decoded events.
 *
 * Events are decoded with the BTF codec of `type` (a struct of the map's object). With no
 * type, the object's event struct is used when BTF tells it: the only struct named
 * `event`, `*_event` or `data_t` among those a global variable points to (the
 * `struct data_t *unused __attribute__((unused));` idiom), else among all its structs;
 * otherwise events are `Uint8Array` copies. `typeName` says which. Several rings can be
 * read at once (from one or several objects): each reader lets the others run at least
 * every few milliseconds.
 *
 * @example
 * ```ts
 * using rb = obj.ringbuf("events", { type: "data_t" });
 * for await (const ev of rb) {
 *   console.log(ev.pid, ev.command);
 *   if (ev.pid === 1) break; // the ring stays open: a new loop may start
 * }
 * ```
 */
// deno-lint-ignore no-explicit-any
export class RingBuffer<T = any> extends EventStream<T> {
  /** The map read. */
  readonly map: StreamMap;
  /** The data area size in bytes (the map's max_entries). */
  readonly size: number;
  /** The C type events are decoded as, or `"bytes"` for Uint8Array copies. */
  readonly typeName: string;
  protected readonly label: string;
  protected readonly poller: Poller;
  #consumer: Mapping;
  #producer: Mapping;
  /** The consumer page as one u64, written once per batch. */
  #consumerPos: BigUint64Array;
  /** The producer mapping: u32 [0] and [1] are the producer position, data at #base. */
  #u32: Uint32Array;
  #u8: Uint8Array;
  #base: number;
  #mask: number;
  /** Our copy of the consumer position (exact up to 2^53 bytes). */
  #pos: number;
  /** The decoder's parts, in fields: the hot loop reads them once per batch. */
  #decode: (offset: number, length: number) => T;
  #pad: (offset: number, length: number) => T;
  #min: number;
  #events = 0;
  #bytes = 0;
  #draining = false;
  #closing = false;

  /**
   * Map a ring buffer map for reading. Usually called as `obj.ringbuf(name, opts)`,
   * which also closes the reader with the object.
   *
   * @param map A loaded map of type `ringbuf`.
   * @param opts The event type and batch size.
   * @example
   * ```ts
   * const rb = new RingBuffer(obj.map("events"), { type: "data_t" });
   * ```
   */
  constructor(map: StreamMap, opts: RingBufferOptions = {}) {
    super(opts);
    this.map = map;
    this.label = `ring buffer '${map.name}'`;
    if (map.type !== "ringbuf") {
      throw new BpfError({
        op: "ring buffer open",
        message: `map '${map.name}' is a ${map.type} map, not a ringbuf`,
        hint: map.type === "perf_event_array" ? "read it with obj.perfbuf()" : undefined,
      });
    }
    const { decoderFor, typeName } = eventDecoder(map, opts.type, "ring buffer");
    this.typeName = typeName;
    const page = pageSize();
    this.size = map.maxEntries;
    this.#mask = this.size - 1;
    this.#base = page;
    const fd = map.fd;
    const op = `ring buffer '${map.name}' mmap`;
    this.#consumer = Mapping.map(fd, page, PROT_READ | PROT_WRITE, 0, op);
    try {
      this.#producer = Mapping.map(fd, page + 2 * this.size, PROT_READ, page, op);
    } catch (e) {
      this.#consumer.unmap();
      throw e;
    }
    try {
      this.poller = new Poller([fd], this.label);
    } catch (e) {
      this.#producer.unmap();
      this.#consumer.unmap();
      throw e;
    }
    this.#consumerPos = new BigUint64Array(this.#consumer.buffer, 0, 1);
    this.#u32 = new Uint32Array(this.#producer.buffer);
    this.#u8 = new Uint8Array(this.#producer.buffer);
    const decoder = decoderFor(this.#u8) as Decoder<T>;
    this.#decode = decoder.decode;
    this.#pad = decoder.pad;
    this.#min = decoder.min;
    const c32 = new Uint32Array(this.#consumer.buffer, 0, 2);
    this.#pos = Atomics.load(c32, 1) * TWO_32 + Atomics.load(c32, 0);
  }

  /**
   * Counters: events delivered and their payload bytes.
   *
   * @example
   * ```ts
   * const { events, bytes } = rb.stats;
   * ```
   */
  get stats(): StreamStats {
    return { events: this.#events, bytes: this.#bytes };
  }

  /**
   * Bytes written by the kernel and not yet read (records, headers and discarded ones).
   *
   * @example
   * ```ts
   * if (rb.pending > rb.size / 2) console.warn("falling behind");
   * ```
   */
  get pending(): number {
    this.checkOpen();
    return this.#producerPos() - this.#pos;
  }

  /** The producer position; the hi/lo/hi read guards against a torn 64-bit value. */
  #producerPos(): number {
    const u = this.#u32;
    let hi = Atomics.load(u, 1);
    for (;;) {
      const lo = Atomics.load(u, 0);
      const again = Atomics.load(u, 1);
      if (again === hi) return hi * TWO_32 + lo;
      hi = again;
    }
  }

  protected fullness(): number {
    return this.closed ? 0 : (this.#producerPos() - this.#pos) / this.size;
  }

  protected drain(cb: (ev: T) => void, limit: number): number {
    // The same walk as drainRaw, written out: a shared walk with a callback per record
    // would cost a second megamorphic call per event.
    if (this.#draining) throw reentered(this.label);
    this.#draining = true;
    const u32 = this.#u32;
    const decode = this.#decode;
    const min = this.#min;
    const mask = this.#mask;
    const base = this.#base;
    const start = this.#pos;
    let pos = start;
    let n = 0;
    let bytes = 0;
    try {
      let prod = this.#producerPos();
      while (pos < prod && n < limit) {
        do {
          // `pos & mask` keeps the low 32 bits of pos, which is all the mask needs.
          const off = base + (pos & mask);
          const header = ORDERED_LOADS ? u32[off >>> 2] : Atomics.load(u32, off >>> 2);
          if ((header & BUSY_BIT) !== 0) return n;
          const length = header & LENGTH_MASK;
          pos += (length + 15) & ~7;
          if ((header & DISCARD_BIT) === 0) {
            n++;
            bytes += length;
            cb(length >= min ? decode(off + 8, length) : this.#pad(off + 8, length));
            if (this.#closing) return n;
          }
        } while (pos < prod && n < limit);
        prod = this.#producerPos();
      }
      return n;
    } finally {
      this.#finish(start, pos, n, bytes);
    }
  }

  protected drainRaw(cb: RawCallback, limit: number): number {
    if (this.#draining) throw reentered(this.label);
    this.#draining = true;
    const u32 = this.#u32;
    const u8 = this.#u8;
    const mask = this.#mask;
    const base = this.#base;
    const start = this.#pos;
    let pos = start;
    let n = 0;
    let bytes = 0;
    try {
      let prod = this.#producerPos();
      while (pos < prod && n < limit) {
        do {
          const off = base + (pos & mask);
          const header = ORDERED_LOADS ? u32[off >>> 2] : Atomics.load(u32, off >>> 2);
          if ((header & BUSY_BIT) !== 0) return n;
          const length = header & LENGTH_MASK;
          pos += (length + 15) & ~7;
          if ((header & DISCARD_BIT) === 0) {
            n++;
            bytes += length;
            cb(u8, off + 8, length);
            if (this.#closing) return n;
          }
        } while (pos < prod && n < limit);
        prod = this.#producerPos();
      }
      return n;
    } finally {
      this.#finish(start, pos, n, bytes);
    }
  }

  /** End a batch: publish the consumer position once, even when a callback threw. */
  #finish(start: number, pos: number, n: number, bytes: number): void {
    if (pos !== start) {
      this.#pos = pos;
      if (!this.#closing) Atomics.store(this.#consumerPos, 0, BigInt(pos));
    }
    this.#events += n;
    this.#bytes += bytes;
    this.#draining = false;
    if (this.#closing) this.#unmap();
  }

  protected release(): void {
    this.#closing = true;
    // A callback that closes the ring is still inside the loop: unmap when it returns.
    if (!this.#draining) this.#unmap();
  }

  #unmap(): void {
    this.#decode = this.#pad = () => {
      throw new BpfError({ op: "read", errno: 9, message: `${this.label} is closed` });
    };
    this.#u32 = new Uint32Array(0);
    this.#u8 = new Uint8Array(0);
    this.#consumerPos = new BigUint64Array(0);
    this.#producer.unmap();
    this.#consumer.unmap();
  }
}
