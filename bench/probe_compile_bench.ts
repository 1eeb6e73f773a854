/**
 * The probe compiler's share of a one-liner's start-up: from Deno's time origin to the spec,
 * in fresh processes (Deno's module and code cache warm: `DENO_DIR` as the launcher sets it),
 * through probe/pipeline.ts's `compileProbeAsync` (only the providers' support the program
 * needs) beside probe/compile.ts's `compileProbe` (every provider's support imported up
 * front: the BTF parser, the ELF reader, libbpf's bindings). Runs alternate between the two;
 * each figure is a median of `[runs]` (default 11), split into the import and the first
 * compile.
 *
 * ```sh
 * ./node_modules/.bin/deno run -A bench/probe_compile_bench.ts [runs]
 * ```
 *
 * @module
 */

import { median, ROOT } from "./stats.ts";

const ONE_LINERS = [
  "tracepoint:syscalls:sys_enter_openat { @[comm] = count(); } BEGIN { exit(); }",
  'interval:s:1 { printf("tick %d\\n", nsecs); exit(); }',
  'BEGIN { printf("hello\\n"); @n = 1; } END { printf("bye %d\\n", @n); }',
];

type Way = "pipeline" | "compile";

const LABEL: Record<Way, string> = {
  pipeline: "pipeline.ts compileProbeAsync",
  compile: "compile.ts compileProbe",
};

/** One fresh process's figures, in ms from Deno's time origin. */
interface Sample {
  imported: number;
  compiled: number;
}

if (Deno.args[0] === "--child") {
  const way = Deno.args[1] as Way;
  const text = Deno.args[2];
  const t0 = performance.now();
  if (way === "pipeline") {
    const { compileProbeAsync } = await import(`${ROOT}/probe/pipeline.ts`);
    const t1 = performance.now();
    await compileProbeAsync(text);
    report(t0, t1);
  } else {
    const { compileProbe } = await import(`${ROOT}/probe/compile.ts`);
    const t1 = performance.now();
    compileProbe(text);
    report(t0, t1);
  }
} else {
  await main(Number(Deno.args[0] ?? 11));
}

function report(t0: number, t1: number): void {
  const t2 = performance.now();
  console.log(JSON.stringify({ imported: t1 - t0, compiled: t2 - t1, total: t2 }));
}

async function sample(way: Way, text: string): Promise<Sample & { total: number }> {
  const env: Record<string, string> = {};
  if (!Deno.env.get("DENO_DIR")) env.DENO_DIR = `${ROOT}/build/deno`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", new URL(import.meta.url).pathname, "--child", way, text],
    env,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`the ${way} child failed`);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

async function main(runs: number): Promise<void> {
  const ms = (x: number) => `${x.toFixed(1)} ms`;
  for (const text of ONE_LINERS) {
    const got: Record<Way, { imported: number[]; compiled: number[]; total: number[] }> = {
      pipeline: { imported: [], compiled: [], total: [] },
      compile: { imported: [], compiled: [], total: [] },
    };
    // One untimed run of each first: a module changed since the last run is compiled again.
    await sample("pipeline", text);
    await sample("compile", text);
    for (let i = 0; i < runs; i++) {
      for (const way of ["pipeline", "compile"] as const) {
        const s = await sample(way, text);
        got[way].imported.push(s.imported);
        got[way].compiled.push(s.compiled);
        got[way].total.push(s.total);
      }
    }
    console.log(`\n${text}  (medians of ${runs})`);
    for (const way of ["pipeline", "compile"] as const) {
      const g = got[way];
      console.log(
        `  ${LABEL[way].padEnd(30)}` +
          `  import ${ms(median(g.imported))}  first compile ${ms(median(g.compiled))}` +
          `  spec at ${ms(median(g.total))}`,
      );
    }
    console.log(
      `  ratio (pipeline / compile.ts): ${
        (median(got.pipeline.total) / median(got.compile.total)).toFixed(2)
      }×`,
    );
  }
}
