/**
 * Perf buffer benchmark: a raw_tp producer (bench/perfbuf_bench.bpf.c, run with
 * BPF_PROG_TEST_RUN) writes fixed-size samples with bpf_loop into the perf ring of the CPU
 * it runs on; C's libbpf perf_buffer (bench/perfbuf_bench.c) and bpfsh's PerfBuffer read
 * them, each in its own process, in the same run. Every reader decodes every field of each
 * sample (bench/stream_consumers.ts): the 16-byte `struct event16` (pid, x, u64 ts) and
 * the exec event (pid, ppid, uid, u64 ts, comm[16], filename[256]). Prints events/s
 * (median of the runs), the ratio to C, peak RSS and losses:
 *
 * - drained: a 16 MiB per-CPU ring is filled, then read until empty (8 fills per run);
 *   the C reader is a raw libbpf perf buffer waking every 64 samples like bpfsh's, as
 *   libbpf's default wake-up per sample makes the untimed fill many times slower
 *   (bench/NOTES.md);
 * - live: a producer (a thread of the C reader; a process of its own for bpfsh's, so it
 *   weighs nothing on bpfsh's RSS) writes N samples while the reader waits and reads
 *   (16 MiB rings), timed to the last sample read; libbpf asks the kernel for a wake-up
 *   per sample, bpfsh for one per 64.
 *
 * The first run of each case is a warm-up (not timed); drained cases run pinned to one
 * CPU (see bench/stream_common.ts).
 *
 * Run: `deno run -A bench/perfbuf_bench.ts [--runs 3]` (root; about a minute).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { BpfObject, PerfBuffer, type PerfEvent } from "../mod.ts";
import {
  addCase,
  CHILD_OPTIONS,
  childRuns,
  ensureBuilt,
  flags,
  forAwaitDrain,
  LIVE_READERS,
  printTable,
  type Row,
  runC,
  runChild,
  runProducer,
} from "./stream_common.ts";
import { BYTES, CONSUMERS, type Kind, RAW } from "./stream_consumers.ts";

/** Samples per fill: ~95% of a 16 MiB ring (a 16-byte sample takes 32 bytes, exec 312). */
const FILL: Record<Kind, number> = { "16": 500_000, exec: 50_000 };
/** Samples per live run. */
const LIVE: Record<Kind, number> = { "16": 100_000, exec: 100_000 };
/** The BTF type and producer of each kind. */
const KINDS: Record<Kind, { type: string; program: string }> = {
  "16": { type: "event16", program: "produce16" },
  exec: { type: "exec_event", program: "produce_exec" },
};
const DRAIN_PAGES = 4096;
/**
 * 16 MiB rings live too: where the kernel delivers perf wake-ups (irq_work) only at timer
 * ticks or when the producer's BPF_PROG_TEST_RUN returns (as on the VM of bench/NOTES.md),
 * a small ring overflows between two wake-ups of any reader that does not throttle the
 * producer.
 */
const LIVE_PAGES = 4096;

const { values } = parseArgs({
  args: Deno.args,
  options: CHILD_OPTIONS,
});

// deno-lint-ignore no-explicit-any
type Perf = PerfBuffer<any>;
// deno-lint-ignore no-explicit-any
type Sample = PerfEvent<any>;

/** The shared consumers, on the sample of each `{ cpu, data }` (one made per kind). */
const ON_DATA = {
  "16": (e: Sample) => CONSUMERS["16"](e.data),
  exec: (e: Sample) => CONSUMERS.exec(e.data),
};
const ON_BYTES = {
  "16": (e: Sample) => BYTES["16"](e.data),
  exec: (e: Sample) => BYTES.exec(e.data),
};

/** Each drained reader, a function of its own (see bench/ringbuf_bench.ts). */
const DRAINERS: Record<string, (pb: Perf, kind: Kind, count: number) => number | Promise<number>> =
  {
    consume: (pb, kind) => pb.consume(ON_DATA[kind]),
    number: (pb, kind) => pb.consume(ON_DATA[kind]),
    bytes: (pb, kind) => pb.consume(ON_BYTES[kind]),
    raw: (pb, kind) => pb.consumeRaw(RAW[kind]),
    forawait: (pb, kind, count) => forAwaitDrain(pb, ON_DATA[kind], count),
  };

/** The reader side, in a child process: prints one JSON line per run. */
async function child(): Promise<void> {
  const kind = values.kind as Kind;
  const mode = values.mode!;
  const reader = values.reader!;
  const count = Number(values.count);
  using obj = await BpfObject.open(values.object!);
  obj.load();
  using pb: Perf = new PerfBuffer(obj.map("pb"), {
    type: reader === "bytes" ? "bytes" : KINDS[kind].type,
    u64: reader === "number" ? "number" : "bigint",
    pageCount: mode === "drain" ? DRAIN_PAGES : LIVE_PAGES,
  });
  const prog = obj.program(KINDS[kind].program);
  await childRuns({
    reader,
    mode,
    kind,
    runs: Number(values.runs),
    counts: obj.map("counts"),
    prog,
    fillCtx: new Uint8Array(new BigUint64Array([BigInt(count), 0n]).buffer),
    drain: () => DRAINERS[reader](pb, kind, count),
    produce: () => runProducer(values.binary!, prog.fd, [count]),
    live: (st) => LIVE_READERS[reader](pb, ON_DATA[kind], st),
    lost: () => pb.stats.lost,
  });
}

/** The parent: every case, C then bpfsh, and the table. */
function main(): void {
  const runs = Number(values.runs);
  const { object, binary } = ensureBuilt("perfbuf_bench");
  const script = new URL(import.meta.url).pathname;
  const label = { "16": "16 B", exec: "exec" } as const;
  const columns = ["16 B drained", "16 B live", "exec drained", "exec live"];
  const readers: [string, string, string[]][] = [
    ["C libbpf perf_buffer callback (raw when drained)", "c", ["drain", "live"]],
    ["bpfsh consume() (BTF-decoded, u64 as bigint)", "consume", ["drain"]],
    ['bpfsh consume() (BTF-decoded, u64: "number")', "number", ["drain"]],
    ["bpfsh poll() loop", "poll", ["live"]],
    ["bpfsh for await", "forawait", ["drain", "live"]],
    ["bpfsh consume() (Uint8Array copies, DataView)", "bytes", ["drain"]],
    ["bpfsh consumeRaw() (zero-copy views, DataView)", "raw", ["drain"]],
  ];
  const rows: Row[] = [];
  for (const [name, reader, modes] of readers) {
    const row: Row = { reader: name, rates: {}, losses: {}, rssMb: 0, warmupLosses: 0 };
    for (const kind of ["16", "exec"] as const) {
      for (const mode of modes) {
        const count = mode === "drain" ? FILL[kind] : LIVE[kind];
        const pages = mode === "drain" ? DRAIN_PAGES : LIVE_PAGES;
        // One more run than timed: the first is the warm-up (see summarise()).
        const pin = mode === "drain";
        const res = reader === "c"
          ? runC(binary, [object, kind, mode, count, runs + 1, pages], pin)
          : runChild(
            script,
            flags({ object, binary, kind, mode, reader, count, runs: runs + 1 }),
            pin,
          );
        addCase(row, `${label[kind]} ${mode === "drain" ? "drained" : "live"}`, res);
      }
    }
    rows.push(row);
  }
  printTable(
    `Perf buffer, events/s (median of ${runs} runs after a warm-up run; ratio to C; ` +
      `drained = 8 fills/run)`,
    columns,
    rows,
  );
}

if (values.child) await child();
else main();
