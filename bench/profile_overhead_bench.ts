/**
 * What profiling costs the profiled: a fixed amount of CPU work on both CPUs at once
 * (bench/spin.c, one copy per CPU) timed without a profiler, then while
 * `scripts/profile.ts -F 99` samples every CPU (started a second before, so its own
 * start-up is not counted), runs alternating; the slowdown is the ratio of the medians.
 *
 * Run: `deno run -A bench/profile_overhead_bench.ts [rounds] [runs]` (root).
 *
 * @module
 */

import { OutputText } from "../tests/output_text.ts";
import { median, ROOT } from "./stats.ts";

const ROUNDS = Deno.args[0] ?? "400000000";
const RUNS = Number(Deno.args[1] ?? 7);
const CPUS = navigator.hardwareConcurrency || 2;
const HZ = 99;
const SETTLE_MS = 1000;

/** One copy of the workload per CPU, at once; the mean of their wall and CPU times, in ms. */
async function workload(): Promise<[number, number]> {
  const runs = Array.from(
    { length: CPUS },
    () => new Deno.Command(`${ROOT}/build/bench/spin`, { args: [ROUNDS] }).output(),
  );
  const times = (await Promise.all(runs)).map((o) =>
    new TextDecoder().decode(o.stdout).trim().split(" ").map(Number)
  );
  const mean = (i: number) => times.reduce((a, t) => a + t[i], 0) / times.length;
  return [mean(0), mean(1)];
}

/** Start profile.ts on every CPU and wait until it samples; its folded output to come. */
async function startProfiler(): Promise<{ child: Deno.ChildProcess; folded: Promise<string> }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}/scripts/profile.ts`, "-F", String(HZ), "--folded"],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const folded = new Response(child.stdout).text();
  const err = new OutputText(child.stderr);
  if (!await err.until(/Sampling/)) throw new Error(`profile.ts did not start: ${err.text}`);
  err.rest(); // drained as it comes, so the child never blocks on a full pipe
  return { child, folded };
}

/** bpftrace's equivalent, the baseline, when installed; started like profile.ts. */
async function startBpftrace(): Promise<Deno.ChildProcess | undefined> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("bpftrace", {
      args: ["-e", `profile:hz:${HZ} { @[kstack, ustack, comm] = count(); }`],
      stdout: "null",
      stderr: "null",
    }).spawn();
  } catch {
    return undefined;
  }
  // bpftrace prints "Attaching 1 probe..." once attached; a fixed wait is simpler here.
  await new Promise((r) => setTimeout(r, 2000));
  return child;
}

await workload(); // warm-up: page cache, CPU frequency
const off: number[] = [], on: number[] = [], offCpu: number[] = [], onCpu: number[] = [];
const bt: number[] = [], btCpu: number[] = [];
let samples = 0;
for (let r = 0; r < RUNS; r++) {
  const [wall, cpu] = await workload();
  off.push(wall), offCpu.push(cpu);
  const profiler = await startProfiler();
  // Let its start-up (compiles in background threads) finish: the steady state is measured.
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const [wallOn, cpuOn] = await workload();
  on.push(wallOn), onCpu.push(cpuOn);
  profiler.child.kill("SIGINT");
  await profiler.child.status;
  for (const line of (await profiler.folded).split("\n")) {
    if (line.includes("spin;")) samples += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  const bpftrace = await startBpftrace();
  if (bpftrace) {
    const [wallBt, cpuBt] = await workload();
    bt.push(wallBt), btCpu.push(cpuBt);
    bpftrace.kill("SIGINT");
    await bpftrace.status;
  }
}
const a = median(off), b = median(on);
const ca = median(offCpu), cb = median(onCpu);
const pct = (x: number, y: number) => `${((y / x - 1) * 100).toFixed(2)}%`;
console.log(
  `profile.ts -F ${HZ} on ${CPUS} CPUs: ${CPUS} copies of a ${ROUNDS}-round CPU loop, ` +
    `median of ${RUNS} alternating runs`,
);
console.log(`                       wall (median)  wall (best)   CPU time (median)`);
console.log(
  `  no profiler          ${a.toFixed(1).padStart(8)} ms  ${
    Math.min(...off).toFixed(1).padStart(8)
  } ms  ${ca.toFixed(1).padStart(8)} ms`,
);
console.log(
  `  under profile.ts     ${b.toFixed(1).padStart(8)} ms  ${
    Math.min(...on).toFixed(1).padStart(8)
  } ms  ${cb.toFixed(1).padStart(8)} ms`,
);
if (bt.length) {
  console.log(
    `  under bpftrace       ${median(bt).toFixed(1).padStart(8)} ms  ${
      Math.min(...bt).toFixed(1).padStart(8)
    } ms  ${median(btCpu).toFixed(1).padStart(8)} ms   (bpftrace: CPU ${pct(ca, median(btCpu))})`,
  );
}
console.log(
  `  slowdown: wall ${pct(a, b)} (best ${pct(Math.min(...off), Math.min(...on))}), ` +
    `CPU ${pct(ca, cb)}; ${samples} samples of the workload taken`,
);
console.log(`  runs without: ${off.map((x) => x.toFixed(0)).join(" ")}`);
console.log(`  runs with:    ${on.map((x) => x.toFixed(0)).join(" ")}`);
