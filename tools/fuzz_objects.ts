/**
 * The long fuzz run over corrupt BPF objects: mutated copies of the objects the set-up
 * builds go through open, read and load, each in a child process that may crash without
 * ending the run. Prints the counts and every crash, hang and non-BpfError failure.
 *
 * Usage: `deno run -A tools/fuzz_objects.ts [--count N] [--seed S] [--from I] [--no-load]
 * [--save DIR] [--json]` (defaults: 100000 inputs, seed 1, load when root). Runs niced.
 *
 * @module
 */

import { fuzz } from "./fuzz/driver.ts";

function flag(name: string, fallback: string): string {
  const i = Deno.args.indexOf(name);
  return i >= 0 && i + 1 < Deno.args.length ? Deno.args[i + 1] : fallback;
}

if (import.meta.main) {
  const report = await fuzz({
    seed: Number(flag("--seed", "1")),
    count: Number(flag("--count", "100000")),
    from: Number(flag("--from", "0")),
    load: Deno.uid() === 0 && !Deno.args.includes("--no-load"),
    nice: Number(flag("--nice", "15")),
    saveDir: Deno.args.includes("--save") ? flag("--save", "build/fuzz") : undefined,
    progress: (line) => console.error(line),
  });
  if (Deno.args.includes("--json")) {
    console.log(JSON.stringify(report));
  } else {
    console.log(
      `${report.inputs} inputs in ${report.seconds.toFixed(0)} s: ` +
        Object.entries(report.outcomes).map(([k, v]) => `${v} ${k}`).join(", "),
    );
    for (const f of [...report.crashes, ...report.hangs, ...report.raw]) {
      console.log(`  input ${f.index} (${f.strategy}, ${f.seed}): ${f.what}`);
    }
  }
  Deno.exit(report.crashes.length || report.hangs.length || report.raw.length ? 1 : 0);
}
