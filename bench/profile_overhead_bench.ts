/**
 * What profiling costs the profiled: a fixed amount of CPU work on both CPUs at once
 * (bench/spin.c, one copy per CPU) timed without a profiler, then while
 * `scripts/profile.ts -F 99` samples every CPU, runs alternating; the slowdown is the
 * ratio of the medians.
 *
 * Run: `deno run -A bench/profile_overhead_bench.ts [rounds] [runs]` (root).
 *
 * @module
 */

const ROOT = new URL("..", import.meta.url).pathname;
const ROUNDS = Deno.args[0] ?? "400000000";
const RUNS = Number(Deno.args[1] ?? 7);
const CPUS = navigator.hardwareConcurrency || 2;
const HZ = 99;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** One copy of the workload per CPU, at once; the mean of their times, in ms. */
async function workload(): Promise<number> {
  const runs = Array.from(
    { length: CPUS },
    () => new Deno.Command(`${ROOT}build/bench/spin`, { args: [ROUNDS] }).output(),
  );
  const times = (await Promise.all(runs)).map((o) => Number(new TextDecoder().decode(o.stdout)));
  return times.reduce((a, b) => a + b, 0) / times.length;
}

/** Start profile.ts on every CPU and wait until it samples; its folded output to come. */
async function startProfiler(): Promise<{ child: Deno.ChildProcess; folded: Promise<string> }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}scripts/profile.ts`, "-F", String(HZ), "--folded"],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const folded = new Response(child.stdout).text();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let err = "";
  while (!/Sampling/.test(err)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`profile.ts did not start: ${err}`);
    err += value;
  }
  (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })();
  return { child, folded };
}

await workload(); // warm-up: page cache, CPU frequency
const off: number[] = [], on: number[] = [];
let samples = 0;
for (let r = 0; r < RUNS; r++) {
  off.push(await workload());
  const profiler = await startProfiler();
  on.push(await workload());
  profiler.child.kill("SIGINT");
  await profiler.child.status;
  for (const line of (await profiler.folded).split("\n")) {
    if (line.includes("spin;")) samples += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
}
const a = median(off), b = median(on);
console.log(
  `profile.ts -F ${HZ} on ${CPUS} CPUs: ${CPUS} copies of a ${ROUNDS}-round CPU loop, ` +
    `median of ${RUNS} alternating runs`,
);
console.log(`  no profiler          ${a.toFixed(1).padStart(8)} ms   1.000x`);
console.log(`  under profile.ts     ${b.toFixed(1).padStart(8)} ms   ${(b / a).toFixed(3)}x`);
console.log(
  `  slowdown ${((b / a - 1) * 100).toFixed(2)}%, ${samples} samples of the workload taken`,
);
console.log(`  runs without: ${off.map((x) => x.toFixed(0)).join(" ")}`);
console.log(`  runs with:    ${on.map((x) => x.toFixed(0)).join(" ")}`);
