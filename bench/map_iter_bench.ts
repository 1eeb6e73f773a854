/**
 * Map iteration benchmark: a full decoded read of a 1,000,000-entry hash map (u32 → 16-byte
 * struct) by bpfsh, beside C's bpf_map_lookup_batch loop measured in the same run.
 *
 * Run: `deno run -A bench/map_iter_bench.ts [entries] [runs]` (root).
 *
 * @module
 */

import { BpfObject } from "../mod.ts";
import { median, ROOT } from "./stats.ts";

const N = Number(Deno.args[0] ?? 1_000_000);
const RUNS = Number(Deno.args[1] ?? 5);

function cBaseline(): number[] {
  const out = new Deno.Command(`${ROOT}/build/bench/map_iter`, { args: [String(N), String(RUNS)] })
    .outputSync();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim().split("\n").map((l) =>
    Number(l.split(" ")[0])
  );
}

function time(fn: () => number): { ms: number; n: number } {
  const t0 = performance.now();
  const n = fn();
  return { ms: performance.now() - t0, n };
}

const c = cBaseline();
using obj = await BpfObject.open(`${ROOT}/build/tests/maps.bpf.o`);
obj.load();
const map = obj.map<number, { a: bigint; b: bigint }>("big");
const key = new Uint8Array(4);
const value = new Uint8Array(16);
const kv = new DataView(key.buffer);
const vv = new DataView(value.buffer);
for (let i = 0; i < N; i++) {
  kv.setUint32(0, i, true);
  vv.setBigUint64(0, BigInt(i), true);
  vv.setBigUint64(8, BigInt(i * 2), true);
  map.set(key, value);
}

const results: Record<string, number[]> = { raw: [], toArray: [], entries: [] };
for (let r = 0; r < RUNS; r++) {
  results.raw.push(
    time(() => {
      let n = 0;
      for (const b of map.rawBatches()) n += b.count;
      return n;
    }).ms,
  );
  results.toArray.push(time(() => map.toArray().length).ms);
  results.entries.push(
    time(() => {
      let n = 0;
      for (const _ of map.entries()) n++;
      return n;
    }).ms,
  );
}

const cMs = median(c);
console.log(`map iteration, ${N} entries (u32 -> 16-byte struct), median of ${RUNS} runs`);
console.log(`  C bpf_map_lookup_batch loop        ${cMs.toFixed(1).padStart(8)} ms   1.00x`);
for (
  const [name, label] of [
    ["raw", "bpfsh rawBatches (bytes)"],
    ["toArray", "bpfsh toArray() (decoded objects)"],
    ["entries", "bpfsh entries() (decoded, generator)"],
  ] as const
) {
  const ms = median(results[name]);
  console.log(`  ${label.padEnd(36)}${ms.toFixed(1).padStart(6)} ms   ${(ms / cMs).toFixed(2)}x`);
}
