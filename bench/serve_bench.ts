/**
 * Scrape cost of `bpfsh serve`: GET /metrics on a map of 100,000 series (u32 uid + char[16]
 * comm → u64), time per scrape and the process's RSS, beside the same read-and-format done
 * in C two ways: ebpf_exporter's (one get_next_key and one lookup syscall per entry) and
 * with bpf_map_lookup_batch. The map read alone is also timed both ways in bpfsh.
 *
 * Run: `deno run -A bench/serve_bench.ts [series] [runs]` (root).
 *
 * @module
 */

import { BpfObject } from "../mod.ts";
import { Serve } from "../serve/server.ts";
import { lookupBatches, nextKeyBatches } from "../bpf/map/batches.ts";
import { median, ROOT } from "./stats.ts";

const N = Number(Deno.args[0] ?? 100_000);
const RUNS = Number(Deno.args[1] ?? 5);

function memory(): { rss: number; peak: number } {
  const status = Deno.readTextFileSync("/proc/self/status");
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(status)?.[1]) / 1024;
  return { rss: kb("VmRSS"), peak: kb("VmHWM") };
}

async function timed(fn: () => unknown | Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

const c = new Deno.Command(`${ROOT}/build/bench/serve_scrape`, {
  args: [String(N), String(RUNS + 1)],
}).outputSync();
if (!c.success) throw new Error(new TextDecoder().decode(c.stderr));
const cRuns = new TextDecoder().decode(c.stdout).trim().split("\n").slice(1).map((l) =>
  l.split(" ").map(Number)
);

const before = memory();
const obj = await BpfObject.open(`${ROOT}/build/bench/serve_bench.bpf.o`);
const serve = await Serve.start([{
  obj,
  source: "bench",
  attach: "none",
  events: [],
  metrics: [{
    name: "bpfsh_bench_total",
    type: "counter",
    map: "series",
    labels: [{ name: "comm", field: "comm" }, { name: "uid", field: "uid" }],
  }],
}], { listen: "127.0.0.1:0", log: () => {} });
const map = obj.map("series");
const key = new Uint8Array(20);
const kv = new DataView(key.buffer);
const value = new Uint8Array(8);
const vv = new DataView(value.buffer);
const enc = new TextEncoder();
for (let i = 0; i < N; i++) {
  key.fill(0);
  kv.setUint32(0, i % 1000, true);
  enc.encodeInto(`comm${i}`, key.subarray(4, 19));
  vv.setBigUint64(0, BigInt(i), true);
  map.set(key, value);
}
const filled = memory();

const url = `${serve.url}/metrics`;
let bytes = 0;
const scrape = async () => {
  const text = await (await fetch(url)).text();
  bytes = text.length;
};
await scrape(); // warm-up
const scrapes: number[] = [];
for (let r = 0; r < RUNS; r++) scrapes.push(await timed(scrape));
const reader = serve.readers[0];
const reads: number[] = [];
for (let r = 0; r < RUNS; r++) reads.push(await timed(() => reader.read()));
const shape = { fd: map.fd, keySize: 20, valueBytes: 8, batch: 8192, op: "bench" };
const rawBatch: number[] = [];
const rawNext: number[] = [];
for (let r = 0; r < RUNS; r++) {
  rawBatch.push(
    await timed(() => {
      for (const _ of lookupBatches(shape));
    }),
  );
  rawNext.push(
    await timed(() => {
      for (const _ of nextKeyBatches(shape));
    }),
  );
}
const after = memory();
await serve.stop();

const cNext = median(cRuns.map((r) => r[0]));
const cBatch = median(cRuns.map((r) => r[1]));
const ms = (x: number) => `${x.toFixed(1).padStart(7)} ms`;
console.log(
  `serve: GET /metrics of ${N} series (${(bytes / 1e6).toFixed(1)} MB of text), ` +
    `median of ${RUNS} runs after a warm-up`,
);
console.log(`  C, ebpf_exporter's way (next_key + lookup per entry) + format ${ms(cNext)}`);
console.log(`  C, bpf_map_lookup_batch + format                          ${ms(cBatch)}`);
const scrapeMs = median(scrapes);
console.log(
  `  bpfsh GET /metrics (batched read, decode, prom-client, HTTP) ${ms(scrapeMs)}   ` +
    `${(scrapeMs / cNext).toFixed(2)}x C next_key, ${(scrapeMs / cBatch).toFixed(2)}x C batch`,
);
console.log(`  bpfsh map read + decode + aggregate (reader.read())        ${ms(median(reads))}`);
console.log(`  bpfsh raw read, lookup_batch                               ${ms(median(rawBatch))}`);
console.log(`  bpfsh raw read, next_key + lookup per entry                ${ms(median(rawNext))}`);
console.log(
  `  RSS: ${before.rss.toFixed(0)} MB at start, ${filled.rss.toFixed(0)} MB with the map ` +
    `filled, ${after.rss.toFixed(0)} MB after the scrapes (peak ${after.peak.toFixed(0)} MB)`,
);
