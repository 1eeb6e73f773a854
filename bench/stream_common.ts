/**
 * What the ring and perf buffer benchmarks share: building the producer objects and C
 * baselines, running each reader in its own process (so each has its own JIT state and
 * peak RSS), a producer thread for the live cases, medians and the result table.
 *
 * @module
 */

/** The repository root. */
export const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const DENO = `${ROOT}/node_modules/.bin/deno`;

/** One measured run, as the C baselines and the child readers print it (JSON lines). */
export interface Run {
  reader: string;
  mode: string;
  size: number;
  events: number;
  seconds: number;
  dropped?: number;
  lost?: number;
  maxrss_kb: number;
}

/**
 * Build `bench/<name>.bpf.c` and `bench/<name>.c` into build/bench unless up to date.
 *
 * @param name The benchmark, e.g. `"ringbuf_bench"`.
 * @returns The paths of the BPF object and the C binary.
 */
export function ensureBuilt(name: string): { object: string; binary: string } {
  const object = `${ROOT}/build/bench/${name}.bpf.o`;
  const binary = `${ROOT}/build/bench/${name}`;
  const mtime = (p: string) => {
    try {
      return Deno.statSync(p).mtime?.getTime() ?? -1;
    } catch {
      return -1;
    }
  };
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
  return { object, binary };
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
 * @returns The runs it printed.
 */
export function runC(binary: string, args: (string | number)[]): Run[] {
  const out = new Deno.Command(binary, { args: args.map(String) }).outputSync();
  if (!out.success) throw new Error(`${binary} failed: ${new TextDecoder().decode(out.stderr)}`);
  return parseRuns(out.stdout);
}

/**
 * Run this benchmark's reader side in a child Deno process.
 *
 * @param script The benchmark module (its `--child` mode).
 * @param args The child's arguments.
 * @returns The runs it printed.
 */
export function runChild(script: string, args: (string | number)[]): Run[] {
  const out = new Deno.Command(DENO, {
    args: [
      "run",
      "-A",
      "--v8-flags=--max-old-space-size=256",
      script,
      "--child",
      ...args.map(String),
    ],
  }).outputSync();
  if (!out.success) {
    throw new Error(`child ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return parseRuns(out.stdout);
}

/**
 * The median of some numbers.
 *
 * @param xs The numbers.
 * @returns The middle one (the upper middle for an even count).
 */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
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

/** The worker that runs the producer program on its own thread (live cases). */
const PRODUCER_SOURCE = `
const lib = Deno.dlopen("libbpf.so.1", {
  bpf_prog_test_run_opts: { parameters: ["i32", "buffer"], result: "i32" },
});
self.onmessage = (e) => {
  const { fd, count, chunk, flags } = e.data;
  const args = new BigUint64Array(2);
  const opts = new Uint8Array(80);
  const v = new DataView(opts.buffer);
  v.setBigUint64(0, 80n, true);
  v.setBigUint64(32, BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(args))), true);
  v.setUint32(48, 16, true);
  for (let left = count; left > 0;) {
    const n = Math.min(left, chunk);
    args[0] = BigInt(n);
    args[1] = BigInt(flags);
    const ret = lib.symbols.bpf_prog_test_run_opts(fd, opts);
    if (ret !== 0) { self.postMessage({ error: ret }); return; }
    left -= n;
  }
  self.postMessage({ done: true });
};
self.postMessage({ ready: true });
`;

/** A producer thread: runs a raw_tp program with BPF_PROG_TEST_RUN in chunks. */
export interface Producer {
  /** Start producing `count` records; resolves when all were written. */
  run(count: number): Promise<void>;
  /** End the thread. */
  stop(): void;
}

/**
 * Start a producer thread for a loaded program (fds are shared by the process's threads).
 *
 * @param progFd The raw_tp program's fd.
 * @param chunk Records per BPF_PROG_TEST_RUN call (bpf_loop's limit is 8M).
 * @param flags The second u64 of the program's context.
 * @returns The producer, once its thread is ready.
 */
export async function startProducer(
  progFd: number,
  chunk: number,
  flags: number,
): Promise<Producer> {
  const url = URL.createObjectURL(new Blob([PRODUCER_SOURCE], { type: "text/javascript" }));
  const worker = new Worker(url, { type: "module" });
  let onMessage: (data: { ready?: boolean; done?: boolean; error?: number }) => void = () => {};
  worker.onmessage = (e) => onMessage(e.data);
  await new Promise<void>((resolve) => onMessage = () => resolve());
  return {
    run(count: number) {
      return new Promise((resolve, reject) => {
        onMessage = (d) => d.done ? resolve() : reject(new Error(`test run failed: ${d.error}`));
        worker.postMessage({ fd: progFd, count, chunk, flags });
      });
    },
    stop() {
      worker.terminate();
      URL.revokeObjectURL(url);
    },
  };
}

/** One row of the result table. */
export interface Row {
  /** Who read. */
  reader: string;
  /** Rates by column name, in events/s (undefined: not measured). */
  rates: Record<string, number | undefined>;
  /** Peak RSS in MiB over its runs. */
  rssMb: number;
  /** Records the producer could not write (ring full), summed over the runs. */
  dropped?: number;
  /** Samples the kernel reported lost (perf), summed over the runs. */
  lost?: number;
}

/**
 * Summarise runs: the median rate and the peak RSS.
 *
 * @param runs The runs of one reader and case.
 * @returns Events/s, MiB, drops.
 */
export function summarise(
  runs: Run[],
): { rate: number; rssMb: number; dropped: number; lost: number } {
  return {
    rate: median(runs.map((r) => r.events / r.seconds)),
    rssMb: Math.max(...runs.map((r) => r.maxrss_kb)) / 1024,
    dropped: runs.reduce((a, r) => a + (r.dropped ?? 0), 0),
    lost: runs.reduce((a, r) => a + (r.lost ?? 0), 0),
  };
}

/**
 * Print the table: one column per case, rates in M/s with the ratio to the C row.
 *
 * @param title The heading.
 * @param columns The case names, in order.
 * @param rows The readers; the first is the C baseline.
 */
export function printTable(title: string, columns: string[], rows: Row[]): void {
  const base = rows[0];
  const cell = (row: Row, col: string) => {
    const r = row.rates[col];
    if (r === undefined) return "—";
    const m = `${(r / 1e6).toFixed(r < 1e6 ? 3 : 1)} M/s`;
    const b = base.rates[col];
    return row === base || !b ? m : `${m} (${(r / b).toFixed(2)}×)`;
  };
  console.log(`\n${title}\n`);
  console.log(`| reader | ${columns.join(" | ")} | peak RSS | dropped / lost |`);
  console.log(`| --- | ${columns.map(() => "---").join(" | ")} | --- | --- |`);
  for (const row of rows) {
    const losses = `${row.dropped ?? 0} / ${row.lost ?? 0}`;
    console.log(
      `| ${row.reader} | ${columns.map((c) => cell(row, c)).join(" | ")} | ${
        row.rssMb.toFixed(0)
      } MB | ${losses} |`,
    );
  }
}
