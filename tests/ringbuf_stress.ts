/**
 * The ring buffer stress run shared by tests/ringbuf_stress_test.ts (bounded, in the
 * suite) and tools/ringbuf_stress.ts (long): a producer on one CPU (a Worker pinned there,
 * tests/fixtures/ringbuf_producer.ts) writes checksummed records of 16 to 140 bytes at a
 * paced rate into an 8 MiB ring (tests/fixtures/ringbuf_stress.bpf.c), while this thread,
 * pinned to another CPU, reads them with `poll()` (Uint8Array copies) and `consumeRaw()`
 * (views of the mapping) in turn and checks every record: its sequence number, its length
 * against the header's, its check word and every word of its payload. A record read before the kernel's
 * commit was visible, or past what it published, shows as corrupt or out of sequence.
 *
 * @module
 */

import { BpfObject } from "../bpf/object/object.ts";
import { fixture } from "./helpers.ts";

/** What a stress run found. */
export interface StressResult {
  /** Records read and checked. */
  read: number;
  /** Records whose bytes were wrong (a word, the checksum, or the length). */
  corrupt: number;
  /** Sequence numbers missing from what was read (never read, or out of order). */
  missing: number;
  /** Records the producer could not write (the ring was full). */
  dropped: number;
  /** Records the producer reserved and discarded (the reader must skip them). */
  discarded: number;
  /** Reads that found the ring full. */
  full: number;
  /** Seconds the run took. */
  seconds: number;
  /** The first few problems, described. */
  problems: string[];
}

/** How to run. */
export interface StressOptions {
  /** Records to write. */
  records: number;
  /** Records per second. */
  rate: number;
  /** The CPU of the reader (this thread) and of the producer. */
  readerCpu?: number;
  producerCpu?: number;
}

const libc = Deno.dlopen("libc.so.6", {
  sched_setaffinity: { parameters: ["i32", "usize", "buffer"], result: "i32" },
  sched_getaffinity: { parameters: ["i32", "usize", "buffer"], result: "i32" },
});

const WORD_A = 0x9e3779b1;
const WORD_B = 0x85ebca6b;

function fold(c: number, w: number): number {
  return Math.imul(c ^ w, 0x01000193) >>> 0;
}

/**
 * Check one record: its words at `at` (a u32 index) of `w`, `len` bytes long.
 *
 * @param w The words of the buffer the record is in.
 * @param at Where it starts, in words.
 * @param len Its length in bytes, from its header.
 * @param st The counts, updated.
 * @example
 * ```ts
 * checkRecord(words, offset >> 2, length, checker);
 * ```
 */
export function checkRecord(w: Uint32Array, at: number, len: number, st: Checker): void {
  const lo = w[at];
  const hi = w[at + 1];
  const seq = hi * 4294967296 + lo;
  let bad = w[at + 2] !== len || len < 16 || len > 144 || (len & 3) !== 0;
  if (!bad) {
    if (fold(fold(Math.imul(len, 0x27d4eb2d) >>> 0, lo), hi) !== w[at + 3]) bad = true;
    for (let j = 0; j < (len - 16) >> 2; j++) {
      if (w[at + 4 + j] !== ((Math.imul(lo, WORD_A) + Math.imul(j, WORD_B)) >>> 0)) bad = true;
    }
  }
  if (bad) {
    st.corrupt++;
    if (st.problems.length < 5) st.problems.push(`corrupt record (seq ${seq}, ${len} bytes)`);
    return;
  }
  if (seq !== st.next) {
    const gap = seq > st.next ? seq - st.next : 1;
    st.gaps += gap;
    if (st.problems.length < 5) st.problems.push(`seq ${seq} after ${st.next - 1}`);
  }
  st.next = seq + 1;
  st.read++;
}

/** What the checks counted so far. */
export interface Checker {
  next: number;
  read: number;
  corrupt: number;
  gaps: number;
  problems: string[];
}

function affinity(): Uint8Array {
  const set = new Uint8Array(128);
  libc.symbols.sched_getaffinity(0, BigInt(set.length), set);
  return set;
}

function setAffinity(set: Uint8Array): void {
  libc.symbols.sched_setaffinity(0, BigInt(set.length), set);
}

/**
 * Run the stress: returns what the reader found.
 *
 * @param opts Records, rate and CPUs.
 * @returns The counts.
 * @example
 * ```ts
 * const r = await runStress({ records: 2_000_000, rate: 1_000_000 });
 * console.log(r.corrupt, r.missing);
 * ```
 */
export async function runStress(opts: StressOptions): Promise<StressResult> {
  const readerCpu = opts.readerCpu ?? 0;
  const producerCpu = opts.producerCpu ?? 1;
  await using obj = await BpfObject.open(fixture("ringbuf_stress"));
  obj.load();
  const rb = obj.ringbuf("stress"); // no type: Uint8Array copies (records vary in length)
  const st: Checker = { next: 0, read: 0, corrupt: 0, gaps: 0, problems: [] };
  // The copies of poll(): 4-aligned chunks, one Uint32Array view per chunk.
  let copyBuf: ArrayBufferLike | undefined;
  let copyWords: Uint32Array = new Uint32Array(0);
  const onCopy = (b: Uint8Array) => {
    if (b.buffer !== copyBuf) {
      copyBuf = b.buffer;
      copyWords = new Uint32Array(b.buffer, 0, b.buffer.byteLength >> 2);
    }
    checkRecord(copyWords, b.byteOffset >> 2, b.length, st);
  };
  let rawBuf: ArrayBufferLike | undefined;
  let rawWords: Uint32Array = new Uint32Array(0);
  const onView = (b: Uint8Array, o: number, len: number) => {
    if (b.buffer !== rawBuf) {
      rawBuf = b.buffer;
      rawWords = new Uint32Array(b.buffer, 0, b.buffer.byteLength >> 2);
    }
    checkRecord(rawWords, (b.byteOffset + o) >> 2, len, st);
  };
  const saved = affinity();
  const mine = new Uint8Array(128);
  mine[readerCpu >> 3] |= 1 << (readerCpu & 7);
  setAffinity(mine);
  const worker = new Worker(new URL("./fixtures/ringbuf_producer.ts", import.meta.url), {
    type: "module",
  });
  const t0 = performance.now();
  try {
    const done = new Promise<void>((resolve, reject) => {
      worker.onmessage = (e) => e.data.error ? reject(new Error(e.data.error)) : resolve();
      worker.onerror = (e) => reject(new Error(e.message));
    });
    let finished = false;
    done.then(() => finished = true, () => finished = true);
    worker.postMessage({
      progFd: obj.program("stress_produce").fd,
      records: opts.records,
      rate: opts.rate,
      cpu: producerCpu,
    });
    for (let turn = 0; !finished; turn++) {
      if (turn & 1) {
        rb.consumeRaw(onView);
        await new Promise((r) => setTimeout(r, 1));
      } else {
        await rb.poll(50, onCopy);
      }
    }
    await done;
    rb.consume(onCopy);
  } finally {
    worker.terminate();
    setAffinity(saved);
  }
  const seconds = (performance.now() - t0) / 1000;
  const s = obj.map("state").getBytes(new Uint8Array(4))!;
  const v = new BigUint64Array(s.slice().buffer);
  const produced = Number(v[0]);
  const dropped = Number(v[2]);
  const missing = st.gaps + Math.max(0, produced - st.next) - dropped;
  return {
    read: st.read,
    corrupt: st.corrupt,
    missing: Math.max(0, missing),
    dropped,
    discarded: Number(v[3]),
    full: rb.stats.full,
    seconds,
    problems: st.problems,
  };
}
