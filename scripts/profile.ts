/**
 * profile: sample the kernel and user stacks of whatever runs, N times a second on every
 * CPU, and print the stacks seen most, symbolized, like bcc's profile. `--folded` prints
 * flame-graph input and `--pprof FILE` writes a profile for `go tool pprof`.
 *
 * ```
 * bpfsh run scripts/profile.ts -F 99 -d 5 --comm chain --folded
 * bpfsh run scripts/profile.ts --pid 1234 --pprof cpu.pb.gz -d 10
 * ```
 *
 * @module
 */

import { runTool } from "./lib/run.ts";
import type { ToolSpec } from "./lib/cli.ts";
import { applyFilters, describeFilters, filtersOf } from "./lib/filters.ts";
import { openBeside } from "./lib/events.ts";
import { applyStackArgs, STACK_OPTIONS, stackArgsOf, traceAndReport } from "./lib/stacks.ts";
import { Symbolizer } from "../bpf/stack/symbolizer.ts";

const SPEC: ToolSpec = {
  name: "profile",
  summary: "Sample kernel and user stacks on every CPU at a fixed rate, symbolized.",
  filters: ["pid", "comm"],
  options: {
    frequency: {
      type: "string",
      short: "F",
      arg: "HZ",
      help: "samples per second on each CPU (default 99)",
    },
    "include-idle": { type: "boolean", short: "I", help: "count the idle task's stacks too" },
    ...STACK_OPTIONS,
  },
  examples: [
    ["-d 5", "every process, 5 seconds"],
    ["-F 999 --pid 181 -d 10", "one process, faster"],
    ["--comm chain --folded -d 5 > out.folded", "flame-graph input"],
    ["--pprof cpu.pb.gz -d 30", "a pprof profile"],
  ],
};

await runTool(SPEC, async (args, stop) => {
  const filters = filtersOf(args);
  const opts = stackArgsOf(args);
  const hz = args.int("frequency", 1, 100000) ?? 99;
  using sym = new Symbolizer({ debugDirs: opts.debugDirs });
  using obj = await openBeside(import.meta.url, "profile.bpf.c");
  applyFilters(obj, filters);
  applyStackArgs(obj, opts);
  obj.globals.include_idle = args.flag("include-idle");
  obj.load();
  obj.attachAll(); // the stack_pids notifications
  obj.program("on_sample").attach(`cpu-clock:${hz}hz`);
  await traceAndReport(obj, sym, stop, opts, {
    tool: SPEC.name,
    message: `Sampling stacks at ${hz} Hz on every CPU${
      describeFilters(filters)
    }... Hit Ctrl-C to end.`,
    print: { valueName: "samples" },
    pprof: { type: "samples", unit: "count", periodNanos: 1e9 / hz },
  });
});
