/**
 * The probe language against bpftrace, both measured in the same run (as root, from the
 * repository root; the workload is `build/bench/syscall_loop`, built by the set-up):
 *
 * - start-up: from spawning the command to its probes attached (both tools print
 *   `__BPFTRACE_NOTIFY_PROBES_ATTACHED` on stderr when that variable is set), to its first
 *   printf line and to its exit, for five one-liners that end by themselves. bpfsh runs
 *   four ways: cached (the second run of a one-liner: an untimed warm-up run first), with
 *   a new HOME (`HOME` and `XDG_CACHE_HOME` a new directory each run: an empty compile
 *   cache, as for any new one-liner; Deno's module cache is the set-up's `build/deno`),
 *   with no Deno cache either (`DENO_DIR` a new directory too: as in a clone whose set-up
 *   did not fill `build/deno`), and through its C back end with a new HOME
 *   (`BPFSH_PROBE_BACKEND=c`: clang compiles each new one-liner). The printf one-liner's event
 *   comes from this process opening `/dev/null` every 2 ms until the line arrives;
 * - printf throughput: one line per write(2) of the workload under a unique comm, printed
 *   to a pipe this process reads whole: lines per second from the workload's start to the
 *   last line, lines printed and lost;
 * - aggregation overhead: the workload's read(2) loop timed untraced and under
 *   `@[comm] = count()` and `@ = hist(args->count)` at `sys_enter_read`, by each tool (bpfsh with either back end), in
 *   alternating rounds: the process's CPU time per call (a tracepoint's program runs in the
 *   caller's context, so it is counted) and what each tool adds to it.
 *
 * Every figure is a median of several runs (`[runs]`, default 7, for the start-up; rounds
 * of three for the rest).
 *
 * ```sh
 * ./node_modules/.bin/deno run -A bench/probe_bench.ts [runs]
 * PROBE_BENCH_ONLY=startup ./node_modules/.bin/deno run -A bench/probe_bench.ts   # or throughput, overhead
 * ```
 *
 * @module
 */

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const BPFSH = `${ROOT}/bpfsh`;
const LOOP = `${ROOT}/build/bench/syscall_loop`;
const RUNS = Number(Deno.args[0] ?? 7);
const NOTIFY = "__BPFTRACE_NOTIFY_PROBES_ATTACHED";

function median(xs: number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
}

const ms = (x: number) => (Number.isNaN(x) ? "—" : `${x.toFixed(0)} ms`);
const times = (x: number, base: number) =>
  Number.isNaN(x) || Number.isNaN(base) ? "—" : `${(x / base).toFixed(2)}×`;
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

/** A running tool: its stdout read line by line, its stderr watched for the notice. */
class ToolRun {
  readonly t0 = performance.now();
  readonly child: Deno.ChildProcess;
  /** Milliseconds from spawn to the attach notice (NaN until then). */
  attached = NaN;
  /** Milliseconds from spawn to the first stdout line matching `marker`. */
  first = NaN;
  /** Milliseconds from spawn to the last matching line. */
  last = NaN;
  /** Matching lines so far. */
  lines = 0;
  /** Events the tool reported lost ("Lost N events"). */
  lost = 0;
  stderr = "";
  readonly done: Promise<{ ms: number; code: number }>;
  #attachedWaiters: (() => void)[] = [];

  constructor(cmd: string, args: string[], env: Record<string, string>, marker?: RegExp) {
    const child = new Deno.Command(cmd, {
      args,
      env: { [NOTIFY]: "1", ...env },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.child = child;
    const errs = (async () => {
      for await (const c of child.stderr.pipeThrough(new TextDecoderStream())) {
        this.stderr += c;
        if (Number.isNaN(this.attached) && this.stderr.includes(NOTIFY)) {
          this.attached = performance.now() - this.t0;
          for (const w of this.#attachedWaiters) w();
        }
      }
    })();
    const outs = (async () => {
      let tail = "";
      for await (const c of child.stdout.pipeThrough(new TextDecoderStream())) {
        const parts = (tail + c).split("\n");
        tail = parts.pop()!;
        const now = performance.now() - this.t0;
        for (const l of parts) {
          const lost = /^Lost (\d+) events/.exec(l);
          if (lost) this.lost += Number(lost[1]);
          else if (marker?.test(l)) {
            if (Number.isNaN(this.first)) this.first = now;
            this.last = now;
            this.lines++;
          }
        }
      }
    })();
    this.done = (async () => {
      const status = await child.status;
      const end = performance.now() - this.t0;
      await Promise.all([errs, outs]);
      for (const w of this.#attachedWaiters) w();
      return { ms: end, code: status.code };
    })();
  }

  /** Resolves once attached (or exited: then it throws with the tool's stderr). */
  async whenAttached(): Promise<void> {
    if (Number.isNaN(this.attached)) {
      await new Promise<void>((r) => this.#attachedWaiters.push(r));
    }
    if (Number.isNaN(this.attached)) throw new Error(`not attached: ${this.stderr.trim()}`);
  }

  /** SIGINT, then the exit. */
  async stop(): Promise<void> {
    try {
      this.child.kill("SIGINT");
    } catch {
      // Exited already.
    }
    await this.done;
  }
}

// --- start-up ---

interface OneLiner {
  name: string;
  text: string;
  /** Its printf lines. */
  marker?: RegExp;
  /** Its event needs this process to open files. */
  opens?: boolean;
}

const ONE_LINERS: OneLiner[] = [
  {
    name: "count by comm",
    text: "tracepoint:syscalls:sys_enter_openat { @[comm] = count(); } BEGIN { exit(); }",
  },
  {
    name: "hist of read sizes",
    text: "tracepoint:syscalls:sys_enter_read { @bytes = hist(args->count); } BEGIN { exit(); }",
  },
  {
    name: "printf",
    text:
      'tracepoint:syscalls:sys_enter_openat { printf("open %s %s\\n", comm, str(args->filename)); exit(); }',
    marker: /^open /,
    opens: true,
  },
  {
    name: "interval + exit",
    text: 'interval:ms:100 { printf("tick %d\\n", elapsed / 1000000); exit(); }',
    marker: /^tick /,
  },
  {
    name: "wildcard tracepoint",
    text: "tracepoint:syscalls:sys_enter_open* { @[probe] = count(); } BEGIN { exit(); }",
  },
];

interface Timing {
  attached: number;
  first: number;
  exited: number;
}

/** Run a one-liner to its end; the environment `env` adds to this one's. */
async function timeRun(cmd: string, p: OneLiner, env: Record<string, string> = {}) {
  const run = new ToolRun(cmd, ["-e", p.text], env, p.marker);
  let opening = true;
  const opener = p.opens
    ? (async () => {
      while (opening && Number.isNaN(run.first)) {
        Deno.openSync("/dev/null").close();
        await sleep(2);
      }
    })()
    : Promise.resolve();
  const killer = setTimeout(() => run.child.kill("SIGKILL"), 30_000);
  const { ms: exited, code } = await run.done;
  clearTimeout(killer);
  opening = false;
  await opener;
  if (code !== 0 || Number.isNaN(run.attached)) {
    throw new Error(`${cmd} -e '${p.text}' failed (${code}): ${run.stderr.trim()}`);
  }
  return { attached: run.attached, first: run.first, exited } satisfies Timing;
}

/** A new empty directory for one run's caches, removed after it. */
async function withTempDir<T>(prefix: string, f: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix });
  try {
    return await f(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

type Mode = "bpftrace" | "cached" | "new" | "fresh" | "c";
const MODES: Mode[] = ["bpftrace", "cached", "new", "fresh", "c"];
/** bpfsh's columns, in the tables' order. */
const BPFSH_MODES = ["cached", "new", "fresh", "c"] as const;

async function startup(): Promise<void> {
  const results = new Map<string, Record<Mode, Timing[]>>();
  for (const p of ONE_LINERS) {
    const r: Record<Mode, Timing[]> = { bpftrace: [], cached: [], new: [], fresh: [], c: [] };
    results.set(p.name, r);
    await timeRun(BPFSH, p); // the warm-up: "cached" is the second run of a one-liner
    for (let i = 0; i < RUNS; i++) {
      r.bpftrace.push(await timeRun("bpftrace", p));
      r.cached.push(await timeRun(BPFSH, p));
      // A new HOME's caches (named, so none set in this environment is used instead).
      const home = (dir: string) => ({
        HOME: dir,
        XDG_CACHE_HOME: `${dir}/.cache`,
        BPFSH_CACHE: `${dir}/.cache/bpfsh`,
      });
      r.new.push(await withTempDir("bpfsh_bench_home_", (dir) => timeRun(BPFSH, p, home(dir))));
      r.fresh.push(
        await withTempDir(
          "bpfsh_bench_home_",
          (dir) => timeRun(BPFSH, p, { ...home(dir), DENO_DIR: `${dir}/.cache/deno` }),
        ),
      );
      r.c.push(
        await withTempDir(
          "bpfsh_bench_home_",
          (dir) => timeRun(BPFSH, p, { ...home(dir), BPFSH_PROBE_BACKEND: "c" }),
        ),
      );
    }
  }
  const table = (title: string, pick: (t: Timing) => number, only?: (p: OneLiner) => boolean) => {
    console.log(`\n${title}\n`);
    console.log(
      "| One-liner | bpftrace | bpfsh cached | ratio | bpfsh, new HOME | ratio | " +
        "bpfsh, no Deno cache either | ratio | bpfsh's C back end, new HOME | ratio |\n" +
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    );
    for (const p of ONE_LINERS.filter(only ?? (() => true))) {
      const r = results.get(p.name)!;
      const m = Object.fromEntries(MODES.map((k) => [k, median(r[k].map(pick))])) as Record<
        Mode,
        number
      >;
      console.log(
        `| ${p.name}: \`${p.text.replaceAll("|", "\\|")}\` | ${ms(m.bpftrace)} | ` +
          BPFSH_MODES
            .map((k) => `${ms(m[k])} | ${times(m[k], m.bpftrace)}`)
            .join(" | ") +
          " |",
      );
    }
  };
  console.log(
    `Start-up: milliseconds from spawn, median of ${RUNS} runs (ratio: bpfsh / bpftrace). ` +
      "Goals: cached at most 100 ms to attached; the first run at most bpftrace's time.",
  );
  table("To probes attached:", (t) => t.attached);
  table("To the first printf line:", (t) => t.first, (p) => p.marker !== undefined);
  table("To the command's exit:", (t) => t.exited);
}

// --- the workload ---

const dir = await Deno.makeTempDir({ prefix: "bpfsh_bench_loop_" });
const comm = `pbench${Deno.pid % 100000}`;
await Deno.copyFile(LOOP, `${dir}/${comm}`);
await Deno.chmod(`${dir}/${comm}`, 0o755);

/** One run of the workload: [wall, CPU] nanoseconds per call, and the bench's own ms. */
async function loop(op: "read" | "write", count: number): Promise<[number, number, number]> {
  const t0 = performance.now();
  const out = await new Deno.Command(`${dir}/${comm}`, { args: [op, String(count)] }).output();
  const wall = performance.now() - t0;
  if (!out.success) throw new Error(`workload failed: ${new TextDecoder().decode(out.stderr)}`);
  const [perCall, cpu] = new TextDecoder().decode(out.stdout).trim().split(" ").map(Number);
  return [perCall, cpu, wall];
}

/** The tools compared: bpftrace, bpfsh (the direct back end) and bpfsh's C back end. */
const TOOLS: [string, string, Record<string, string>][] = [
  ["bpftrace", "bpftrace", {}],
  ["bpfsh", BPFSH, {}],
  ["bpfsh, C back end", BPFSH, { BPFSH_PROBE_BACKEND: "c" }],
];

async function startTool(
  cmd: string,
  program: string,
  marker?: RegExp,
  env: Record<string, string> = {},
): Promise<ToolRun> {
  const run = new ToolRun(cmd, ["-e", program], env, marker);
  await run.whenAttached();
  return run;
}

// --- printf throughput ---

async function throughput(): Promise<void> {
  const EVENTS = 300_000;
  const program = `tracepoint:syscalls:sys_enter_write /comm == "${comm}"/ ` +
    `{ printf("w %d %d\\n", pid, args->count); }`;
  console.log(
    `\nprintf throughput: \`${program}\` while the workload makes ${EVENTS} write(2)s of one ` +
      "byte to /dev/null, flat out; stdout is a pipe read whole. Median of 3 runs:\n",
  );
  console.log(
    "| Tool | lines/s printed | lines printed | lost (reported) | workload ns/write |\n" +
      "| --- | --- | --- | --- | --- |",
  );
  const rows: Record<string, { rate: number[]; lines: number[]; lost: number[]; ns: number[] }> =
    {};
  for (let i = 0; i < 3; i++) {
    for (const [name, cmd, env] of TOOLS) {
      const row = rows[name] ??= { rate: [], lines: [], lost: [], ns: [] };
      const tool = await startTool(cmd, program, /^w /, env);
      const start = performance.now() - tool.t0;
      const [perCall] = await loop("write", EVENTS);
      // Wait until the tool has printed what its buffers still held.
      let seen = -1;
      while (tool.lines !== seen) {
        seen = tool.lines;
        await sleep(300);
      }
      await tool.stop();
      row.rate.push(tool.lines / ((tool.last - start) / 1000));
      row.lines.push(tool.lines);
      row.lost.push(tool.lost);
      row.ns.push(perCall);
    }
  }
  for (const [name, r] of Object.entries(rows)) {
    console.log(
      `| ${name} | ${median(r.rate).toFixed(0)} | ${median(r.lines)} of ${EVENTS} | ${
        median(r.lost)
      } | ${median(r.ns).toFixed(0)} |`,
    );
  }
}

// --- aggregation overhead ---

async function overhead(): Promise<void> {
  const COUNT = 1_000_000;
  const ROUNDS = 3;
  const PER = 3;
  const programs = [
    "tracepoint:syscalls:sys_enter_read { @[comm] = count(); }",
    "tracepoint:syscalls:sys_enter_read { @ = hist(args->count); }",
  ];
  console.log(
    `\nAggregation overhead: the workload's ${COUNT} read(2)s of one byte from /dev/zero, ` +
      `CPU ns per call (wall ns in brackets), median of ${ROUNDS * PER} runs in ${ROUNDS} ` +
      "alternating rounds (untraced, bpftrace, bpfsh, bpfsh's C back end):\n",
  );
  console.log(
    "| One-liner | untraced | bpftrace | bpfsh | added by bpfsh / added by bpftrace | " +
      "bpfsh, C back end | added by it / added by bpftrace |\n" +
      "| --- | --- | --- | --- | --- | --- | --- |",
  );
  for (const program of programs) {
    const keys = ["untraced", ...TOOLS.map(([name]) => name)];
    const cpu: Record<string, number[]> = Object.fromEntries(keys.map((k) => [k, []]));
    const wall: Record<string, number[]> = Object.fromEntries(keys.map((k) => [k, []]));
    const runs = async (key: string) => {
      for (let i = 0; i < PER; i++) {
        const [w, c] = await loop("read", COUNT);
        cpu[key].push(c);
        wall[key].push(w);
      }
    };
    await loop("read", COUNT); // warm-up
    for (let round = 0; round < ROUNDS; round++) {
      await runs("untraced");
      for (const [name, cmd, env] of TOOLS) {
        const tool = await startTool(cmd, program, undefined, env);
        await runs(name);
        await tool.stop();
      }
    }
    const c = (k: string) => median(cpu[k]);
    const cell = (k: string) =>
      `${c(k).toFixed(0)} (${median(wall[k]).toFixed(0)})` +
      (k === "untraced" ? "" : `, ${times(c(k), c("untraced"))} untraced`);
    const added = (k: string) => times(c(k) - c("untraced"), c("bpftrace") - c("untraced"));
    console.log(
      `| \`${program}\` | ${cell("untraced")} | ${cell("bpftrace")} | ${cell("bpfsh")} | ${
        added("bpfsh")
      } | ${cell("bpfsh, C back end")} | ${added("bpfsh, C back end")} |`,
    );
  }
}

try {
  const only = Deno.env.get("PROBE_BENCH_ONLY");
  if (!only || only === "startup") await startup();
  if (!only || only === "throughput") await throughput();
  if (!only || only === "overhead") await overhead();
} finally {
  await Deno.remove(dir, { recursive: true });
}
