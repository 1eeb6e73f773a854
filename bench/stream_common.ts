/**
 * What the ring and perf buffer benchmarks share: building the producer objects and C
 * baselines, running each reader in its own process (so each has its own JIT state and
 * peak RSS), pinned to one CPU for the drained cases, a producer process for bpfsh's live
 * cases, the child's timed runs and its live and `for await` readers, medians and the
 * result table.
 *
 * @module
 */

import type { BpfMap, Program } from "../mod.ts";
import { median, ROOT } from "./stats.ts";

const DENO = `${ROOT}/node_modules/.bin/deno`;

/** The command line of a benchmark's child reader (parseArgs options; see runChild). */
export const CHILD_OPTIONS = {
  child: { type: "boolean" },
  kind: { type: "string" },
  mode: { type: "string" },
  reader: { type: "string" },
  count: { type: "string" },
  runs: { type: "string", default: "3" },
  object: { type: "string" },
  binary: { type: "string" },
} as const;

/** One measured run, as the C baselines and the child readers print it (JSON lines). */
export interface Run {
  reader: string;
  mode: string;
  /** The record kind: `"16"` or `"exec"`. */
  size: number | string;
  events: number;
  seconds: number;
  dropped?: number;
  lost?: number;
  maxrss_kb: number;
}

/** Why the Go rows are missing, when they are. */
export const GO_MISSING =
  "Go baseline not built: apt-get install golang-go golang-github-cilium-ebpf-dev";
/** Where Debian's golang-github-cilium-ebpf-dev puts cilium/ebpf (GOPATH layout). */
const DEBIAN_GOPATH = "/usr/share/gocode";

/** A file's modification time in ms, or -1 when it does not exist. */
function mtime(p: string): number {
  try {
    return Deno.statSync(p).mtime?.getTime() ?? -1;
  } catch {
    return -1;
  }
}

/**
 * Build `bench/<name>.bpf.c` and `bench/<name>.c` into build/bench unless up to date, and
 * `bench/<name>.go` when it exists and Go and cilium/ebpf are installed (Debian's
 * golang-go and golang-github-cilium-ebpf-dev: GOPATH mode, nothing downloaded).
 *
 * @param name The benchmark, e.g. `"ringbuf_bench"`.
 * @returns The paths of the BPF object, the C binary and the Go binary (if built).
 */
export function ensureBuilt(
  name: string,
): { object: string; binary: string; goBinary?: string } {
  const object = `${ROOT}/build/bench/${name}.bpf.o`;
  const binary = `${ROOT}/build/bench/${name}`;
  const stale = mtime(object) < mtime(`${ROOT}/bench/${name}.bpf.c`) ||
    mtime(binary) < mtime(`${ROOT}/bench/${name}.c`);
  if (stale) {
    const out = new Deno.Command(DENO, {
      args: ["run", "-A", `${ROOT}/tools/build.ts`, `bench/${name}.bpf.c`, `bench/${name}.c`],
      cwd: ROOT,
    }).outputSync();
    if (!out.success) {
      throw new Error(`building ${name} failed:\n${new TextDecoder().decode(out.stdout)}`);
    }
  }
  return { object, binary, goBinary: buildGo(name) };
}

/** Build `bench/<name>.go` into build/bench/<name>_go; undefined when Go is missing. */
function buildGo(name: string): string | undefined {
  const src = `${ROOT}/bench/${name}.go`;
  const out = `${ROOT}/build/bench/${name}_go`;
  if (mtime(src) < 0 || mtime(`${DEBIAN_GOPATH}/src/github.com/cilium/ebpf`) < 0) return undefined;
  if (mtime(out) >= mtime(src)) return out;
  let res: Deno.CommandOutput;
  try {
    res = new Deno.Command("go", {
      args: ["build", "-o", out, src],
      cwd: `${ROOT}/bench`,
      env: {
        GO111MODULE: "off",
        GOPATH: `${ROOT}/build/bench/go:${DEBIAN_GOPATH}`,
        GOCACHE: `${ROOT}/build/bench/go/cache`,
      },
    }).outputSync();
  } catch {
    return undefined; // no go on PATH
  }
  if (!res.success) {
    throw new Error(`go build ${src} failed:\n${new TextDecoder().decode(res.stderr)}`);
  }
  return out;
}

function parseRuns(stdout: Uint8Array): Run[] {
  return new TextDecoder().decode(stdout).split("\n").filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Run);
}

/**
 * Run a C baseline binary.
 *
 * @param binary The program.
 * @param args Its arguments.
 * @param pin Pin it to one CPU (drained cases: see {@link pinned}).
 * @returns The runs it printed.
 */
export function runC(binary: string, args: (string | number)[], pin = false): Run[] {
  const [cmd, argv] = pinned(binary, args.map(String), pin);
  const out = new Deno.Command(cmd, { args: argv }).outputSync();
  if (!out.success) throw new Error(`${binary} failed: ${new TextDecoder().decode(out.stderr)}`);
  return parseRuns(out.stdout);
}

/**
 * Run this benchmark's reader side in a child process, as a user runs a script:
 * `bpfsh run SCRIPT` (the launcher's V8 settings, the core's bundle).
 *
 * @param script The benchmark module (its `--child` mode).
 * @param args The child's arguments.
 * @param pin Pin it to one CPU (drained cases: see {@link pinned}).
 * @returns The runs it printed.
 */
export function runChild(script: string, args: (string | number)[], pin = false): Run[] {
  const [cmd, argv] = pinned(`${ROOT}/bpfsh`, [
    "run",
    script,
    "--child",
    ...args.map(String),
  ], pin);
  const out = new Deno.Command(cmd, { args: argv }).outputSync();
  if (!out.success) {
    throw new Error(`child ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return parseRuns(out.stdout);
}

/**
 * Command-line flags from named values: `{ kind: "16", runs: 6 }` →
 * `["--kind", "16", "--runs", 6]`.
 *
 * @param values The flags' values.
 * @returns The arguments.
 */
export function flags(values: Record<string, string | number>): (string | number)[] {
  return Object.entries(values).flatMap(([k, v]) => [`--${k}`, v]);
}

/**
 * This process's peak resident set size.
 *
 * @returns VmHWM in KiB.
 */
export function peakRssKb(): number {
  const m = /VmHWM:\s+(\d+)/.exec(Deno.readTextFileSync("/proc/self/status"));
  return m ? Number(m[1]) : 0;
}

/**
 * Run the producer of a live case in a process of its own: the C baseline binary's
 * `produce` mode, which takes the program fd from this process with pidfd_getfd and runs
 * it with BPF_PROG_TEST_RUN in chunks. (A Worker thread would put a second V8 isolate,
 * megabytes of it (bench/NOTES.md), into the reader's RSS; the C reader's producer is a
 * pthread.)
 *
 * @param binary The C baseline binary.
 * @param progFd The producer program's fd in this process.
 * @param args What follows: the count, and for the ring buffer the submit flags.
 * @returns When the producer has written everything.
 */
export async function runProducer(
  binary: string,
  progFd: number,
  args: (string | number)[],
): Promise<void> {
  const out = await new Deno.Command(binary, {
    args: ["produce", Deno.pid, progFd, ...args].map(String),
    stdout: "null",
  }).output();
  if (!out.success) {
    throw new Error(`producer failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** Whether `taskset` can pin a process to one CPU (util-linux). */
const HAS_TASKSET = (() => {
  try {
    return new Deno.Command("taskset", { args: ["-c", "0", "true"] }).outputSync().success;
  } catch {
    return false;
  }
})();

/**
 * The command line of a drained case: pinned to CPU 0 when taskset is there. A drain
 * reads, on one thread, what the producer just wrote on that same thread: unpinned, the
 * thread may move to the other CPU in between and read the 16 MiB from afar, which made
 * the same reader's rate swing from one process to the next (bench/NOTES.md). Pinned, both
 * C and bpfsh read from the cache the producer wrote into.
 *
 * @param cmd The program.
 * @param args Its arguments.
 * @param pin Whether to pin.
 * @returns The program and arguments to run.
 */
export function pinned(cmd: string, args: string[], pin: boolean): [string, string[]] {
  return pin && HAS_TASKSET ? ["taskset", ["-c", "0", cmd, ...args]] : [cmd, args];
}

/** One row of the result table. */
export interface Row {
  /** Who read. */
  reader: string;
  /** Rates by column name, in events/s (undefined: not measured). */
  rates: Record<string, number | undefined>;
  /** Events lost in the timed runs, by column name. */
  losses: Record<string, number>;
  /** Peak RSS in MiB over its runs. */
  rssMb: number;
  /** Events lost in the warm-up runs (not timed), over all columns. */
  warmupLosses: number;
}

/**
 * Summarise runs: the median rate and the peak RSS. The first run is a warm-up (the JIT
 * compiles the reader during it, in every language's run alike): it counts for RSS but
 * not for the rate, and its losses are reported apart. A lost event is one the producer
 * could not write (ring full: `dropped`) or, for perf buffers, one the kernel reported
 * lost (`lost`): the same samples seen from both sides, so the larger count is taken.
 *
 * @param runs The runs of one reader and case, the warm-up first.
 * @returns Events/s, MiB, losses of the timed runs, losses of the warm-up.
 */
export function summarise(
  runs: Run[],
): { rate: number; rssMb: number; losses: number; warmupLosses: number } {
  const [warm, ...timed] = runs;
  const losses = (r: Run) => Math.max(r.dropped ?? 0, r.lost ?? 0);
  return {
    rate: median(timed.map((r) => r.events / r.seconds)),
    rssMb: Math.max(...runs.map((r) => r.maxrss_kb)) / 1024,
    losses: timed.reduce((a, r) => a + losses(r), 0),
    warmupLosses: warm ? losses(warm) : 0,
  };
}

/**
 * Add one case's runs to a row.
 *
 * @param row The reader's row.
 * @param column The case's column.
 * @param runs Its runs, the warm-up first.
 */
export function addCase(row: Row, column: string, runs: Run[]): void {
  addRounds(row, column, [runs]);
}

/**
 * Add one case's runs from several processes (rounds) to a row: each process's first run
 * is its warm-up; the rate is the median over every timed run of every round.
 *
 * @param row The reader's row.
 * @param column The case's column.
 * @param rounds The runs of each process, the warm-up first in each.
 */
export function addRounds(row: Row, column: string, rounds: Run[][]): void {
  const merged = [rounds[0][0], ...rounds.flatMap((r) => r.slice(1))];
  const s = summarise(merged);
  const warmup = rounds.slice(1).reduce((a, r) => a + summarise([r[0]]).warmupLosses, 0);
  row.rates[column] = s.rate;
  row.losses[column] = s.losses;
  row.rssMb = Math.max(row.rssMb, ...rounds.map((r) => summarise(r).rssMb));
  row.warmupLosses += s.warmupLosses + warmup;
  console.error(`${row.reader}, ${column}: ${(s.rate / 1e6).toFixed(2)} M/s, ${s.losses} lost`);
}

/**
 * Print the table: one column per case, rates in M/s with the ratio to the C row and the
 * events lost in the timed runs, if any.
 *
 * @param title The heading.
 * @param columns The case names, in order.
 * @param rows The readers; the first is the C baseline.
 * @param lossOnly Columns that show only the events lost (paced cases: the producer sets
 *   the rate).
 */
export function printTable(
  title: string,
  columns: string[],
  rows: Row[],
  lossOnly: string[] = [],
): void {
  const base = rows[0];
  const cell = (row: Row, col: string) => {
    const r = row.rates[col];
    if (r === undefined) return "—";
    if (lossOnly.includes(col)) return `${row.losses[col] ?? 0} lost`;
    const m = `${(r / 1e6).toFixed(r < 1e6 ? 3 : 1)} M/s`;
    const b = base.rates[col];
    const rate = row === base || !b ? m : `${m} (${(r / b).toFixed(2)}×)`;
    const lost = row.losses[col] ?? 0;
    return lost ? `${rate}, ${lost} lost` : rate;
  };
  console.log(`\n${title}\n`);
  console.log(`| reader | ${columns.join(" | ")} | peak RSS | lost in warm-up |`);
  console.log(`| --- | ${columns.map(() => "---").join(" | ")} | --- | --- |`);
  for (const row of rows) {
    console.log(
      `| ${row.reader} | ${columns.map((c) => cell(row, c)).join(" | ")} | ${
        row.rssMb.toFixed(0)
      } MB | ${row.warmupLosses} |`,
    );
  }
}

/**
 * What a live reader knows of the producer (how many it sent, once it is done) and when
 * it last read: a run is timed to its last record read, not to when the loop notices
 * that the producer is done (up to a poll timeout later), as in the C baselines.
 */
export interface LiveState {
  sent: number;
  read: number;
  last: number;
  stop: AbortController;
}

/** The part of a RingBuffer or PerfBuffer the live and `for await` readers use. */
export interface BenchStream<E> extends AsyncIterable<E> {
  poll(timeoutMs: number, cb: (ev: E) => void): Promise<number>;
  events(opts: { signal: AbortSignal }): AsyncIterable<E>;
}

/**
 * Read `count` events of a filled buffer with `for await`. A function of its own, like
 * each drained reader (not a branch of one big async function), so its loop is compiled
 * on its own and its counters live in registers, not in a closure context.
 *
 * @param stream The reader.
 * @param use The consumer of each event.
 * @param count How many events the fill wrote.
 * @returns The events read.
 */
export async function forAwaitDrain(
  // deno-lint-ignore no-explicit-any
  stream: BenchStream<any>,
  // deno-lint-ignore no-explicit-any
  use: (ev: any) => void,
  count: number,
): Promise<number> {
  let events = 0;
  for await (const e of stream) {
    use(e);
    if (++events >= count) break;
  }
  return events;
}

/** Each live reader: read until every record sent is read. */
export const LIVE_READERS: Record<
  string,
  // deno-lint-ignore no-explicit-any
  (stream: BenchStream<any>, use: (ev: any) => void, st: LiveState) => Promise<void>
> = {
  poll: async (stream, use, st) => {
    while (st.read < st.sent) {
      const n = await stream.poll(100, use);
      if (n > 0) {
        st.read += n;
        st.last = performance.now();
      }
    }
  },
  forawait: async (stream, use, st) => {
    for await (const e of stream.events({ signal: st.stop.signal })) {
      use(e);
      // The clock every 64 events (it costs more than reading one): when the loop ends by
      // an abort, the last read is at most 63 events after the last tick.
      if ((++st.read & 63) === 0) st.last = performance.now();
      if (st.read >= st.sent) {
        st.last = performance.now();
        break;
      }
    }
  },
};

/** One reader's case in a child process, for {@link childRuns}. */
export interface ChildCase {
  reader: string;
  mode: string;
  kind: string;
  runs: number;
  /** The producer's `counts` map: [0] records sent, [1] records dropped. */
  counts: BpfMap;
  /** The producer program. */
  prog: Program;
  /** The test-run context of one fill (drained cases). */
  fillCtx: Uint8Array;
  /** Read a filled buffer. */
  drain(): number | Promise<number>;
  /** Run the live producer in a process of its own (see {@link runProducer}). */
  produce(): Promise<void>;
  /** Read live until `st.sent` records are read. */
  live(st: LiveState): Promise<void>;
  /** The samples the kernel reported lost so far (perf buffers). */
  lost?(): number;
}

/**
 * The reader side of a benchmark, in a child process: each run fills and drains the
 * buffer 8 times (drained) or reads what a producer process writes (live), and prints one
 * JSON line.
 *
 * @param c The case.
 */
export async function childRuns(c: ChildCase): Promise<void> {
  const key = (k: number) => new Uint8Array(new Uint32Array([k]).buffer);
  const counter = (k: number) =>
    Number(new BigUint64Array(c.counts.getBytes(key(k))!.slice().buffer)[0]);
  let lostBefore = c.lost?.() ?? 0;
  for (let r = 0; r < c.runs; r++) {
    for (const k of [0, 1]) c.counts.set(key(k), new Uint8Array(8));
    let events = 0;
    let seconds = 0;
    if (c.mode === "drain") {
      for (let i = 0; i < 8; i++) {
        c.prog.testRun({ ctx: c.fillCtx, repeat: 0 });
        const t0 = performance.now();
        events += await c.drain();
        seconds += (performance.now() - t0) / 1000;
      }
    } else {
      const t0 = performance.now();
      const st: LiveState = { sent: Infinity, read: 0, last: t0, stop: new AbortController() };
      const produced = c.produce().then(() => {
        st.sent = counter(0);
        if (st.read >= st.sent) st.stop.abort();
      });
      await c.live(st);
      await produced;
      events = st.read;
      seconds = (st.last - t0) / 1000;
    }
    const run: Run = {
      reader: c.reader,
      mode: c.mode,
      size: c.kind,
      events,
      seconds,
      dropped: counter(1),
      maxrss_kb: peakRssKb(),
    };
    if (c.lost) {
      const lost = c.lost();
      run.lost = lost - lostBefore;
      lostBefore = lost;
    }
    console.log(JSON.stringify(run));
  }
}
