/**
 * The BPF perf buffer reader (BPF_MAP_TYPE_PERF_EVENT_ARRAY + bpf_perf_event_output), in
 * TypeScript over one mmapped perf ring per CPU, without libbpf's perf_buffer:
 *
 * - per online CPU, a `PERF_COUNT_SW_BPF_OUTPUT` event with `PERF_SAMPLE_RAW` is opened,
 *   mapped (one metadata page + `pageCount` data pages), put in the map at the CPU's
 *   index and enabled;
 * - records are 8-aligned `perf_event_header`s; samples carry a u32 size and the bytes the
 *   program sent, `PERF_RECORD_LOST` records say how many samples the kernel dropped;
 *   a record that crosses the end of the ring is copied out before decoding;
 * - `data_head` is read as two u32 with `Atomics.load`, `data_tail` written once per
 *   batch per CPU;
 * - wake-ups: libbpf asks for one per event, which costs the producer an interrupt per
 *   event; here the kernel wakes the reader every `wakeupEvents` samples (or when half a
 *   ring is full), and a wait never lasts more than `flushMs`, so a lone event is still
 *   delivered within `flushMs`.
 *
 * @module
 */

import { PERF_EVENT_MMAP_PAGE, PERF_RECORD } from "../../ffi/abi.ts";
import { BpfError } from "../../ffi/errors.ts";
import { libc, pageSize, PROT_READ, PROT_WRITE } from "../../ffi/libc.ts";
import {
  PERF_COUNT_SW_BPF_OUTPUT,
  PERF_EVENT_IOC_ENABLE,
  PERF_SAMPLE_RAW,
  PERF_TYPE_SOFTWARE,
  perfEventOpen,
} from "../system/perf_event.ts";
import { type Decoder, type DecoderFactory, eventDecoder } from "./decoder.ts";
import { Mapping } from "./mapping.ts";
import { checkStreamMap, EventStream, reentered } from "./stream.ts";
import type { RawCallback, StreamMap, StreamOptions, StreamStats } from "./types.ts";

const PERF_RECORD_LOST = PERF_RECORD.LOST;
const PERF_RECORD_SAMPLE = PERF_RECORD.SAMPLE;
/** data_head in struct perf_event_mmap_page, as a u32 index. */
const DATA_HEAD_U32 = PERF_EVENT_MMAP_PAGE.offsetOf("data_head") / 4;
/** data_tail, as a u64 index. */
const DATA_TAIL_U64 = PERF_EVENT_MMAP_PAGE.offsetOf("data_tail") / 8;
const TWO_32 = 4294967296;

/** A perf event array map, which the reader fills with its per-CPU event fds. */
export interface PerfStreamMap extends StreamMap {
  /** Store raw key/value bytes (a BpfMap accepts Uint8Array for both). */
  set(key: Uint8Array, value: Uint8Array): unknown;
  /** Delete by raw key bytes. */
  delete(key: Uint8Array): unknown;
}

/** Options of {@link PerfBuffer}. */
export interface PerfBufferOptions extends StreamOptions {
  /** Data pages per CPU, a power of two (default 64: 256 KiB per CPU). */
  pageCount?: number;
  /** Wake the reader after this many samples on a CPU (default 64). */
  wakeupEvents?: number;
  /** The longest a sample waits for a reader that is waiting (default 50 ms). */
  flushMs?: number;
  /** Called with the number of samples the kernel dropped on a CPU (its ring was full). */
  onLost?: (count: number, cpu: number) => void;
}

/** One event from a perf buffer. */
export interface PerfEvent<T> {
  /** The CPU whose ring it came through. */
  cpu: number;
  /** The decoded sample (or a Uint8Array copy). */
  data: T;
}

/** Counters of a perf buffer. */
export interface PerfStats extends StreamStats {
  /** Samples the kernel dropped because a CPU's ring was full. */
  lost: number;
}

/** One CPU's ring. */
class CpuRing {
  readonly cpu: number;
  readonly fd: number;
  readonly mapping: Mapping;
  /** The metadata page, as u32 (data_head at DATA_HEAD_U32). */
  meta: Uint32Array;
  /** data_tail, written once per batch. */
  tail64: BigUint64Array;
  /** The data pages. */
  u8: Uint8Array;
  u32: Uint32Array;
  readonly size: number;
  tail: number;
  /** The decoder of the data pages. */
  dec: Decoder<unknown>;
  /** Wrapped records are copied here (grown on demand) and decoded from here. */
  scratch: Uint8Array;
  decScratch: Decoder<unknown>;

  constructor(
    cpu: number,
    fd: number,
    mapping: Mapping,
    page: number,
    decoderFor: DecoderFactory<unknown>,
  ) {
    this.cpu = cpu;
    this.fd = fd;
    this.mapping = mapping;
    this.meta = new Uint32Array(mapping.buffer, 0, page / 4);
    this.tail64 = new BigUint64Array(mapping.buffer, 0, page / 8);
    this.size = mapping.buffer.byteLength - page;
    this.u8 = new Uint8Array(mapping.buffer, page, this.size);
    this.u32 = new Uint32Array(mapping.buffer, page, this.size / 4);
    this.tail = Number(Atomics.load(this.tail64, DATA_TAIL_U64));
    this.dec = decoderFor(this.u8);
    this.scratch = new Uint8Array(256);
    this.decScratch = decoderFor(this.scratch);
    this.#decoderFor = decoderFor;
  }

  readonly #decoderFor: DecoderFactory<unknown>;

  /** data_head; the hi/lo/hi read guards against a torn 64-bit value. */
  head(): number {
    const m = this.meta;
    let hi = Atomics.load(m, DATA_HEAD_U32 + 1);
    for (;;) {
      const lo = Atomics.load(m, DATA_HEAD_U32);
      const again = Atomics.load(m, DATA_HEAD_U32 + 1);
      if (again === hi) return hi * TWO_32 + lo;
      hi = again;
    }
  }

  /** Copy a record that wraps around the end of the ring into scratch. */
  unwrap(off: number, length: number): void {
    if (this.scratch.length < length) {
      this.scratch = new Uint8Array(Math.max(length, this.scratch.length * 2));
      this.decScratch = this.#decoderFor(this.scratch);
    }
    const first = this.size - off;
    this.scratch.set(this.u8.subarray(off, this.size), 0);
    this.scratch.set(this.u8.subarray(0, length - first), first);
  }

  /** How full the ring is, 0 to 1. */
  fullness(): number {
    return (this.head() - this.tail) / this.size;
  }

  /** Forget the mapping's views before it goes. */
  drop(): void {
    this.meta = new Uint32Array(0);
    this.tail64 = new BigUint64Array(0);
    this.u8 = new Uint8Array(0);
    this.u32 = new Uint32Array(0);
    this.mapping.unmap();
  }
}

/** What makes two perf buffers of one map alike: every option but onLost. */
function shapeOf(opts: PerfBufferOptions): unknown[] {
  return [
    opts.type,
    opts.u64 ?? "bigint",
    opts.pageCount ?? 64,
    opts.wakeupEvents ?? 64,
    opts.flushMs ?? 50,
    opts.maxBatch ?? 128,
  ];
}

/** The online CPUs, from /sys/devices/system/cpu/online (e.g. `0-3,5`). */
function onlineCpuList(): number[] {
  let text: string;
  try {
    text = Deno.readTextFileSync("/sys/devices/system/cpu/online").trim();
  } catch {
    return [0];
  }
  const cpus: number[] = [];
  for (const part of text.split(",")) {
    const [a, b] = part.split("-").map(Number);
    for (let c = a; c <= (b ?? a); c++) cpus.push(c);
  }
  return cpus;
}

function u32Bytes(n: number): Uint8Array {
  return new Uint8Array(new Uint32Array([n]).buffer);
}

/**
 * A reader of a BPF perf event array, yielding `{ cpu, data }` events.
 *
 * `data` is decoded with the BTF codec of `type`, or with no type of the object's event
 * struct when BTF tells it (the same rule as RingBuffer's); otherwise it is a
 * `Uint8Array` copy of the sample (which the kernel pads so that its size plus 4 is a
 * multiple of 8). `typeName` says which.
 * Samples the kernel dropped are counted in `stats.lost` and reported to `onLost`.
 *
 * A perf event array feeds one reader (a second one plugs its events into the map's
 * slots in place of the first's). `obj.perfbuf(name)` hands back the map's open reader
 * when the options are the same (a new `onLost` replaces the old), and otherwise closes
 * it before making a new one. So `for await (const ev of obj.perfbuf("output")) { ...;
 * break; }` in a loop reads through one reader and leaves nothing behind. A loop left
 * with break leaves the reader open: samples wait in its rings for the next read, which
 * gets the events the loop read ahead first.
 *
 * @example
 * ```ts
 * using obj = await BpfObject.open("build/tests/events.bpf.o");
 * obj.load();
 * using pb = obj.perfbuf("output", { type: "data_t", onLost: (n) => console.warn(n) });
 * // blast sends { count, first } data_t samples to the perf buffer, pid = first, first + 1, …
 * const blast = (count: bigint, first: bigint) =>
 *   obj.program("blast").testRun({ ctx: new Uint8Array(new BigUint64Array([count, first]).buffer) });
 * blast(3n, 100n);
 * for await (const { cpu, data } of pb) {
 *   console.log(cpu, data.pid, data.command); // 0 100 blast, then 101 and 102
 *   if (data.pid === 102) break;
 * }
 * ```
 */
// deno-lint-ignore no-explicit-any
export class PerfBuffer<T = any> extends EventStream<PerfEvent<T>> {
  /** The map filled with this reader's perf events. */
  readonly map: PerfStreamMap;
  /** The C type samples are decoded as, or `"bytes"` for Uint8Array copies. */
  readonly typeName: string;
  /** Data bytes per CPU ring. */
  readonly ringSize: number;
  /** What this reader is, for messages. */
  protected readonly label: string;
  readonly #rings: CpuRing[] = [];
  readonly #flushMs: number;
  #onLost?: (count: number, cpu: number) => void;
  /** The options that shape the reader (all but onLost), to tell whether it can be reused. */
  readonly #shape: unknown[];
  readonly #opts: PerfBufferOptions;
  readonly #decoderFor: DecoderFactory<unknown>;
  readonly #cpus: number[];
  #next = 0;
  #events = 0;
  #bytes = 0;
  #lost = 0;
  #draining = false;
  /** release() was called during a walk: tear down when it returns. */
  #releasing = false;

  /**
   * Open one perf ring per online CPU and plug them into the map. Usually called as
   * `obj.perfbuf(name, opts)`, which also closes the reader with the object.
   *
   * @param map A loaded map of type `perf_event_array`.
   * @param opts The event type, ring size, wake-up policy and a lost-sample callback.
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/events.bpf.o");
   * obj.load();
   * // blast sends { count, first } data_t samples to the perf buffer, pid = first, first + 1, …
   * const blast = (count: bigint, first: bigint) =>
   *   obj.program("blast").testRun({ ctx: new Uint8Array(new BigUint64Array([count, first]).buffer) });
   * using pb = new PerfBuffer(obj.map("output"), { type: "data_t", pageCount: 16 });
   * blast(2n, 7n);
   * pb.consume(({ cpu, data }) => console.log(cpu, data.pid)); // 0 7, 0 8
   * ```
   */
  constructor(map: PerfStreamMap, opts: PerfBufferOptions = {}) {
    super(opts);
    this.map = map;
    this.label = `perf buffer '${map.name}'`;
    checkStreamMap(map, "perf buffer");
    const pages = opts.pageCount ?? 64;
    if (!(pages > 0 && Number.isInteger(pages) && (pages & (pages - 1)) === 0)) {
      throw new BpfError({
        op: "perf buffer open",
        message: `page count ${pages} of map '${map.name}' is not a power of two`,
        hint: "use 8, 16, 64, ...",
      });
    }
    const { decoderFor, typeName } = eventDecoder(map, opts.type, "perf buffer", opts.u64);
    this.typeName = typeName;
    this.#decoderFor = decoderFor;
    this.#opts = opts;
    this.#flushMs = Math.max(1, opts.flushMs ?? 50);
    this.#onLost = opts.onLost;
    this.#shape = shapeOf(opts);
    this.ringSize = pages * pageSize();
    this.#cpus = onlineCpuList().filter((c) => c < map.maxEntries);
    this.ensureHeld();
  }

  /** Map the ring (or open the per-CPU events): see EventStream.acquire. */
  protected acquire(): void {
    const page = pageSize();
    try {
      for (const cpu of this.#cpus) {
        this.#rings.push(this.#open(cpu, page, this.#opts, this.#decoderFor));
      }
    } catch (e) {
      this.#teardown();
      throw e;
    }
  }

  /** The fds a wait waits on. */
  protected pollFds(): number[] {
    return this.#rings.map((r) => r.fd);
  }

  #open(
    cpu: number,
    page: number,
    opts: PerfBufferOptions,
    decoderFor: DecoderFactory<unknown>,
  ): CpuRing {
    const fd = perfEventOpen(
      {
        type: PERF_TYPE_SOFTWARE,
        config: PERF_COUNT_SW_BPF_OUTPUT,
        period: 1,
        sampleType: PERF_SAMPLE_RAW,
        wakeupEvents: Math.max(1, Math.floor(opts.wakeupEvents ?? 64)),
      },
      -1,
      cpu,
    );
    let mapping: Mapping | undefined;
    try {
      const op = `perf buffer '${this.map.name}' mmap`;
      mapping = Mapping.map(fd, page + this.ringSize, PROT_READ | PROT_WRITE, 0, op);
      const ring = new CpuRing(cpu, fd, mapping, page, decoderFor);
      if (libc().ioctl(fd, PERF_EVENT_IOC_ENABLE, 0n) < 0) {
        throw new BpfError({ op: "perf buffer enable", message: `cpu ${cpu}` });
      }
      this.map.set(u32Bytes(cpu), u32Bytes(fd));
      return ring;
    } catch (e) {
      mapping?.unmap();
      libc().close(fd);
      throw e;
    }
  }

  /**
   * Whether a call of `obj.perfbuf()` with `opts` can have this reader: it is open and
   * was made with the same options (onLost aside: a new one replaces the old).
   *
   * @param opts The options of the call.
   * @returns Whether it fits; when it does, opts.onLost (if any) is now this reader's.
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/events.bpf.o");
   * obj.load();
   * const pb = obj.perfbuf("output", { type: "data_t" });
   * pb.reuseFor({ type: "data_t" }); // true: obj.perfbuf("output", { type: "data_t" }) is pb
   * pb.reuseFor({ type: "bytes" }); // false: obj.perfbuf() would close it and make another
   * ```
   */
  reuseFor(opts: PerfBufferOptions): boolean {
    if (this.closed) return false;
    const shape = shapeOf(opts);
    if (shape.some((v, i) => v !== this.#shape[i])) return false;
    if (opts.onLost) this.#onLost = opts.onLost;
    return true;
  }

  /** Perf buffers keep their events between loops (see the class notes). */
  protected override releasesBetweenLoops(): boolean {
    return false;
  }

  /** The CPUs read, one ring each. */
  get cpus(): number[] {
    return [...this.#cpus];
  }

  /**
   * Counters: events delivered, their payload bytes, and samples lost in the kernel.
   *
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/events.bpf.o");
   * obj.load();
   * using pb = obj.perfbuf("output", { type: "data_t" });
   * // blast sends { count, first } data_t samples to the perf buffer, pid = first, first + 1, …
   * const blast = (count: bigint, first: bigint) =>
   *   obj.program("blast").testRun({ ctx: new Uint8Array(new BigUint64Array([count, first]).buffer) });
   * blast(5n, 1n);
   * pb.consume(() => {});
   * if (pb.stats.lost) console.warn(`${pb.stats.lost} samples lost`);
   * console.log(pb.stats); // { events: 5, bytes: 180, lost: 0 }
   * ```
   */
  get stats(): PerfStats {
    return { events: this.#events, bytes: this.#bytes, lost: this.#lost };
  }

  /** The longest one wait lasts: flushMs. */
  protected override maxWaitMs(): number {
    return this.#flushMs;
  }

  /** How full the ring is, 0 to 1 (the fullest CPU's ring for a perf buffer). */
  protected fullness(): number {
    let most = 0;
    for (const ring of this.#rings) most = Math.max(most, ring.fullness());
    return most;
  }

  /** Deliver up to `limit` decoded events that are there now. */
  protected drain(cb: (ev: PerfEvent<T>) => void, limit: number): number {
    return this.#each(cb, limit, false);
  }

  /** Deliver up to `limit` records as zero-copy views. */
  protected drainRaw(cb: RawCallback, limit: number): number {
    return this.#each(cb, limit, true);
  }

  /** Walk every CPU's ring (starting one further each time, for fairness). */
  #each(cb: ((ev: PerfEvent<T>) => void) | RawCallback, limit: number, raw: boolean): number {
    if (this.#draining) throw reentered(this.label);
    this.#draining = true;
    let n = 0;
    try {
      const rings = this.#rings;
      const k = rings.length;
      for (let j = 0; j < k && n < limit && !this.#releasing; j++) {
        const ring = rings[(this.#next + j) % k];
        if (ring.tail >= ring.head()) continue;
        n += raw
          ? this.#drainRaw(ring, limit - n, cb as RawCallback)
          : this.#drain(ring, limit - n, cb as (ev: PerfEvent<T>) => void);
      }
      this.#next = k ? (this.#next + 1) % k : 0;
      return n;
    } finally {
      this.#draining = false;
      if (this.#releasing) this.#teardown();
    }
  }

  /**
   * Read one CPU's ring: samples are decoded into `{ cpu, data }`. The same walk as
   * #drainRaw, written out so each has one call site per event.
   */
  #drain(ring: CpuRing, limit: number, cb: (ev: PerfEvent<T>) => void): number {
    const head = ring.head();
    const start = ring.tail;
    const u32 = ring.u32;
    const size = ring.size;
    const mask = size - 1;
    const cpu = ring.cpu;
    const { decode, min } = ring.dec;
    // Bytes walked from `start`, a small int (see RingBuffer's walk); `first` its offset.
    const first = start % size;
    const ready = head - start;
    let done = 0;
    let n = 0;
    let bytes = 0;
    try {
      while (done < ready && n < limit) {
        const off = (first + done) & mask;
        const type = u32[off >>> 2];
        const recSize = u32[(off >>> 2) + 1] >>> 16;
        if (recSize === 0) break; // never written by a sane kernel; do not spin
        done += recSize;
        if (off + recSize > size) {
          n += this.#wrapped(ring, off, recSize, cb, undefined);
          if (this.#releasing) return n;
        } else if (type === PERF_RECORD_SAMPLE) {
          const length = u32[(off + 8) >>> 2];
          n++;
          bytes += length;
          const data = length >= min ? decode(off + 12, length) : ring.dec.pad(off + 12, length);
          cb({ cpu, data: data as T });
          if (this.#releasing) return n;
        } else if (type === PERF_RECORD_LOST) {
          this.#lostRecord(ring, u32, (off >>> 2) + 4);
        }
      }
      return n;
    } finally {
      this.#finish(ring, start + done, n, bytes);
    }
  }

  /** Read one CPU's ring as zero-copy views: #drain's walk, written out (see there). */
  #drainRaw(ring: CpuRing, limit: number, cb: RawCallback): number {
    const head = ring.head();
    const start = ring.tail;
    const u32 = ring.u32;
    const u8 = ring.u8;
    const size = ring.size;
    const mask = size - 1;
    // Bytes walked from `start`, a small int (see RingBuffer's walk); `first` its offset.
    const first = start % size;
    const ready = head - start;
    let done = 0;
    let n = 0;
    let bytes = 0;
    try {
      while (done < ready && n < limit) {
        const off = (first + done) & mask;
        const type = u32[off >>> 2];
        const recSize = u32[(off >>> 2) + 1] >>> 16;
        if (recSize === 0) break;
        done += recSize;
        if (off + recSize > size) {
          n += this.#wrapped(ring, off, recSize, undefined, cb);
          if (this.#releasing) return n;
        } else if (type === PERF_RECORD_SAMPLE) {
          const length = u32[(off + 8) >>> 2];
          n++;
          bytes += length;
          cb(u8, off + 12, length);
          if (this.#releasing) return n;
        } else if (type === PERF_RECORD_LOST) {
          this.#lostRecord(ring, u32, (off >>> 2) + 4);
        }
      }
      return n;
    } finally {
      this.#finish(ring, start + done, n, bytes);
    }
  }

  /**
   * A record that crosses the end of the ring: copied out, then delivered from the copy.
   *
   * @returns 1 for a sample delivered, else 0.
   */
  #wrapped(
    ring: CpuRing,
    off: number,
    recSize: number,
    cb: ((ev: PerfEvent<T>) => void) | undefined,
    rawCb: RawCallback | undefined,
  ): number {
    ring.unwrap(off, recSize);
    const sc = ring.scratch;
    const type = sc[0] | sc[1] << 8 | sc[2] << 16 | sc[3] << 24;
    if (type === PERF_RECORD_LOST) {
      this.#lostRecord(ring, new Uint32Array(sc.buffer, 0, 6), 4);
      return 0;
    }
    if (type !== PERF_RECORD_SAMPLE) return 0;
    const length = sc[8] | sc[9] << 8 | sc[10] << 16 | sc[11] << 24;
    this.#bytes += length;
    if (rawCb) {
      rawCb(sc, 12, length);
    } else {
      const d = ring.decScratch;
      const data = length >= d.min ? d.decode(12, length) : d.pad(12, length);
      cb!({ cpu: ring.cpu, data: data as T });
    }
    return 1;
  }

  /** A PERF_RECORD_LOST: count the samples it says were dropped. */
  #lostRecord(ring: CpuRing, u32: Uint32Array, at: number): void {
    const lost = u32[at] + u32[at + 1] * TWO_32;
    this.#lost += lost;
    this.#onLost?.(lost, ring.cpu);
  }

  /** End a batch on one ring: publish data_tail once, even when a callback threw. */
  #finish(ring: CpuRing, tail: number, n: number, bytes: number): void {
    ring.tail = tail;
    Atomics.store(ring.tail64, DATA_TAIL_U64, BigInt(tail));
    this.#events += n;
    this.#bytes += bytes;
  }

  /** Unmap and close what acquire() made (after the walk in progress, if any). */
  protected release(): void {
    // A callback that closes the buffer is still inside the walk: tear down when it returns.
    if (this.#draining) this.#releasing = true;
    else this.#teardown();
  }

  /** Unplug, unmap and close every CPU's event (safe to call twice). */
  #teardown(): void {
    this.#releasing = false;
    const c = libc();
    for (const ring of this.#rings.splice(0)) {
      try {
        this.map.delete(u32Bytes(ring.cpu));
      } catch {
        // The map (or its object) may be closed already: its entries went with it.
      }
      ring.drop();
      c.close(ring.fd);
    }
  }
}
