/**
 * Build every BPF object and C benchmark baseline of the repository into `build/`:
 *
 * - `scripts/*.bpf.c` → `build/scripts/<name>.bpf.o`
 * - `tests/fixtures/*.bpf.c` → `build/tests/<name>.bpf.o` (except `broken*`)
 * - `bench/*.bpf.c` → `build/bench/<name>.bpf.o`
 * - `examples/*.bpf.c` → `build/examples/<name>.bpf.o` (the serve examples)
 * - `bench/*.c` (not `.bpf.c`) → `build/bench/<name>`, a host program linked with libbpf
 * - `tests/fixtures/*.c` (not `.bpf.c`) → `build/tests/<name>`, a host program built with
 *   debug info and frame pointers (the stack tests walk and name its frames)
 *
 * BPF objects go through the compile cache, so a re-run with nothing changed is instant.
 * Prints one line per file; exits with status 1 when any file fails, after trying all.
 *
 * @example
 * ```sh
 * deno run -A tools/build.ts                        # everything
 * deno run -A tools/build.ts scripts/execsnoop.bpf.c   # only the files named
 * ```
 *
 * @module
 */

import { BpfError } from "../ffi/errors.ts";
import { compile } from "../bpf/build/compile.ts";
import { findTool, runTool } from "../bpf/build/toolchain.ts";

/** The repository root, whatever the current directory. */
const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
/** How many files build at once (the machine has 2 cores). */
const JOBS = Math.max(1, Math.min(2, navigator.hardwareConcurrency || 2));

/** One file to build. */
interface Job {
  /** `bpf` goes through compile(); `host` through cc. */
  kind: "bpf" | "host";
  /** The source, relative to the root. */
  src: string;
  /** The output, relative to the root. */
  out: string;
  /** The C compiler's flags before the source (host programs). */
  cflags?: string[];
  /** Libraries after the source (host programs). */
  libs?: string[];
}

/** Host benchmarks: optimised, linked with libbpf. */
const BENCH_CFLAGS = ["-O2"];
const BENCH_LIBS = ["-lbpf", "-lelf", "-lz"];
/** Host test fixtures: debug info and frame pointers, so their stacks can be walked. */
const FIXTURE_CFLAGS = ["-O1", "-g", "-fno-omit-frame-pointer", "-fno-builtin"];

/** The sources of one directory with a suffix, sorted, skipping `broken*` files. */
function sources(dir: string, suffix: string): string[] {
  try {
    return [...Deno.readDirSync(`${ROOT}/${dir}`)]
      .filter((e) => e.isFile && e.name.endsWith(suffix) && !e.name.startsWith("broken"))
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

/** Everything there is to build. */
function allJobs(): Job[] {
  const jobs: Job[] = [];
  const bpf = (dir: string, outDir: string) => {
    for (const name of sources(dir, ".bpf.c")) {
      jobs.push({
        kind: "bpf",
        src: `${dir}/${name}`,
        out: `build/${outDir}/${name.replace(/\.c$/, ".o")}`,
      });
    }
  };
  bpf("scripts", "scripts");
  bpf("tests/fixtures", "tests");
  bpf("bench", "bench");
  bpf("examples", "examples");
  const host = (dir: string, outDir: string, cflags: string[], libs: string[]) => {
    for (const name of sources(dir, ".c")) {
      if (name.endsWith(".bpf.c")) continue;
      const out = `build/${outDir}/${name.slice(0, -2)}`;
      const own = extraCflags(`${ROOT}/${dir}/${name}`);
      jobs.push({ kind: "host", src: `${dir}/${name}`, out, cflags: [...cflags, ...own], libs });
    }
  };
  host("bench", "bench", BENCH_CFLAGS, BENCH_LIBS);
  host("tests/fixtures", "tests", FIXTURE_CFLAGS, []);
  return jobs;
}

/**
 * Flags a host source asks for in a `// cflags: ...` line among its first lines (the USDT
 * fixture is linked at a fixed address with `-no-pie`).
 */
function extraCflags(path: string): string[] {
  const head = Deno.readTextFileSync(path).split("\n", 8);
  const line = head.find((l) => l.startsWith("// cflags: "));
  return line ? line.slice("// cflags: ".length).trim().split(/\s+/) : [];
}

/** The modification time of a file in ms, or -1 when it does not exist. */
function mtime(path: string): number {
  try {
    return Deno.statSync(path).mtime?.getTime() ?? -1;
  } catch {
    return -1;
  }
}

/** Build a host C program, unless its output is newer than its source. */
async function buildHost(job: Job): Promise<string> {
  const src = `${ROOT}/${job.src}`;
  const out = `${ROOT}/${job.out}`;
  if (mtime(out) > mtime(src)) return "up to date";
  await Deno.mkdir(out.slice(0, out.lastIndexOf("/")), { recursive: true });
  const cc = await findTool("cc");
  const args = [...(job.cflags ?? []), "-o", out, src, ...(job.libs ?? [])];
  const res = await runTool("cc", cc, args, ROOT);
  if (res.code !== 0) {
    throw new BpfError({
      op: "compile",
      message: `cc failed for '${job.src}'`,
      log: res.stderr,
    });
  }
  return "built";
}

/** Build one file and print its line; returns whether it succeeded. */
async function run(job: Job): Promise<boolean> {
  const start = performance.now();
  try {
    let how: string;
    if (job.kind === "bpf") {
      const r = await compile(`${ROOT}/${job.src}`, { output: `${ROOT}/${job.out}` });
      how = r.cached ? "cached" : "compiled";
    } else {
      how = await buildHost(job);
    }
    const ms = Math.round(performance.now() - start);
    console.log(`ok    ${job.src} -> ${job.out} (${how}, ${ms} ms)`);
    return true;
  } catch (e) {
    console.log(`FAIL  ${job.src}`);
    const text = e instanceof BpfError ? e.message : String(e);
    console.log(text.replace(/^/gm, "      "));
    return false;
  }
}

/** Build the jobs on a small pool of workers; returns how many failed. */
async function buildAll(jobs: Job[]): Promise<number> {
  let next = 0;
  let failed = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++];
      if (!(await run(job))) failed++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(JOBS, jobs.length) }, worker));
  return failed;
}

if (import.meta.main) {
  let jobs = allJobs();
  if (Deno.args.length) {
    const wanted = new Set(Deno.args.map((a) => a.replace(/^\.\//, "")));
    const unknown = [...wanted].filter((w) => !jobs.some((j) => j.src === w));
    if (unknown.length) {
      console.error(`build: nothing builds from ${unknown.map((u) => `'${u}'`).join(", ")}`);
      Deno.exit(2);
    }
    jobs = jobs.filter((j) => wanted.has(j.src));
  }
  const start = performance.now();
  const failed = await buildAll(jobs);
  const ms = Math.round(performance.now() - start);
  console.log(`${jobs.length - failed}/${jobs.length} built in ${ms} ms`);
  if (failed) Deno.exit(1);
}
