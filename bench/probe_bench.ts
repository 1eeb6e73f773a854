/**
 * The probe language against bpftrace, measured in the same run (as root, from the
 * repository root):
 *
 * - start-up: from spawning the command to its probes attached (both print
 *   `__BPFTRACE_NOTIFY_PROBES_ATTACHED` on stderr when the variable is set) and to its exit,
 *   for a handful of one-liners ending with `BEGIN { exit(); }`: bpftrace, bpfsh with an
 *   empty compile cache (a new BPFSH_CACHE each run), bpfsh with its cache; and to the first
 *   printf line of `BEGIN { printf(...) }`;
 * - printf throughput: a `printf` per write(2) of a `dd bs=1` under a unique comm, the
 *   lines read from the tool's stdout: lines per second over the workload, and lines lost;
 * - overhead: the same `dd` (reads and writes of 1 byte) timed alone and under aggregation
 *   one-liners run by each tool: the traced process's slowdown.
 *
 * ```sh
 * ./node_modules/.bin/deno run -A bench/probe_bench.ts [runs]
 * ```
 *
 * @module
 */

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const BPFSH = `${ROOT}/bpfsh`;
const RUNS = Number(Deno.args[0] ?? 7);
const NOTIFY = "__BPFTRACE_NOTIFY_PROBES_ATTACHED";

interface Timing {
  attached: number;
  exited: number;
  first?: number;
}

/** Spawn a tool and time it to attached, to a stdout marker (when given) and to its exit. */
async function timeRun(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
  marker?: string,
): Promise<Timing> {
  const t0 = performance.now();
  const child = new Deno.Command(cmd, {
    args,
    env: { [NOTIFY]: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let attached = NaN;
  let first: number | undefined;
  const errs = (async () => {
    let text = "";
    for await (const c of child.stderr.pipeThrough(new TextDecoderStream())) {
      text += c;
      if (Number.isNaN(attached) && text.includes(NOTIFY)) attached = performance.now() - t0;
    }
    return text;
  })();
  const outs = (async () => {
    let text = "";
    for await (const c of child.stdout.pipeThrough(new TextDecoderStream())) {
      text += c;
      if (marker && first === undefined && text.includes(marker)) first = performance.now() - t0;
    }
    return text;
  })();
  const status = await child.status;
  const exited = performance.now() - t0;
  const [err] = await Promise.all([errs, outs]);
  if (!status.success || Number.isNaN(attached)) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${err}`);
  }
  return { attached, exited, first };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function fmt(ms: number): string {
  return `${ms.toFixed(0)} ms`;
}

const ONE_LINERS = [
  "tracepoint:syscalls:sys_enter_openat { @[comm] = count(); } BEGIN { exit(); }",
  "tracepoint:syscalls:sys_enter_read { @bytes = hist(args->count); } BEGIN { exit(); }",
  'tracepoint:syscalls:sys_enter_openat { printf("%s %s\\n", comm, str(args->filename)); } BEGIN { exit(); }',
  "uprobe:/bin/bash:readline { @[comm] = count(); } BEGIN { exit(); }",
  "tracepoint:syscalls:sys_enter_open* { @[probe] = count(); } BEGIN { exit(); }",
];

console.log(`Start-up (median of ${RUNS} runs; attached / exited, ms from spawn):\n`);
console.log(
  "| One-liner | bpftrace | bpfsh, empty cache | bpfsh, cached | cached attach vs bpftrace |\n" +
    "| --- | --- | --- | --- | --- |",
);
// Warm the caches once (Deno's module cache and ours): "cached" means an installed bpfsh.
for (const p of ONE_LINERS) await timeRun(BPFSH, ["-e", p]);
for (const p of ONE_LINERS) {
  const bt: Timing[] = [];
  const empty: Timing[] = [];
  const cached: Timing[] = [];
  for (let i = 0; i < RUNS; i++) {
    bt.push(await timeRun("bpftrace", ["-e", p]));
    const dir = await Deno.makeTempDir({ prefix: "bpfsh_bench_cache_" });
    try {
      empty.push(await timeRun(BPFSH, ["-e", p], { BPFSH_CACHE: dir }));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
    cached.push(await timeRun(BPFSH, ["-e", p]));
  }
  const cell = (ts: Timing[]) =>
    `${fmt(median(ts.map((t) => t.attached)))} / ${fmt(median(ts.map((t) => t.exited)))}`;
  const ratio = median(cached.map((t) => t.attached)) / median(bt.map((t) => t.attached));
  console.log(
    `| \`${p.replaceAll("|", "\\|")}\` | ${cell(bt)} | ${cell(empty)} | ${cell(cached)} | ${
      ratio.toFixed(2)
    }× |`,
  );
}

{
  const p = 'BEGIN { printf("hello\\n"); exit(); }';
  const bt: number[] = [];
  const sh: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    bt.push((await timeRun("bpftrace", ["-e", p], {}, "hello")).first!);
    sh.push((await timeRun(BPFSH, ["-e", p], {}, "hello")).first!);
  }
  console.log(
    `\nTo the first printf line of \`${p}\`: bpftrace ${fmt(median(bt))}, bpfsh (cached) ${
      fmt(median(sh))
    }`,
  );
}

// --- printf throughput and overhead: a dd of single bytes under a unique comm ---

const dir = await Deno.makeTempDir({ prefix: "bpfsh_bench_dd_" });
const comm = `btbench${Deno.pid % 10000}`;
await Deno.copyFile("/bin/dd", `${dir}/${comm}`);
await Deno.chmod(`${dir}/${comm}`, 0o755);

/** Run the dd workload: `count` reads and writes of one byte; milliseconds taken. */
async function dd(count: number): Promise<number> {
  const t0 = performance.now();
  const out = await new Deno.Command(`${dir}/${comm}`, {
    args: ["if=/dev/zero", "of=/dev/null", "bs=1", `count=${count}`],
    stdout: "null",
    stderr: "null",
  }).output();
  if (!out.success) throw new Error("dd failed");
  return performance.now() - t0;
}

/** Start a tool on a program, wait until attached; returns the process and its line count. */
async function startTool(cmd: string, args: string[]) {
  const child = new Deno.Command(cmd, {
    args,
    env: { [NOTIFY]: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let lines = 0;
  let lost = 0;
  let attachedResolve!: () => void;
  const attached = new Promise<void>((r) => (attachedResolve = r));
  const errs = (async () => {
    let text = "";
    for await (const c of child.stderr.pipeThrough(new TextDecoderStream())) {
      text += c;
      if (text.includes(NOTIFY)) attachedResolve();
    }
    attachedResolve();
    return text;
  })();
  let tail = "";
  const outs = (async () => {
    for await (const c of child.stdout.pipeThrough(new TextDecoderStream())) {
      const text = tail + c;
      const parts = text.split("\n");
      tail = parts.pop()!;
      for (const l of parts) {
        const m = /^Lost (\d+) events/.exec(l);
        if (m) lost += Number(m[1]);
        else if (l.startsWith("w ")) lines++;
      }
    }
  })();
  await attached;
  return {
    get lines() {
      return lines;
    },
    get lost() {
      return lost;
    },
    async stop() {
      child.kill("SIGINT");
      await child.status;
      await Promise.all([errs, outs]);
    },
  };
}

const EVENTS = 300_000;
const printfProgram =
  `tracepoint:syscalls:sys_enter_write /comm == "${comm}"/ { printf("w %d %d\\n", pid, args->count); }`;
console.log(
  `\nprintf throughput: one line per write(2) of \`dd bs=1 count=${EVENTS}\` (median of 3):\n`,
);
console.log(
  "| Tool | lines/s over the workload | lines printed | lost |\n| --- | --- | --- | --- |",
);
for (const [name, cmd] of [["bpftrace", "bpftrace"], ["bpfsh", BPFSH]] as const) {
  const rates: number[] = [];
  let printed = 0;
  let lost = 0;
  for (let i = 0; i < 3; i++) {
    const tool = await startTool(cmd, ["-e", printfProgram]);
    const ms = await dd(EVENTS);
    // The tool may still be printing what the workload left in its buffers.
    let last = -1;
    while (tool.lines !== last) {
      last = tool.lines;
      await new Promise((r) => setTimeout(r, 200));
    }
    rates.push(tool.lines / (ms / 1000));
    printed = tool.lines;
    lost = tool.lost;
    await tool.stop();
  }
  console.log(`| ${name} | ${median(rates).toFixed(0)} | ${printed} | ${lost} |`);
}

const DD_COUNT = 200_000;
const overheadPrograms = [
  `tracepoint:syscalls:sys_enter_read /comm == "${comm}"/ { @[comm] = count(); }`,
  `tracepoint:syscalls:sys_enter_read /comm == "${comm}"/ { @bytes = hist(args->count); }`,
  `tracepoint:syscalls:sys_enter_read { @[comm, pid] = count(); }`,
];
console.log(
  `\nOverhead: \`dd bs=1 count=${DD_COUNT}\` (${DD_COUNT * 2} syscalls), median of ${RUNS}:\n`,
);
const base: number[] = [];
for (let i = 0; i < RUNS; i++) base.push(await dd(DD_COUNT));
console.log(`untraced: ${fmt(median(base))}\n`);
console.log("| One-liner | bpftrace | bpfsh |\n| --- | --- | --- |");
for (const p of overheadPrograms) {
  const cells: string[] = [];
  for (const cmd of ["bpftrace", BPFSH]) {
    const tool = await startTool(cmd, ["-e", p]);
    const xs: number[] = [];
    for (let i = 0; i < RUNS; i++) xs.push(await dd(DD_COUNT));
    await tool.stop();
    const m = median(xs);
    cells.push(`${fmt(m)} (${(m / median(base)).toFixed(2)}× untraced)`);
  }
  console.log(`| \`${p}\` | ${cells.join(" | ")} |`);
}
await Deno.remove(dir, { recursive: true });
