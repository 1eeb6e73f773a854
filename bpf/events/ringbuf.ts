/**
 * The BPF ring buffer reader (BPF_MAP_TYPE_RINGBUF, kernel 5.8+), in TypeScript over the
 * mmapped map, the way cilium/ebpf's `ringbuf/reader.go` reads it:
 *
 * - the consumer page (offset 0) is mapped read-write, the producer page and the data
 *   area (offset one page) read-only; the kernel lets the data area be mapped twice in a
 *   row, so that a record crossing the end of the ring is contiguous in memory. Here the
 *   second copy is only the first 64 KiB of the ring (all of it for smaller rings):
 *   records up to 64 KiB never wrap, as with two full copies, but a 16 MiB ring costs
 *   16 MiB of RSS instead of 32 (every mapped page counts, each time it is mapped). A
 *   longer record crossing the end is copied out before it is delivered;
 * - each record has an 8-byte header: a u32 length with a busy bit (still being written:
 *   stop here) and a discard bit (skip it), and a u32 page offset; records are 8-aligned;
 * - positions are u64 byte counters read as two u32 with `Atomics.load` (no BigInt on the
 *   hot path), and the consumer position is published once per batch, not per record;
 * - the kernel's protocol: a record's header is written (busy) before the producer
 *   position passes it, and its data before the commit clears the busy bit (an `xchg`).
 *   So the producer position is loaded with acquire ordering, and each header with
 *   acquire ordering too, before its data is read. Headers are read with `Atomics.load`
 *   except on x86-64, where every load already has acquire ordering in hardware and V8
 *   keeps typed-array loads in program order: there a plain load does it, at a fraction
 *   of the cost (measured in bench/ringbuf_bench.ts), and tests/ringbuf_stress_test.ts
 *   proves it against a producer on another CPU (checksummed records, millions of them).
 *   `BPFSH_RINGBUF_LOADS=atomic` forces `Atomics.load`;
 * - a torn ring (the bytes left before the producer position cannot hold the header or
 *   the record it announces) is an error, as in cilium/ebpf: the reader stops at the
 *   last whole record instead of reading past what the kernel published;
 * - the kernel does not count the records a full ring refused (only the program sees
 *   `bpf_ringbuf_reserve` fail): the reader counts the reads that found the ring with
 *   less room than a record, in `stats.full`, and tells `onFull`;
 * - no FFI call per event: when the ring is empty, one nonblocking `epoll_wait` waits
 *   (at most `flushMs`, for records submitted with `BPF_RB_NO_WAKEUP`);
 *   while events flow, the async forms read lazily, every millisecond or so (see
 *   bpf/events/pacing.ts): the producer then signals one wake-up per batch, not per record.
 *
 * @module
 */

import { BPF_RINGBUF, ERRNO } from "../../ffi/abi.ts";
import { BpfError } from "../../ffi/errors.ts";
import { pageSize, PROT_READ, PROT_WRITE } from "../../ffi/libc.ts";
import { type Decoder, eventDecoder } from "./decoder.ts";
import { Mapping } from "./mapping.ts";
import { checkStreamMap, EventStream, reentered } from "./stream.ts";
import type { RawCallback, StreamMap, StreamOptions, StreamStats } from "./types.ts";

const { BUSY_BIT, DISCARD_BIT, LENGTH_MASK } = BPF_RINGBUF;
const TWO_32 = 4294967296;
/** How much of the ring's start is mapped again after its end (see the module notes). */
const WRAP_BYTES = 64 * 1024;
/**
 * Whether record headers are read with plain loads (see the module notes): on x86-64,
 * unless BPFSH_RINGBUF_LOADS says `atomic`.
 *
 * @returns Whether plain loads are used.
 */
function plainHeaderLoads(): boolean {
  let mode: string | undefined;
  try {
    mode = Deno.env.get("BPFSH_RINGBUF_LOADS");
  } catch {
    mode = undefined; // no env permission: the default
  }
  if (mode === "atomic") return false;
  if (mode === "plain") return true;
  return Deno.build.arch === "x86_64";
}
/**
 * Most records one walk reads: a full ring is read in several calls of the walk, so V8
 * compiles it as a function with all its callees inlined, rather than only on-stack
 * (OSR) in the middle of one long first call, which often leaves the decoder out of line
 * (much slower: bench/NOTES.md). The consumer position is published after each.
 */
const SLICE = 4096;

/**
 * Copy `length` bytes of a ring starting at offset `start`, going on at the ring's start
 * when they reach its end.
 *
 * @param ring The ring's data area (one copy).
 * @param start Where the bytes start, `0 <= start < ring.length`.
 * @param length How many, at most `ring.length`.
 * @param out Where they go (from offset 0).
 * @example
 * ```ts
 * const out = new Uint8Array(3);
 * copyWrapped(new Uint8Array([1, 2, 3, 4]), 3, 3, out); // out = [4, 1, 2]
 * ```
 */
export function copyWrapped(
  ring: Uint8Array,
  start: number,
  length: number,
  out: Uint8Array,
): void {
  const first = Math.min(length, ring.length - start);
  out.set(ring.subarray(start, start + first), 0);
  if (first < length) out.set(ring.subarray(0, length - first), first);
}

/** Options of {@link RingBuffer}. */
export interface RingBufferOptions extends StreamOptions {
  /**
   * The longest a waiting reader sleeps before it looks at the ring again (default 50 ms):
   * records a program submits with `BPF_RB_NO_WAKEUP` send no wake-up, and still come
   * within this.
   */
  flushMs?: number;
  /**
   * Called when a read finds the ring full (less room than the largest record seen):
   * the program's `bpf_ringbuf_reserve` may have failed since the last read, and the
   * kernel does not count those drops. `pending` is the bytes waiting to be read.
   * Counted in `stats.full` either way.
   */
  onFull?: (pending: number) => void;
}

/** Counters of a ring buffer. */
export interface RingStats extends StreamStats {
  /**
   * Reads that found the ring full: less free room than the largest record seen (the
   * program may have dropped records then; the kernel does not count them).
   */
  full: number;
}

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
 * When a loop over the reader ends (break, return, throw, an abort, close), the reader
 * unmaps the ring and closes its fds until its next read, which maps it again: records
 * wait in the ring meanwhile, and events the loop read ahead go to the next read first.
 * So `for await (const ev of obj.ringbuf("events")) { ...; break; }` in a loop leaves
 * nothing behind. `stats.full` counts the reads that found the ring full (the kernel
 * does not count the records a full ring refused; `onFull` hears of each).
 *
 * @example
 * ```ts
 * using obj = await BpfObject.open("build/tests/events.bpf.o");
 * obj.load();
 * obj.attachAll(); // on_execve sends a data_t to the ring on every execve
 * using rb = obj.ringbuf("events", { type: "data_t" });
 * await new Deno.Command("/bin/true").output();
 * for await (const ev of rb) {
 *   console.log(ev.pid, ev.command); // 4242 deno (the caller's comm, at sys_enter_execve)
 *   break; // the ring stays readable: a new loop may start
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
  /** What this reader is, for messages. */
  protected readonly label: string;
  #consumer: Mapping | undefined;
  #producer: Mapping | undefined;
  /** The consumer page as one u64, written once per batch. */
  #consumerPos = new BigUint64Array(0);
  /** The producer mapping: u32 [0] and [1] are the producer position, data at #base. */
  #u32 = new Uint32Array(0);
  #u8 = new Uint8Array(0);
  #base: number;
  #mask: number;
  /** Data bytes mapped: the ring, then its first bytes again. */
  #span: number;
  /** Records that wrap past the mapping are copied here, and decoded from here. */
  #scratch = new Uint8Array(0);
  #scratchDecoder: Decoder<T> | undefined;
  #decoderFor: (bytes: Uint8Array) => Decoder<T>;
  /** Our copy of the consumer position (exact up to 2^53 bytes). */
  #pos = 0;
  /** The decoder's parts, in fields: the hot loop reads them once per batch. */
  #decode: (offset: number, length: number) => T = closedRead;
  #pad: (offset: number, length: number) => T = closedRead;
  #min = 0;
  #events = 0;
  #bytes = 0;
  #full = 0;
  /** Room a record needs: the largest seen, with its header (the least record at first). */
  #room = 16;
  #draining = false;
  /** release() was called during a walk: unmap when it returns. */
  #releasing = false;
  readonly #flushMs: number;
  readonly #plain = plainHeaderLoads();
  readonly #onFull?: (pending: number) => void;

  /**
   * Map a ring buffer map for reading. Usually called as `obj.ringbuf(name, opts)`,
   * which also closes the reader with the object.
   *
   * @param map A loaded map of type `ringbuf`.
   * @param opts The event type and batch size.
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/events.bpf.o");
   * obj.load();
   * obj.attachAll(); // on_execve sends a data_t to the ring on every execve
   * await new Deno.Command("/bin/true").output();
   * using rb = new RingBuffer(obj.map("events"), { type: "data_t" });
   * rb.consume((ev) => console.log(ev.pid, ev.command)); // 4242 deno
   * ```
   */
  constructor(map: StreamMap, opts: RingBufferOptions = {}) {
    super(opts);
    this.map = map;
    this.label = `ring buffer '${map.name}'`;
    checkStreamMap(map, "ring buffer");
    const { decoderFor, typeName } = eventDecoder(map, opts.type, "ring buffer", opts.u64);
    this.typeName = typeName;
    this.#decoderFor = decoderFor as (bytes: Uint8Array) => Decoder<T>;
    const page = pageSize();
    this.size = map.maxEntries;
    this.#mask = this.size - 1;
    this.#base = page;
    this.#span = this.size + Math.min(this.size, WRAP_BYTES);
    this.#flushMs = Math.max(1, opts.flushMs ?? 50);
    this.#onFull = opts.onFull;
    this.ensureHeld();
  }

  /** Map the ring (or open the per-CPU events): see EventStream.acquire. */
  protected acquire(): void {
    const fd = this.map.fd;
    const page = this.#base;
    const op = `ring buffer '${this.map.name}' mmap`;
    const consumer = Mapping.map(fd, page, PROT_READ | PROT_WRITE, 0, op);
    let producer: Mapping;
    try {
      producer = Mapping.map(fd, page + this.#span, PROT_READ, page, op);
    } catch (e) {
      consumer.unmap();
      throw e;
    }
    this.#consumer = consumer;
    this.#producer = producer;
    this.#consumerPos = new BigUint64Array(consumer.buffer, 0, 1);
    this.#u32 = new Uint32Array(producer.buffer);
    this.#u8 = new Uint8Array(producer.buffer);
    const decoder = this.#decoderFor(this.#u8);
    this.#decode = decoder.decode;
    this.#pad = decoder.pad;
    this.#min = decoder.min;
    // The kernel's consumer position: ours, unless another reader moved it meanwhile.
    const c32 = new Uint32Array(consumer.buffer, 0, 2);
    this.#pos = Atomics.load(c32, 1) * TWO_32 + Atomics.load(c32, 0);
  }

  /** The fds a wait waits on. */
  protected pollFds(): number[] {
    return [this.map.fd];
  }

  /**
   * Counters: events delivered, their payload bytes, and reads that found the ring full.
   *
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/events.bpf.o");
   * obj.load();
   * obj.attachAll(); // on_execve sends a data_t to the ring on every execve
   * using rb = obj.ringbuf("events", { type: "data_t" });
   * await new Deno.Command("/bin/true").output();
   * rb.consume(() => {});
   * const { events, bytes, full } = rb.stats; // events >= 1, 36 bytes each, full 0
   * ```
   */
  get stats(): RingStats {
    return { events: this.#events, bytes: this.#bytes, full: this.#full };
  }

  /**
   * Bytes written by the kernel and not yet read (records, headers and discarded ones).
   *
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/events.bpf.o");
   * obj.load();
   * obj.attachAll(); // on_execve sends a data_t to the ring on every execve
   * using rb = obj.ringbuf("events", { type: "data_t" });
   * await new Deno.Command("/bin/true").output();
   * if (rb.pending > rb.size / 2) console.warn("falling behind");
   * console.log(rb.pending); // 48 or more: a record and its header, not yet read
   * ```
   */
  get pending(): number {
    this.checkOpen();
    this.ensureHeld();
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

  /** The longest one wait lasts: flushMs. */
  protected override maxWaitMs(): number {
    return this.#flushMs;
  }

  /** How full the ring is, 0 to 1 (the fullest CPU's ring for a perf buffer). */
  protected fullness(): number {
    return this.holding ? (this.#producerPos() - this.#pos) / this.size : 0;
  }

  /** Deliver up to `limit` decoded events that are there now. */
  protected drain(cb: (ev: T) => void, limit: number): number {
    let n = 0;
    for (;;) {
      const k = this.#drainSlice(cb, Math.min(limit - n, SLICE));
      n += k;
      if (k < SLICE || n >= limit || this.#releasing) return n;
    }
  }

  /**
   * At the start of a walk: `ready` bytes wait. With less room left than a record needs,
   * the ring was full: the program's reservations may have failed.
   */
  #checkFull(ready: number): void {
    if (ready + this.#room < this.size) return;
    this.#full++;
    this.#onFull?.(ready);
  }

  /**
   * The error for a torn ring: the record at `done` bytes from position `start` does not
   * fit what the producer published (`ready` bytes).
   */
  #torn(start: number, done: number, ready: number, header: number): BpfError {
    const at = start + done;
    const left = ready - done;
    return new BpfError({
      op: "read",
      message: left < BPF_RINGBUF.HDR_SZ
        ? `${this.label} is torn: ${left} bytes before the producer position ` +
          `(${start + ready}) cannot hold a record header at position ${at}`
        : `${this.label} is torn: the record at position ${at} claims ` +
          `${header & LENGTH_MASK} bytes, past the producer position (${start + ready})`,
      hint: "only one reader may consume a ring buffer: is another process or reader " +
        "reading this map?",
    });
  }

  /** Deliver up to `limit` (at most {@link SLICE}) decoded events. */
  #drainSlice(cb: (ev: T) => void, limit: number): number {
    // The same walk as drainRaw, written out: a shared walk with a callback per record
    // would cost a second megamorphic call per event.
    if (this.#draining) throw reentered(this.label);
    this.#draining = true;
    const u32 = this.#u32;
    const decode = this.#decode;
    const min = this.#min;
    const mask = this.#mask;
    const base = this.#base;
    const span = this.#span - 8;
    const plain = this.#plain;
    const start = this.#pos;
    // The walk counts bytes from `start` in `done`, a small int: positions themselves
    // pass 2^31 and would make every step double arithmetic.
    const first = start % this.size;
    let done = 0;
    let n = 0;
    let bytes = 0;
    let longest = 0;
    try {
      let ready = this.#producerPos() - start;
      this.#checkFull(ready);
      while (done < ready && n < limit) {
        do {
          const at = (first + done) & mask;
          const off = base + at;
          if (done + 8 > ready) throw this.#torn(start, done, ready, 0);
          const header = plain ? u32[off >>> 2] : Atomics.load(u32, off >>> 2);
          if ((header & BUSY_BIT) !== 0) return n;
          const length = header & LENGTH_MASK;
          const step = (length + 15) & ~7;
          if (done + step > ready) throw this.#torn(start, done, ready, header);
          done += step;
          if (step > longest) longest = step;
          if ((header & DISCARD_BIT) === 0) {
            n++;
            bytes += length;
            if (at + length > span) cb(this.#wrapped(at, length));
            else cb(length >= min ? decode(off + 8, length) : this.#pad(off + 8, length));
            if (this.#releasing) return n;
          }
        } while (done < ready && n < limit);
        ready = this.#producerPos() - start;
      }
      return n;
    } finally {
      this.#finish(start, start + done, n, bytes, longest);
    }
  }

  /** Deliver up to `limit` records as zero-copy views. */
  protected drainRaw(cb: RawCallback, limit: number): number {
    // #drainSlice's walk, written out on purpose (one call site per event: see there).
    if (this.#draining) throw reentered(this.label);
    this.#draining = true;
    const u32 = this.#u32;
    const u8 = this.#u8;
    const mask = this.#mask;
    const base = this.#base;
    const span = this.#span - 8;
    const plain = this.#plain;
    const start = this.#pos;
    const first = start % this.size;
    let done = 0;
    let n = 0;
    let bytes = 0;
    let longest = 0;
    try {
      let ready = this.#producerPos() - start;
      this.#checkFull(ready);
      while (done < ready && n < limit) {
        do {
          const at = (first + done) & mask;
          const off = base + at;
          if (done + 8 > ready) throw this.#torn(start, done, ready, 0);
          const header = plain ? u32[off >>> 2] : Atomics.load(u32, off >>> 2);
          if ((header & BUSY_BIT) !== 0) return n;
          const length = header & LENGTH_MASK;
          const step = (length + 15) & ~7;
          if (done + step > ready) throw this.#torn(start, done, ready, header);
          done += step;
          if (step > longest) longest = step;
          if ((header & DISCARD_BIT) === 0) {
            n++;
            bytes += length;
            if (at + length > span) {
              const from = this.#unwrap(at, length);
              if (from < 0) cb(this.#scratch, 0, length);
              else cb(u8, from, length);
            } else {
              cb(u8, off + 8, length);
            }
            if (this.#releasing) return n;
          }
        } while (done < ready && n < limit);
        ready = this.#producerPos() - start;
      }
      return n;
    } finally {
      this.#finish(start, start + done, n, bytes, longest);
    }
  }

  /**
   * Where the data of a record whose header is at ring offset `at` is, when it may run
   * past the mapping: its offset in the mapping when it is contiguous there after all,
   * else -1 after copying it to the start of #scratch.
   */
  #unwrap(at: number, length: number): number {
    let start = at + 8;
    if (start >= this.size) start -= this.size;
    if (start + length <= this.#span) return this.#base + start;
    if (this.#scratch.length < length) {
      this.#scratch = new Uint8Array(Math.max(length, 2 * this.#scratch.length));
      this.#scratchDecoder = undefined;
    }
    copyWrapped(
      this.#u8.subarray(this.#base, this.#base + this.size),
      start,
      length,
      this.#scratch,
    );
    return -1;
  }

  /** Decode a record that may run past the mapping (longer than 64 KiB: rare). */
  #wrapped(at: number, length: number): T {
    const from = this.#unwrap(at, length);
    if (from >= 0) {
      return length >= this.#min ? this.#decode(from, length) : this.#pad(from, length);
    }
    const d = this.#scratchDecoder ??= this.#decoderFor(this.#scratch);
    return length >= d.min ? d.decode(0, length) : d.pad(0, length);
  }

  /**
   * End a batch: publish the consumer position once, even when a callback threw (the
   * mapping is still there: a release during the walk waits for this).
   */
  #finish(start: number, pos: number, n: number, bytes: number, longest: number): void {
    if (pos !== start) {
      this.#pos = pos;
      Atomics.store(this.#consumerPos, 0, BigInt(pos));
    }
    this.#events += n;
    this.#bytes += bytes;
    if (longest > this.#room) this.#room = longest;
    this.#draining = false;
    if (this.#releasing) this.#unmap();
  }

  /** Unmap and close what acquire() made (after the walk in progress, if any). */
  protected release(): void {
    // A callback that closes the ring is still inside the walk: unmap when it returns.
    if (this.#draining) this.#releasing = true;
    else this.#unmap();
  }

  #unmap(): void {
    this.#releasing = false;
    this.#decode = this.#pad = closedRead;
    this.#u32 = new Uint32Array(0);
    this.#u8 = new Uint8Array(0);
    this.#consumerPos = new BigUint64Array(0);
    this.#producer?.unmap();
    this.#consumer?.unmap();
    this.#producer = this.#consumer = undefined;
  }
}

/** What a released reader's decoder does if something still calls it. */
function closedRead(): never {
  throw new BpfError({ op: "read", errno: ERRNO.EBADF, message: "ring buffer is not mapped" });
}
