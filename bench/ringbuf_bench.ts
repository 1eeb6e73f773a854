/**
 * Ring buffer benchmark: a raw_tp producer (bench/ringbuf_bench.bpf.c, run with
 * BPF_PROG_TEST_RUN) writes fixed-size records with bpf_loop into a 16 MiB ring; C's
 * libbpf reader (bench/ringbuf_bench.c) and bpfsh's RingBuffer read them, each in its own
 * process, in the same run. Prints events/s (median of the runs), the ratio to C and the
 * peak RSS, for 16- and 128-byte records:
 *
 * - drained: the ring is filled (no wake-ups), then read until empty (8 fills per run);
 * - live: a producer (a thread of the C reader; a process of its own for bpfsh's, so it
 *   weighs nothing on bpfsh's RSS) writes N records with default wake-ups while the
 *   reader waits and reads; timed to the last record read (drops are reported). The
 *   producer writes faster than any reader reads, so every reader drops some;
 * - paced: the same producer held to a rate every reader can keep up with (a chunk each
 *   millisecond, several ring lengths in all): the records dropped must be 0.
 *
 * The first run of each case is a warm-up (not timed); drained cases run pinned to one
 * CPU (see bench/stream_common.ts).
 *
 * bpfsh readers: `consume` (decoded through the generic BTF codec), `consumeRaw`
 * (zero-copy views), `batches()`, `for await`, and `consume` of Uint8Array copies.
 *
 * Run: `deno run -A bench/ringbuf_bench.ts [--runs 3]` (root; about a minute).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { BpfObject, type RingBuffer } from "../mod.ts";
import {
  addCase,
  ensureBuilt,
  peakRssKb,
  printTable,
  type Row,
  type Run,
  runC,
  runChild,
  runProducer,
} from "./stream_common.ts";

/** Records per fill: ~95% of the 16 MiB ring (a record takes its size + 8 header bytes). */
const FILL: Record<number, number> = { 16: 660_000, 128: 116_000 };
/** Records per live run. */
const LIVE: Record<number, number> = { 16: 4_000_000, 128: 2_000_000 };
/**
 * Paced runs: records/s and records per run, one second each: 96 MB of 16-byte records
 * or 136 MB of 128-byte ones (with headers) through the 16 MiB ring.
 */
const PACED: Record<number, { rate: number; count: number }> = {
  16: { rate: 4_000_000, count: 4_000_000 },
  128: { rate: 1_000_000, count: 1_000_000 },
};
const BPF_RB_NO_WAKEUP = 1;

const { values } = parseArgs({
  args: Deno.args,
  options: {
    child: { type: "boolean" },
    size: { type: "string" },
    mode: { type: "string" },
    reader: { type: "string" },
    count: { type: "string" },
    runs: { type: "string", default: "3" },
    object: { type: "string" },
    binary: { type: "string" },
    rate: { type: "string", default: "0" },
  },
});

function u64(n: number): Uint8Array {
  return new Uint8Array(new BigUint64Array([BigInt(n)]).buffer);
}

/**
 * Where the readers add what they read, so the JIT cannot drop the reads; C adds to a
 * volatile integer. Kept a 32-bit integer (`| 0`): a sum growing past 2^31 would be a
 * double, and its int/double conversions, one per event in a chain through memory, cost
 * ~2 ns per event (16-byte drain: 130 → 180 M/s), more than a 16-byte record's decoding.
 */
const box: { sum: number; last: unknown } = { sum: 0, last: undefined };
/**
 * The callbacks, made once like C's: a new closure per run would make the first calls of
 * each run deoptimise the reader's loop ("wrong call target").
 */
const add = (e: { x: number }) => {
  box.sum = (box.sum + e.x) | 0;
};
/**
 * Reading one field lets V8 skip making the event at all when it inlines the callback
 * (escape analysis), like C reading one field; a consumer that keeps events pays for
 * them: this one stores each (the "kept" row).
 */
const keep = (e: { x: number }) => {
  box.sum = (box.sum + e.x) | 0;
  box.last = e;
};
const addByte = (e: unknown) => {
  box.sum = (box.sum + (e as Uint8Array)[4]) | 0;
};
const addRaw = (b: Uint8Array, o: number) => {
  box.sum = (box.sum + b[o + 4]) | 0;
};

type Ring = RingBuffer<{ x: number }>;

/**
 * Each drained reader: read `count` events of a filled ring. Small functions of their own
 * (not branches of one big async function), so each loop is compiled on its own and its
 * counters live in registers, not in a closure context.
 */
const DRAINERS: Record<string, (rb: Ring, count: number) => number | Promise<number>> = {
  consume: (rb) => rb.consume(add),
  kept: (rb) => rb.consume(keep),
  bytes: (rb) => rb.consume(addByte),
  raw: (rb) => rb.consumeRaw(addRaw),
  batches: async (rb, count) => {
    let events = 0;
    for await (const batch of rb.batches()) {
      for (const e of batch) box.sum = (box.sum + e.x) | 0;
      events += batch.length;
      if (events >= count) break;
    }
    return events;
  },
  forawait: async (rb, count) => {
    let events = 0;
    for await (const e of rb) {
      box.sum = (box.sum + e.x) | 0;
      if (++events >= count) break;
    }
    return events;
  },
};

/**
 * What a live reader knows of the producer (how many it sent, once it is done) and when
 * it last read: a run is timed to its last record read, not to when the loop notices
 * that the producer is done (up to a poll timeout later), as in the C baseline.
 */
interface LiveState {
  sent: number;
  read: number;
  last: number;
  stop: AbortController;
}

/** Each live reader: read until every record sent is read. */
const LIVE_READERS: Record<string, (rb: Ring, st: LiveState) => Promise<void>> = {
  poll: async (rb, st) => {
    while (st.read < st.sent) {
      const n = await rb.poll(100, add);
      if (n > 0) {
        st.read += n;
        st.last = performance.now();
      }
    }
  },
  forawait: async (rb, st) => {
    for await (const e of rb.events({ signal: st.stop.signal })) {
      box.sum = (box.sum + e.x) | 0;
      // The clock every 64 events (it costs more than reading one): when the loop ends by
      // an abort, the last read is at most 63 events after the last tick.
      if ((++st.read & 63) === 0) st.last = performance.now();
      if (st.read >= st.sent) {
        st.last = performance.now();
        break;
      }
    }
  },
};

/** The reader side, in a child process: prints one JSON line per run. */
async function child(): Promise<void> {
  const size = Number(values.size);
  const mode = values.mode!;
  const reader = values.reader!;
  const count = Number(values.count);
  const runs = Number(values.runs);
  using obj = await BpfObject.open(values.object!);
  obj.load();
  const rb: Ring = obj.ringbuf("rb", reader === "bytes" ? {} : { type: `event${size}` });
  const counts = obj.map("counts");
  const counter = (k: number) =>
    Number(
      new BigUint64Array(
        counts.getBytes(new Uint8Array(new Uint32Array([k]).buffer))!.slice().buffer,
      )[0],
    );
  const prog = obj.program(`produce${size}`);
  for (let r = 0; r < runs; r++) {
    for (const k of [0, 1]) counts.set(new Uint8Array(new Uint32Array([k]).buffer), u64(0));
    let events = 0;
    let seconds = 0;
    if (mode === "drain") {
      const ctx = new Uint8Array(
        new BigUint64Array([BigInt(count), BigInt(BPF_RB_NO_WAKEUP)]).buffer,
      );
      const drain = DRAINERS[reader];
      for (let i = 0; i < 8; i++) {
        prog.testRun({ ctx, repeat: 0 });
        const t0 = performance.now();
        events += await drain(rb, count);
        seconds += (performance.now() - t0) / 1000;
      }
    } else {
      const t0 = performance.now();
      const st: LiveState = { sent: Infinity, read: 0, last: t0, stop: new AbortController() };
      const rate = Number(values.rate);
      const produced = runProducer(values.binary!, prog.fd, [count, 0, rate]).then(() => {
        st.sent = counter(0);
        if (st.read >= st.sent) st.stop.abort();
      });
      await LIVE_READERS[reader](rb, st);
      await produced;
      events = st.read;
      seconds = (st.last - t0) / 1000;
    }
    const run: Run = {
      reader,
      mode,
      size,
      events,
      seconds,
      dropped: counter(1),
      maxrss_kb: peakRssKb(),
    };
    console.log(JSON.stringify(run));
  }
  rb.close();
}

/** The parent: every case, C then bpfsh, and the table. */
function main(): void {
  const runs = Number(values.runs);
  const { object, binary } = ensureBuilt("ringbuf_bench");
  const script = new URL(import.meta.url).pathname;
  const columns = [
    "16 B drained",
    "16 B live",
    "16 B paced",
    "128 B drained",
    "128 B live",
    "128 B paced",
  ];
  const readers: [string, string, string[]][] = [
    ["C libbpf ring_buffer callback", "c", ["drain", "live", "paced"]],
    ["bpfsh consume() (BTF-decoded)", "consume", ["drain"]],
    ["bpfsh consume(), each event kept (BTF-decoded)", "kept", ["drain"]],
    ["bpfsh poll() loop (BTF-decoded)", "poll", ["live", "paced"]],
    ["bpfsh for await (BTF-decoded)", "forawait", ["drain", "live", "paced"]],
    ["bpfsh batches() (BTF-decoded)", "batches", ["drain"]],
    ["bpfsh consume() (Uint8Array copies)", "bytes", ["drain"]],
    ["bpfsh consumeRaw() (zero-copy views)", "raw", ["drain"]],
  ];
  const rows: Row[] = [];
  for (const [label, reader, modes] of readers) {
    const row: Row = { reader: label, rates: {}, losses: {}, rssMb: 0, warmupLosses: 0 };
    for (const size of [16, 128]) {
      for (const mode of modes) {
        const count = mode === "drain"
          ? FILL[size]
          : mode === "live"
          ? LIVE[size]
          : PACED[size].count;
        const rate = mode === "paced" ? PACED[size].rate : 0;
        // One more run than timed: the first is the warm-up (see summarise()).
        const pin = mode === "drain";
        const res = reader === "c"
          ? runC(binary, [object, size, mode, count, runs + 1, rate], pin)
          : runChild(script, [
            "--object",
            object,
            "--binary",
            binary,
            "--size",
            size,
            "--mode",
            mode,
            "--reader",
            reader,
            "--count",
            count,
            "--runs",
            runs + 1,
            "--rate",
            rate,
          ], pin);
        addCase(row, `${size} B ${mode === "drain" ? "drained" : mode}`, res);
      }
    }
    rows.push(row);
  }
  printTable(
    `Ring buffer, 16 MiB, events/s (median of ${runs} runs after a warm-up run; ratio to C; ` +
      `drained = 8 fills/run; paced: records dropped at ${PACED[16].rate / 1e6} M/s (16 B) and ` +
      `${PACED[128].rate / 1e6} M/s (128 B))`,
    columns,
    rows,
    ["16 B paced", "128 B paced"],
  );
}

if (values.child) await child();
else main();
