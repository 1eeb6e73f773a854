/**
 * What checking an object costs on open, beside libbpf's own parse of it: each run is a
 * fresh process (start-up is where it counts: the code runs once, mostly before V8 has
 * compiled it), timing `checkObject()` and then `bpf_object__open_mem` + close of the same
 * bytes, libbpf already loaded. Also the cost once warm, and the fuzz harness's rate.
 *
 * ```sh
 * ./node_modules/.bin/deno run -A bench/open_bench.ts [runs]
 * ```
 *
 * @module
 */

import { checkObject } from "../bpf/elf/validate.ts";
import { libbpf } from "../ffi/libbpf.ts";
import { median, ROOT } from "./stats.ts";

const RUNS = Number(Deno.args[0] ?? 15);
/** Objects of the sizes users load: a small tool, a CO-RE tool with many types, the biggest. */
const OBJECTS = [
  "build/scripts/opensnoop.bpf.o",
  "build/scripts/execsnoop.bpf.o",
  "build/tests/fuzz_seed.bpf.o",
];

/** One measurement in this process: [check ms, libbpf open ms], cold, then warm. */
function measure(path: string): { cold: [number, number]; warm: [number, number] } {
  const bytes = Deno.readFileSync(path);
  const sym = libbpf(); // dlopen outside the timing
  const once = (): [number, number] => {
    const t0 = performance.now();
    checkObject(bytes, "bench");
    const t1 = performance.now();
    const copy = Uint8Array.from(bytes);
    const obj = sym.bpf_object__open_mem(copy, BigInt(copy.length), null);
    if (!obj) throw new Error(`libbpf could not open ${path}`);
    sym.bpf_object__close(obj);
    return [t1 - t0, performance.now() - t1];
  };
  const cold = once();
  for (let i = 0; i < 50; i++) once();
  return { cold, warm: once() };
}

if (Deno.args[0] === "--child") {
  console.log(JSON.stringify(measure(Deno.args[1])));
} else {
  console.log(
    "object                          bytes   check cold  libbpf open cold  check warm  open warm",
  );
  for (const rel of OBJECTS) {
    const rows: { cold: [number, number]; warm: [number, number] }[] = [];
    for (let i = 0; i < RUNS; i++) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--quiet", import.meta.filename!, "--child", `${ROOT}/${rel}`],
        stdout: "piped",
      }).output();
      rows.push(JSON.parse(new TextDecoder().decode(out.stdout)));
    }
    const ms = (xs: number[]) => `${median(xs).toFixed(2)} ms`;
    console.log(
      `${rel.replace(/^build\//, "").padEnd(30)} ${
        String(Deno.statSync(`${ROOT}/${rel}`).size).padStart(6)
      }` +
        `  ${ms(rows.map((r) => r.cold[0])).padStart(10)}  ${
          ms(rows.map((r) => r.cold[1])).padStart(16)
        }` +
        `  ${ms(rows.map((r) => r.warm[0])).padStart(10)}  ${
          ms(rows.map((r) => r.warm[1])).padStart(9)
        }`,
    );
  }
  console.log(`(medians of ${RUNS} fresh processes; warm: after 50 opens in the same process)`);
}
