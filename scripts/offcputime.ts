/**
 * offcputime: the time tasks spend blocked (off CPU), summed per kernel and user stack and
 * symbolized, like bcc's offcputime. Measured at sched_switch: from the moment a task
 * leaves the CPU to the moment it is switched back in.
 *
 * ```
 * bpfsh run scripts/offcputime.ts --pid 1234 -d 5
 * bpfsh run scripts/offcputime.ts --comm sleep --folded -d 5 > offcpu.folded
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
  name: "offcputime",
  summary: "Sum the time tasks spend blocked, per kernel and user stack, symbolized.",
  filters: ["pid", "comm"],
  options: {
    "min-block-us": {
      type: "string",
      short: "m",
      arg: "US",
      help: "ignore blocks shorter than US microseconds (default 1)",
    },
    "max-block-us": {
      type: "string",
      short: "M",
      arg: "US",
      help: "ignore blocks longer than US microseconds (default: no limit)",
    },
    ...STACK_OPTIONS,
  },
  examples: [
    ["-d 5", "every task, 5 seconds"],
    ["--pid 181 -d 10 --user-only", "one process, user stacks"],
    ["--comm sleep --folded -d 5 > offcpu.folded", "flame-graph input"],
  ],
};

await runTool(SPEC, async (args, stop) => {
  const filters = filtersOf(args);
  const opts = stackArgsOf(args);
  const minUs = args.int("min-block-us", 0, Number.MAX_SAFE_INTEGER) ?? 1;
  const maxUs = args.int("max-block-us", 0, Number.MAX_SAFE_INTEGER);
  using sym = new Symbolizer({ debugDirs: opts.debugDirs });
  using obj = await openBeside(import.meta.url, "offcputime.bpf.c");
  applyFilters(obj, filters);
  applyStackArgs(obj, opts);
  obj.globals.min_block_ns = BigInt(minUs) * 1000n;
  if (maxUs !== undefined) obj.globals.max_block_ns = BigInt(maxUs) * 1000n;
  obj.load();
  obj.attachAll();
  await traceAndReport(obj, sym, stop, opts, {
    tool: SPEC.name,
    message: `Tracing off-CPU time${describeFilters(filters)}... Hit Ctrl-C to end.`,
    print: {
      valueName: "us",
      toJson: (ns) => Math.round(ns / 1000),
      formatValue: (ns) => `${Math.round(ns / 1000)} us`,
    },
    pprof: { type: "offcpu", unit: "nanoseconds" },
  });
});
