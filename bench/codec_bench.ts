/**
 * BTF micro-benchmarks: kernel BTF parse time, name lookups, codec build time, and
 * decode/encode rates of generated codecs on 1,000,000 map entries
 * (u32 key → 16-byte `struct padded { u64 a; u32 b; }` value).
 *
 * Run: `deno run -A bench/codec_bench.ts [--rounds N]`. Prints one line per case with the
 * median and best of N rounds; `runCodecBench()` returns the same numbers for
 * bench/main.ts.
 *
 * @module
 */

import { Btf, KERNEL_BTF_PATH } from "../bpf/btf/btf.ts";

/** One benchmark result. */
export interface BenchResult {
  /** What was measured. */
  name: string;
  /** Median wall time of one round, ms. */
  medianMs: number;
  /** Best round, ms. */
  bestMs: number;
  /** Operations per round (entries decoded, lookups made...). */
  ops: number;
}

const FIXTURE = new URL("../build/tests/btf_types.bpf.o", import.meta.url).pathname;
const N = 1_000_000;

/** Time `fn` over `rounds` rounds. */
function time(name: string, rounds: number, ops: number, fn: () => unknown): BenchResult {
  const ms: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    fn();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return { name, medianMs: ms[ms.length >> 1], bestMs: ms[0], ops };
}

/** Sink so the JIT cannot drop unused results. */
let sink: unknown;

/**
 * Run every case.
 *
 * @param rounds Rounds per case.
 * @returns The results, in order.
 * @example
 * ```ts
 * for (const r of runCodecBench(5)) console.log(r.name, r.medianMs);
 * ```
 */
export function runCodecBench(rounds = 7): BenchResult[] {
  const results: BenchResult[] = [];
  let hasKernel = true;
  try {
    Deno.statSync(KERNEL_BTF_PATH);
  } catch {
    hasKernel = false;
  }
  if (hasKernel) {
    // The first parse includes module warm-up: what a fresh `bpfsh` pays.
    const t0 = performance.now();
    const k = Btf.kernel();
    results.push({
      name: "Btf.kernel() first call (read + index vmlinux)",
      medianMs: performance.now() - t0,
      bestMs: performance.now() - t0,
      ops: 1,
    });
    results.push(time("Btf.fromFile(vmlinux) warm (read + index)", rounds, 1, () => {
      sink = Btf.fromFile(KERNEL_BTF_PATH);
    }));
    results.push(time("parse vmlinux + first find('struct iov_iter')", rounds, 1, () => {
      sink = Btf.fromFile(KERNEL_BTF_PATH).find("struct iov_iter");
    }));
    const names = ["task_struct", "sk_buff", "iov_iter", "file", "inode", "mm_struct"];
    results.push(time("parse vmlinux + hasField() on 6 structs", rounds, 6, () => {
      const b = Btf.fromFile(KERNEL_BTF_PATH);
      for (const n of names) sink = b.hasField(n, "__iov");
    }));
    results.push(time("parse vmlinux + first names() (builds the index)", rounds, 1, () => {
      sink = Btf.fromFile(KERNEL_BTF_PATH).names("struct task_s");
    }));
    results.push(time("parse vmlinux + codec('struct task_struct') build", rounds, 1, () => {
      sink = Btf.fromFile(KERNEL_BTF_PATH).codec("struct task_struct");
    }));
    void k;
  }

  const obj = Btf.fromElf(Deno.readFileSync(FIXTURE));
  results.push(time("parse fixture + codec('struct padded') build", rounds, 1, () => {
    sink = Btf.fromElf(Deno.readFileSync(FIXTURE)).codec("struct padded");
  }));
  const kc = obj.codec<number>("u32");
  const vc = obj.codec<{ a: bigint; b: number }>("struct padded");
  const keys = new Uint8Array(N * 4);
  const vals = new Uint8Array(N * 16);
  const kv = new DataView(keys.buffer);
  const vv = new DataView(vals.buffer);
  for (let i = 0; i < N; i++) {
    kv.setUint32(i * 4, i, true);
    vv.setBigUint64(i * 16, BigInt(i) << 20n, true);
    vv.setUint32(i * 16 + 8, i, true);
  }

  results.push(time("decode 1M u32 keys + 16B values, streamed (not kept)", rounds, N, () => {
    let s = 0;
    for (let i = 0; i < N; i++) {
      const k = kc.decode(keys, i * 4);
      const v = vc.decode(vals, i * 16);
      s += k + v.b;
    }
    sink = s;
  }));
  results.push(time("decodeMany 1M u32 keys + 16B values (all kept in arrays)", rounds, N, () => {
    sink = [kc.decodeMany(keys, N), vc.decodeMany(vals, N)];
  }));
  const keep: unknown[] = new Array(N);
  results.push(time("decodeMany 1M values into a reused array", rounds, N, () => {
    sink = vc.decodeMany(vals, N, 16, keep as { a: bigint; b: number }[]);
  }));
  const decoded = vc.decodeMany(vals, N);
  const out = new Uint8Array(16);
  results.push(time("encode 1M 16B values into one buffer", rounds, N, () => {
    for (let i = 0; i < N; i++) vc.encode(decoded[i], out);
    sink = out;
  }));

  const key = obj.codec<{ pid: number; port: number; proto: number; comm: string }>(
    "struct key_t",
  );
  const keyBytes = new Uint8Array(N * 24);
  for (let i = 0; i < N; i++) {
    key.encode({ pid: i, port: i & 0xffff, proto: 6, comm: `proc-${i % 1000}` }, keyBytes, i * 24);
  }
  results.push(time("decode 1M struct key_t (char[16] string), streamed", rounds, N, () => {
    let s = 0;
    for (let i = 0; i < N; i++) s += key.decode(keyBytes, i * 24).comm.length;
    sink = s;
  }));
  return results;
}

if (import.meta.main) {
  const idx = Deno.args.indexOf("--rounds");
  const rounds = idx >= 0 ? Number(Deno.args[idx + 1]) : 7;
  for (const r of runCodecBench(rounds)) {
    const per = r.ops >= 1000 ? `  ${(r.medianMs * 1e6 / r.ops).toFixed(1)} ns/op` : "";
    console.log(
      `${r.name.padEnd(62)} median ${r.medianMs.toFixed(1).padStart(7)} ms  best ${
        r.bestMs.toFixed(1).padStart(7)
      } ms${per}`,
    );
  }
  void sink;
}
