/**
 * The consumers the stream benchmarks call for each event, made once like C's callbacks
 * (a new closure per run would make the first calls of each run deoptimise the reader's
 * loop, "wrong call target"). Each reads every field of the record, as the anchors'
 * consumers do (C: bench/ringbuf_bench.c, Go: bench/ringbuf_bench.go).
 *
 * @module
 */

/** A decoded `struct event16`. */
export interface Event16 {
  pid: number;
  x: number;
  ts: bigint | number;
}

/** A decoded `struct exec_event`. */
export interface ExecEvent {
  pid: number;
  ppid: number;
  uid: number;
  ts: bigint | number;
  comm: string;
  filename: string;
}

/**
 * Where the readers put what they read, so the JIT cannot drop the reads; C adds to a
 * volatile integer. The sum is kept a 32-bit integer (`| 0`): a sum growing past 2^31
 * would be a double, and an int/double conversion per event in a chain through memory
 * costs more than decoding a 16-byte record. The u64 is kept whole (`ts`): it must be
 * made, bigint or number, as C's `sum += e->ts` reads it.
 */
export const box: { sum: number; ts: unknown; last: unknown } = { sum: 0, ts: 0n, last: undefined };

/** The consumer of each kind of record. */
export const CONSUMERS = {
  "16": (e: Event16) => {
    box.sum = (box.sum + e.pid + e.x) | 0;
    box.ts = e.ts;
  },
  exec: (e: ExecEvent) => {
    box.sum = (box.sum + e.pid + e.ppid + e.uid + e.comm.length + e.filename.length) | 0;
    box.ts = e.ts;
  },
};
/** The same, keeping each event (a consumer that stores events pays for all of them). */
export const KEEPERS = {
  "16": (e: Event16) => {
    CONSUMERS["16"](e);
    box.last = e;
  },
  exec: (e: ExecEvent) => {
    CONSUMERS.exec(e);
    box.last = e;
  },
};
/** Uint8Array copies: the fields read with a DataView made per event. */
export const BYTES = {
  "16": (b: Uint8Array) => {
    const v = new DataView(b.buffer, b.byteOffset, b.length);
    box.sum = (box.sum + v.getUint32(0, true) + v.getUint32(4, true)) | 0;
    box.ts = v.getBigUint64(8, true);
  },
  exec: (b: Uint8Array) => {
    const v = new DataView(b.buffer, b.byteOffset, b.length);
    box.sum = (box.sum + v.getUint32(0, true) + v.getUint32(4, true) + v.getUint32(8, true) +
      cstrlen(b, 24, 16) + cstrlen(b, 40, 256)) | 0;
    box.ts = v.getBigUint64(16, true);
  },
};
/** The length of the NUL-terminated string of at most n bytes at o. */
function cstrlen(b: Uint8Array, o: number, n: number): number {
  let i = 0;
  while (i < n && b[o + i] !== 0) i++;
  return i;
}
/** Zero-copy views: one DataView over the mapping, the fields read in place. */
let rawView: DataView = new DataView(new ArrayBuffer(0));
export const RAW = {
  "16": (b: Uint8Array, o: number) => {
    if (rawView.buffer !== b.buffer) rawView = new DataView(b.buffer);
    const at = b.byteOffset + o;
    box.sum = (box.sum + rawView.getUint32(at, true) + rawView.getUint32(at + 4, true)) | 0;
    box.ts = rawView.getBigUint64(at + 8, true);
  },
  exec: (b: Uint8Array, o: number) => {
    if (rawView.buffer !== b.buffer) rawView = new DataView(b.buffer);
    const v = rawView;
    const at = b.byteOffset + o;
    box.sum = (box.sum + v.getUint32(at, true) + v.getUint32(at + 4, true) +
      v.getUint32(at + 8, true) + cstrlen(b, o + 24, 16) + cstrlen(b, o + 40, 256)) | 0;
    box.ts = v.getBigUint64(at + 16, true);
  },
};

/** A kind of record: `"16"` (struct event16) or `"exec"` (struct exec_event). */
export type Kind = keyof typeof CONSUMERS;
