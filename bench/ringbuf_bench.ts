/**
 * Ring buffer benchmark: a raw_tp producer (bench/ringbuf_bench.bpf.c, run with
 * BPF_PROG_TEST_RUN) writes fixed-size records with bpf_loop into a 16 MiB ring; C's
 * libbpf reader (bench/ringbuf_bench.c) and bpfsh's RingBuffer read them, each in its own
 * process, in the same run. Prints events/s (median of the runs), the ratio to C and the
 * peak RSS, for 16- and 128-byte records:
 *
 * - drained: the ring is filled (no wake-ups), then read until empty (8 fills per run);
 * - live: a producer thread writes N records with default wake-ups while the reader
 *   waits and reads; timed until every record written is read (drops are reported).
 *
 * bpfsh readers: `consume` (decoded through the generic BTF codec), `consumeRaw`
 * (zero-copy views), `batches()`, `for await`, and `consume` of Uint8Array copies.
 *
 * Run: `deno run -A bench/ringbuf_bench.ts [--runs 3]` (root; about a minute).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { BpfObject } from "../mod.ts";
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

/** Records per fill: ~95% of the 16 MiB ring (a record takes its size + 8 header bytes). */
const FILL: Record<number, number> = { 16: 660_000, 128: 116_000 };
/** Records per live run. */
const LIVE: Record<number, number> = { 16: 4_000_000, 128: 2_000_000 };
const BPF_RB_NO_WAKEUP = 1;
const CHUNK = 262_144;

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

function u64(n: number): Uint8Array {
  return new Uint8Array(new BigUint64Array([BigInt(n)]).buffer);
}

/** The reader side, in a child process: prints one JSON line per run. */
async function child(): Promise<void> {
  const size = Number(values.size);
  const mode = values.mode!;
  const reader = values.reader!;
  const count = Number(values.count);
  const runs = Number(values.runs);
  using obj = await BpfObject.open(values.object!);
  obj.load();
  const rb = obj.ringbuf<{ x: number }>("rb", reader === "bytes" ? {} : { type: `event${size}` });
  const counts = obj.map("counts");
  const counter = (k: number) =>
    Number(
      new BigUint64Array(
        counts.getBytes(new Uint8Array(new Uint32Array([k]).buffer))!.slice().buffer,
      )[0],
    );
  const prog = obj.program(`produce${size}`);
  const box = { sum: 0 };
  for (let r = 0; r < runs; r++) {
    for (const k of [0, 1]) counts.set(new Uint8Array(new Uint32Array([k]).buffer), u64(0));
    let events = 0;
    let seconds = 0;
    if (mode === "drain") {
      const ctx = new Uint8Array(
        new BigUint64Array([BigInt(count), BigInt(BPF_RB_NO_WAKEUP)]).buffer,
      );
      for (let i = 0; i < 8; i++) {
        prog.testRun({ ctx, repeat: 0 });
        const want = events + count;
        const t0 = performance.now();
        if (reader === "consume") {
          events += rb.consume((e) => {
            box.sum += e.x;
          });
        } else if (reader === "bytes") {
          events += rb.consume((e) => {
            box.sum += (e as unknown as Uint8Array)[4];
          });
        } else if (reader === "raw") {
          events += rb.consumeRaw((b, o) => {
            box.sum += b[o + 4];
          });
        } else if (reader === "batches") {
          for await (const batch of rb.batches()) {
            for (const e of batch) box.sum += e.x;
            events += batch.length;
            if (events >= want) break;
          }
        } else {
          for await (const e of rb) {
            box.sum += e.x;
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
          events += await rb.poll(100, (e) => {
            box.sum += e.x;
          });
        }
      } else {
        for await (const e of rb.events({ signal: stop.signal })) {
          box.sum += e.x;
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
  const columns = ["16 B drained", "16 B live", "128 B drained", "128 B live"];
  const readers: [string, string, string[]][] = [
    ["C libbpf ring_buffer callback", "c", ["drain", "live"]],
    ["bpfsh consume() (BTF-decoded)", "consume", ["drain"]],
    ["bpfsh poll() loop (BTF-decoded)", "poll", ["live"]],
    ["bpfsh for await (BTF-decoded)", "forawait", ["drain", "live"]],
    ["bpfsh batches() (BTF-decoded)", "batches", ["drain"]],
    ["bpfsh consume() (Uint8Array copies)", "bytes", ["drain"]],
    ["bpfsh consumeRaw() (zero-copy views)", "raw", ["drain"]],
  ];
  const rows: Row[] = [];
  for (const [label, reader, modes] of readers) {
    const row: Row = { reader: label, rates: {}, rssMb: 0, dropped: 0 };
    for (const size of [16, 128]) {
      for (const mode of modes) {
        const count = mode === "drain" ? FILL[size] : LIVE[size];
        const res = reader === "c"
          ? runC(binary, [object, size, mode, count, runs])
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
        console.error(`${label}, ${size} B ${mode}: ${(s.rate / 1e6).toFixed(1)} M/s`);
      }
    }
    rows.push(row);
  }
  printTable(
    `Ring buffer, 16 MiB, events/s (median of ${runs} runs; ratio to C; drained = 8 fills/run)`,
    columns,
    rows,
  );
}

if (values.child) await child();
else main();
