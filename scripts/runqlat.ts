/**
 * runqlat: run-queue (scheduler) latency as a log2 histogram, like bcc's runqlat: how
 * long runnable tasks waited for a CPU.
 *
 * ```
 * deno run -A scripts/runqlat.ts [-m] [--interval S] [--pid PID] [--comm NAME] [--json]
 * bpfsh run scripts/runqlat.ts --duration 5
 * ```
 *
 * @module
 */

import { runTool } from "./lib/run.ts";
import type { ToolSpec } from "./lib/cli.ts";
import { applyFilters, describeFilters, filtersOf } from "./lib/filters.ts";
import { openBeside } from "./lib/events.ts";
import { printHistogram } from "./lib/hist.ts";

/** The command line (and the help text made from it). */
const SPEC: ToolSpec = {
  name: "runqlat",
  summary: "Summarize run-queue (scheduler) latency as a histogram.",
  filters: ["pid", "uid", "comm"],
  filterHelp: { pid: "only the threads of this process" },
  options: {
    milliseconds: { type: "boolean", short: "m", help: "millisecond histogram (default: us)" },
    interval: {
      type: "string",
      short: "i",
      arg: "SECONDS",
      help: "print a histogram every SECONDS (default: once, at the end)",
    },
  },
  examples: [
    ["", "summarize until Ctrl-C"],
    ["-m -i 5", "in milliseconds, every 5 seconds"],
    ["--pid 185", "only process 185"],
    ["--duration 3 --json", "3 seconds, as JSON"],
  ],
};

await runTool(SPEC, async (args, stop) => {
  const filters = filtersOf(args);
  const ms = args.flag("milliseconds");
  const interval = args.seconds("interval");
  const json = args.flag("json");
  using obj = await openBeside(import.meta.url, "runqlat.bpf.c");
  applyFilters(obj, filters);
  obj.globals.in_ms = ms;
  obj.load();
  obj.attachAll();
  const hist = obj.map<number, bigint>("hist");
  const unit = ms ? "msecs" : "usecs";

  stop.begin(`Tracing run queue latency${describeFilters(filters)}... Hit Ctrl-C to end.`);
  if (interval) {
    while (!(await stop.sleep(interval * 1000))) {
      printHistogram(hist.entries(), unit, { json, timestamp: true });
      hist.clear();
    }
  } else {
    await stop.sleep(Infinity);
  }
  printHistogram(hist.entries(), unit, { json, timestamp: interval !== undefined });
});
