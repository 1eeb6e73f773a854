/**
 * Ring buffer benchmark: a raw_tp producer (bench/ringbuf_bench.bpf.c, run with
 * BPF_PROG_TEST_RUN) writes fixed-size records with bpf_loop into a 16 MiB ring; C's
 * libbpf reader (bench/ringbuf_bench.c), Go's cilium/ebpf reader (bench/ringbuf_bench.go,
 * when Debian's golang-go and golang-github-cilium-ebpf-dev are installed) and bpfsh's
 * RingBuffer read them, each in its own process, in the same run. Every reader decodes
 * every field of each record, as the anchors' consumers do: the 16-byte `struct event16`
 * (pid, x and a u64 ts) and a realistic `struct exec_event` (pid, ppid, uid, u64 ts,
 * comm[16], filename[256]; 16 programs in rotation). Prints events/s (median of the runs),
 * the ratio to C and the peak RSS:
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
 * bpfsh readers: `consume` (decoded through the generic BTF codec, u64 as bigint, and
 * with the `u64: "number"` option), `consumeRaw` (zero-copy views read with a DataView),
 * `batches()`, `for await`, a `poll()` loop, and `consume` of Uint8Array copies.
 *
 * Run: `deno run -A bench/ringbuf_bench.ts [--runs 3] [--rounds 1] [--kinds 16,exec]
 * [--modes drain,live,paced]` (root; a few minutes). Each case runs its readers one after
 * the other; `--rounds N` repeats the sweep and takes the median over all rounds.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { BpfObject, type RingBuffer } from "../mod.ts";
import {
  addRounds,
  CHILD_OPTIONS,
  childRuns,
  ensureBuilt,
  flags,
  forAwaitDrain,
  GO_MISSING,
  LIVE_READERS,
  printTable,
  type Row,
  type Run,
  runC,
  runChild,
  runProducer,
} from "./stream_common.ts";
import { BYTES, CONSUMERS, KEEPERS, type Kind, RAW } from "./stream_consumers.ts";

/** What each kind of record is: its BTF type, its producer, and the counts of each mode. */
const KINDS: Record<string, {
  type: string;
  program: string;
  /** Records per fill: ~95% of the 16 MiB ring (a record takes its size + 8 header bytes). */
  fill: number;
  /** Records per live run. */
  live: number;
  /** Paced runs: records/s and records per run (one second, several ring lengths). */
  paced: { rate: number; count: number };
}> = {
  "16": {
    type: "event16",
    program: "produce16",
    fill: 660_000,
    live: 4_000_000,
    paced: { rate: 4_000_000, count: 4_000_000 },
  },
  exec: {
    type: "exec_event",
    program: "produce_exec",
    fill: 52_000,
    live: 1_000_000,
    paced: { rate: 1_000_000, count: 1_000_000 },
  },
};
const BPF_RB_NO_WAKEUP = 1;

const { values } = parseArgs({
  args: Deno.args,
  options: {
    ...CHILD_OPTIONS,
    rate: { type: "string", default: "0" },
    rounds: { type: "string", default: "1" },
    kinds: { type: "string" },
    modes: { type: "string" },
  },
});

// deno-lint-ignore no-explicit-any
type Ring = RingBuffer<any>;

/**
 * Each drained reader: read `count` events of a filled ring. Small functions of their own
 * (not branches of one big async function), so each loop is compiled on its own and its
 * counters live in registers, not in a closure context.
 */
const DRAINERS: Record<string, (rb: Ring, kind: Kind, count: number) => number | Promise<number>> =
  {
    consume: (rb, kind) => rb.consume(CONSUMERS[kind]),
    number: (rb, kind) => rb.consume(CONSUMERS[kind]),
    kept: (rb, kind) => rb.consume(KEEPERS[kind]),
    bytes: (rb, kind) => rb.consume(BYTES[kind]),
    raw: (rb, kind) => rb.consumeRaw(RAW[kind]),
    batches: async (rb, kind, count) => {
      const use = CONSUMERS[kind];
      let events = 0;
      for await (const batch of rb.batches()) {
        for (const e of batch) use(e);
        events += batch.length;
        if (events >= count) break;
      }
      return events;
    },
    forawait: (rb, kind, count) => forAwaitDrain(rb, CONSUMERS[kind], count),
  };

/** The reader side, in a child process: prints one JSON line per run. */
async function child(): Promise<void> {
  const kind = values.kind as Kind;
  const spec = KINDS[kind];
  const reader = values.reader!;
  const count = Number(values.count);
  using obj = await BpfObject.open(values.object!);
  obj.load();
  const rb: Ring = obj.ringbuf(
    "rb",
    {
      type: reader === "bytes" ? "bytes" : spec.type,
      u64: reader === "number" ? "number" : "bigint",
    },
  );
  const prog = obj.program(spec.program);
  await childRuns({
    reader,
    mode: values.mode!,
    kind,
    runs: Number(values.runs),
    counts: obj.map("counts"),
    prog,
    fillCtx: new Uint8Array(new BigUint64Array([BigInt(count), BigInt(BPF_RB_NO_WAKEUP)]).buffer),
    drain: () => DRAINERS[reader](rb, kind, count),
    produce: () => runProducer(values.binary!, prog.fd, [count, 0, Number(values.rate)]),
    live: (st) => LIVE_READERS[reader](rb, CONSUMERS[kind], st),
  });
  rb.close();
}

/** The parent: every case, C then Go then bpfsh, and the table. */
function main(): void {
  const runs = Number(values.runs);
  const { object, binary, goBinary } = ensureBuilt("ringbuf_bench");
  const script = new URL(import.meta.url).pathname;
  const label = { "16": "16 B", exec: "exec" } as const;
  const modeName = { drain: "drained", live: "live", paced: "paced" } as const;
  const columns: string[] = [];
  for (const kind of ["16", "exec"] as const) {
    for (const mode of ["drain", "live", "paced"] as const) {
      columns.push(`${label[kind]} ${modeName[mode]}`);
    }
  }
  const readers: [string, string, string[]][] = [
    ["C libbpf ring_buffer callback", "c", ["drain", "live", "paced"]],
    ["Go cilium/ebpf ringbuf.Reader (ReadInto)", "go", ["drain", "live", "paced"]],
    ["bpfsh consume() (BTF-decoded, u64 as bigint)", "consume", ["drain"]],
    ['bpfsh consume() (BTF-decoded, u64: "number")', "number", ["drain"]],
    ["bpfsh consume(), each event kept", "kept", ["drain"]],
    ["bpfsh poll() loop", "poll", ["live", "paced"]],
    ["bpfsh for await", "forawait", ["drain", "live", "paced"]],
    ["bpfsh batches()", "batches", ["drain"]],
    ["bpfsh consume() (Uint8Array copies, DataView)", "bytes", ["drain"]],
    ["bpfsh consumeRaw() (zero-copy views, DataView)", "raw", ["drain"]],
  ];
  // Case by case, every reader of a case one after the other (and the whole sweep
  // `rounds` times): on a shared machine the load drifts, and a ratio is only as good as
  // the time between its two figures.
  const kinds = (values.kinds ?? "16,exec").split(",") as Kind[];
  const modes = (values.modes ?? "drain,live,paced").split(",") as ("drain" | "live" | "paced")[];
  const results = new Map<string, Run[][]>();
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const kind of kinds) {
      const spec = KINDS[kind];
      for (const mode of modes) {
        const count = mode === "drain" ? spec.fill : mode === "live" ? spec.live : spec.paced.count;
        const rate = mode === "paced" ? spec.paced.rate : 0;
        for (const [name, reader, readerModes] of readers) {
          if (!readerModes.includes(mode) || (reader === "go" && !goBinary)) continue;
          // One more run than timed: the first is the warm-up (see summarise()).
          const pin = mode === "drain";
          const args = [object, kind, mode, count, runs + 1, rate];
          const res = reader === "c"
            ? runC(binary, args, pin)
            : reader === "go"
            ? runC(goBinary!, args, pin)
            : runChild(
              script,
              flags({ object, binary, kind, mode, reader, count, runs: runs + 1, rate }),
              pin,
            );
          const key = `${name}\0${label[kind]} ${modeName[mode]}`;
          results.set(key, [...(results.get(key) ?? []), res]);
        }
      }
    }
  }
  if (!goBinary) console.error(`Go rows skipped: ${GO_MISSING}`);
  const rows: Row[] = [];
  for (const [name, reader] of readers) {
    if (reader === "go" && !goBinary) continue;
    const row: Row = { reader: name, rates: {}, losses: {}, rssMb: 0, warmupLosses: 0 };
    for (const column of columns) {
      const rounds = results.get(`${name}\0${column}`);
      if (rounds) addRounds(row, column, rounds);
    }
    rows.push(row);
  }
  printTable(
    `Ring buffer, 16 MiB, events/s (median of ${runs} runs after a warm-up run; ratio to C; ` +
      `drained = 8 fills/run; paced: records dropped at ${KINDS["16"].paced.rate / 1e6} M/s ` +
      `(16 B) and ${KINDS.exec.paced.rate / 1e6} M/s (exec))`,
    columns,
    rows,
    ["16 B paced", "exec paced"],
  );
}

if (values.child) await child();
else main();
