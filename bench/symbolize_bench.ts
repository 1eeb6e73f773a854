/**
 * Symbolization benchmark: 100,000 user frames of a running process (the stack_chain
 * fixture: its binary, libc, the loader) named by bpfsh's Symbolizer, beside the same
 * frames named by a C program doing nm/addr2line-style lookups with libelf
 * (bench/symbolize.c), in the same run; then /proc/kallsyms loaded by both.
 *
 * Run: `deno run -A bench/symbolize_bench.ts [frames] [runs]`.
 *
 * @module
 */

import { formatFrame, KernelSymbols, parseProcMaps, Symbolizer } from "../mod.ts";
import { median, ROOT } from "./stats.ts";

const N = Number(Deno.args[0] ?? 100_000);
const RUNS = Number(Deno.args[1] ?? 5);
const DEPTH = 127;

/** A small deterministic PRNG (xorshift32), so every run names the same frames. */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13, x >>>= 0, x ^= x >>> 17, x ^= x << 5, x >>>= 0;
    return x / 4294967296;
  };
}

const child = new Deno.Command(`${ROOT}/build/tests/stack_chain`, {
  args: ["600000"],
  stdout: "null",
}).spawn();
try {
  let maps = parseProcMaps("");
  for (let i = 0; i < 100 && !maps.some((m) => m.path.includes("libc")); i++) {
    await new Promise((r) => setTimeout(r, 10));
    maps = parseProcMaps(Deno.readTextFileSync(`/proc/${child.pid}/maps`));
  }
  const code = maps.filter((m) => m.perms[2] === "x" && m.path.startsWith("/"));
  const total = code.reduce((n, m) => n + (m.end - m.start), 0);
  const rand = random(42);
  const addrs = new BigUint64Array(N);
  for (let i = 0; i < N; i++) {
    let at = Math.floor(rand() * total);
    const m = code.find((c) => (at -= c.end - c.start) < 0)!;
    addrs[i] = BigInt(m.end + at);
  }
  const file = Deno.makeTempFileSync({ suffix: ".addrs" });
  Deno.writeTextFileSync(file, [...addrs].map((a) => a.toString(16)).join("\n") + "\n");

  // C: same process, same frames.
  const out = new Deno.Command(`${ROOT}/build/bench/symbolize`, {
    args: [String(child.pid), file, String(RUNS)],
  }).outputSync();
  Deno.removeSync(file);
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  const num = (l: string) => Number(l.split(" ")[1]);
  const cSetup = num(lines.find((l) => l.startsWith("setup_ms"))!);
  const cLookup = lines.filter((l) => l.startsWith("lookup_ms")).map(num);
  const cNamed = Number(lines.find((l) => l.startsWith("named"))!.split(" ")[1]);
  const cKallsyms = lines.filter((l) => l.startsWith("kallsyms_ms")).map(num);

  // kallsyms first, as a fresh process would meet it.
  const kallsyms: number[] = [];
  for (let r = 0; r < RUNS; r++) kallsyms.push(KernelSymbols.load().loadMs);

  // bpfsh: the first pass reads the map and each binary's symbols; then warm passes.
  const pass = (sym: Symbolizer) => {
    let named = 0, chars = 0;
    for (let i = 0; i < N; i += DEPTH) {
      for (const f of sym.userFrames(child.pid, addrs.subarray(i, i + DEPTH))) {
        if (f.symbol) named++;
        chars += formatFrame(f).length;
      }
    }
    return { named, chars };
  };
  using sym = new Symbolizer();
  let t = performance.now();
  sym.remember(child.pid);
  const first = pass(sym);
  const firstMs = performance.now() - t;
  const warm: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    t = performance.now();
    pass(sym);
    warm.push(performance.now() - t);
  }

  const c = median(cLookup);
  const ours = median(warm);
  const row = (name: string, ms: number, base: number) =>
    console.log(
      `  ${name.padEnd(46)} ${ms.toFixed(1).padStart(8)} ms ${(ms / base).toFixed(2).padStart(6)}x`,
    );
  console.log(
    `symbolizing ${N} user frames of a running process (${code.length} code mappings), ` +
      `median of ${RUNS} runs`,
  );
  row("C libelf nm-style lookups (warm)", c, c);
  row("bpfsh Symbolizer.userFrames + formatFrame (warm)", ours, c);
  row("C first pass: maps + symbol tables", cSetup + cLookup[0], c);
  row("bpfsh first pass: maps + symbol tables", firstMs, c);
  console.log(
    `  frames named: C ${cNamed}, bpfsh ${first.named} ` +
      `(bpfsh looks up the byte before each return address)`,
  );
  console.log(`  ${(ours * 1e6 / N).toFixed(0)} ns per frame (C ${(c * 1e6 / N).toFixed(0)})`);
  const ck = median(cKallsyms);
  console.log(`/proc/kallsyms read, parsed and sorted, median of ${RUNS}`);
  row("C fgets + strtoull + qsort", ck, ck);
  row("bpfsh KernelSymbols.load(), first in this process", kallsyms[0], ck);
  row("bpfsh KernelSymbols.load(), median", median(kallsyms), ck);
} finally {
  child.kill();
  await child.status;
}
