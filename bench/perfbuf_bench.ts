/**
 * Perf buffer benchmark: a raw_tp producer (bench/perfbuf_bench.bpf.c, run with
 * BPF_PROG_TEST_RUN) writes fixed-size samples with bpf_loop into the perf ring of the CPU
 * it runs on; C's libbpf perf_buffer (bench/perfbuf_bench.c) and bpfsh's PerfBuffer read
 * them, each in its own process, in the same run. Prints events/s (median of the runs),
 * the ratio to C, peak RSS and losses, for 16- and 128-byte samples:
 *
 * - drained: a 16 MiB per-CPU ring is filled, then read until empty (8 fills per run);
 * - live: a producer thread writes N samples while the reader waits and reads (16 MiB
 *   rings); libbpf asks the kernel for a wake-up per sample, bpfsh for one per 64.
 *
 * Run: `deno run -A bench/perfbuf_bench.ts [--runs 3]` (root; about a minute).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { BpfObject } from "../mod.ts";
import { PerfBuffer } from "../mod.ts";
import {
  ensureBuilt,
  peakRssKb,
  printTable,
  type Row,
  type Run,
  runC,
  runChild,
  startProducer,
  summarise,
} from "./stream_common.ts";

/** Samples per fill: ~95% of a 16 MiB ring (a 16-byte sample takes 32 bytes, 128 takes 144). */
const FILL: Record<number, number> = { 16: 500_000, 128: 110_000 };
/** Samples per live run. */
const LIVE: Record<number, number> = { 16: 100_000, 128: 100_000 };
const DRAIN_PAGES = 4096;
/**
 * 16 MiB rings live too: on this VM the kernel delivers perf wake-ups (irq_work) only at
 * timer ticks or when the producer's BPF_PROG_TEST_RUN returns, so a small ring overflows
 * between two wake-ups of any reader that does not throttle the producer.
 */
const LIVE_PAGES = 4096;
const CHUNK = 65_536;

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
  },
});

/** The reader side, in a child process: prints one JSON line per run. */
async function child(): Promise<void> {
  const size = Number(values.size);
  const mode = values.mode!;
  const reader = values.reader!;
  const count = Number(values.count);
  const runs = Number(values.runs);
  using obj = await BpfObject.open(values.object!);
  obj.load();
  using pb = new PerfBuffer<{ x: number }>(obj.map("pb"), {
    type: reader === "bytes" ? undefined : `event${size}`,
    pageCount: mode === "drain" ? DRAIN_PAGES : LIVE_PAGES,
  });
  const counts = obj.map("counts");
  const key = (k: number) => new Uint8Array(new Uint32Array([k]).buffer);
  const counter = (k: number) =>
    Number(new BigUint64Array(counts.getBytes(key(k))!.slice().buffer)[0]);
  const prog = obj.program(`produce${size}`);
  const box = { sum: 0 };
  let lostBefore = 0;
  for (let r = 0; r < runs; r++) {
    for (const k of [0, 1]) counts.set(key(k), new Uint8Array(8));
    let events = 0;
    let seconds = 0;
    if (mode === "drain") {
      const ctx = new Uint8Array(new BigUint64Array([BigInt(count), 0n]).buffer);
      for (let i = 0; i < 8; i++) {
        prog.testRun({ ctx, repeat: 0 });
        const t0 = performance.now();
        if (reader === "consume") {
          events += pb.consume((e) => {
            box.sum += e.data.x;
          });
        } else if (reader === "bytes") {
          events += pb.consume((e) => {
            box.sum += (e.data as unknown as Uint8Array)[4];
          });
        } else if (reader === "raw") {
          events += pb.consumeRaw((b, o) => {
            box.sum += b[o + 4];
          });
        } else {
          const want = events + count;
          for await (const e of pb) {
            box.sum += e.data.x;
            if (++events >= want) break;
          }
        }
        seconds += (performance.now() - t0) / 1000;
      }
    } else {
      const producer = await startProducer(prog.fd, CHUNK, 0);
      let sent = Infinity;
      const stop = new AbortController();
      const t0 = performance.now();
      producer.run(count).then(() => {
        sent = counter(0);
        if (events >= sent) stop.abort();
      });
      if (reader === "poll") {
        while (events < sent) {
          events += await pb.poll(100, (e) => {
            box.sum += e.data.x;
          });
        }
      } else {
        for await (const e of pb.events({ signal: stop.signal })) {
          box.sum += e.data.x;
          if (++events >= sent) break;
        }
      }
      seconds = (performance.now() - t0) / 1000;
      producer.stop();
    }
    const run: Run = {
      reader,
      mode,
      size,
      events,
      seconds,
      dropped: counter(1),
      lost: pb.stats.lost - lostBefore,
      maxrss_kb: peakRssKb(),
    };
    lostBefore = pb.stats.lost;
    console.log(JSON.stringify(run));
  }
}

/** The parent: every case, C then bpfsh, and the table. */
function main(): void {
  const runs = Number(values.runs);
  const { object, binary } = ensureBuilt("perfbuf_bench");
  const script = new URL(import.meta.url).pathname;
  const columns = ["16 B drained", "16 B live", "128 B drained", "128 B live"];
  const readers: [string, string, string[]][] = [
    ["C libbpf perf_buffer callback", "c", ["drain", "live"]],
    ["bpfsh consume() (BTF-decoded)", "consume", ["drain"]],
    ["bpfsh poll() loop (BTF-decoded)", "poll", ["live"]],
    ["bpfsh for await (BTF-decoded)", "forawait", ["drain", "live"]],
    ["bpfsh consume() (Uint8Array copies)", "bytes", ["drain"]],
    ["bpfsh consumeRaw() (zero-copy views)", "raw", ["drain"]],
  ];
  const rows: Row[] = [];
  for (const [label, reader, modes] of readers) {
    const row: Row = { reader: label, rates: {}, rssMb: 0, dropped: 0, lost: 0 };
    for (const size of [16, 128]) {
      for (const mode of modes) {
        const count = mode === "drain" ? FILL[size] : LIVE[size];
        const pages = mode === "drain" ? DRAIN_PAGES : LIVE_PAGES;
        const res = reader === "c"
          ? runC(binary, [object, size, mode, count, runs, pages])
          : runChild(script, [
            "--object",
            object,
            "--size",
            size,
            "--mode",
            mode,
            "--reader",
            reader,
            "--count",
            count,
            "--runs",
            runs,
          ]);
        const s = summarise(res);
        row.rates[`${size} B ${mode === "drain" ? "drained" : "live"}`] = s.rate;
        row.rssMb = Math.max(row.rssMb, s.rssMb);
        row.dropped! += s.dropped;
        row.lost! += s.lost;
        console.error(`${label}, ${size} B ${mode}: ${(s.rate / 1e6).toFixed(2)} M/s`);
      }
    }
    rows.push(row);
  }
  printTable(
    `Perf buffer, events/s (median of ${runs} runs; ratio to C; drained = 8 fills/run)`,
    columns,
    rows,
  );
}

if (values.child) await child();
else main();
