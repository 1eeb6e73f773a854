/**
 * syscount: count syscalls and show the busiest, by syscall or by process, optionally
 * with the time spent in them, like bcc's syscount.
 *
 * ```
 * deno run -A scripts/syscount.ts [--top N] [-L] [-P] [-x] [--interval S] [--pid PID]
 * bpfsh run scripts/syscount.ts --duration 5 --latency
 * ```
 *
 * @module
 */

import { runTool } from "./lib/run.ts";
import type { ToolSpec } from "./lib/cli.ts";
import { applyFilters, describeFilters, filtersOf } from "./lib/filters.ts";
import { openBeside } from "./lib/events.ts";
import { type Column, RecordPrinter } from "./lib/output.ts";
import { syscallName } from "../bpf/system/syscalls.ts";

/** The command line (and the help text made from it). */
const SPEC: ToolSpec = {
  name: "syscount",
  summary: "Count syscalls and print the top N, by syscall or by process.",
  filters: ["pid", "uid", "comm"],
  options: {
    top: { type: "string", short: "T", arg: "N", help: "print the top N only (default 10)" },
    latency: { type: "boolean", short: "L", help: "also show the total time in each syscall" },
    milliseconds: { type: "boolean", short: "m", help: "show times in ms (default: us)" },
    process: { type: "boolean", short: "P", help: "count by process, not by syscall" },
    failures: { type: "boolean", short: "x", help: "count failed syscalls only" },
    interval: {
      type: "string",
      short: "i",
      arg: "SECONDS",
      help: "print a summary every SECONDS (default: once, at the end)",
    },
  },
  examples: [
    ["", "count until Ctrl-C, then print the top 10"],
    ["-L -m", "with the time spent, in ms"],
    ["-P --top 5", "the 5 busiest processes"],
    ["--pid 181 -i 1", "process 181, every second"],
    ["--duration 5 --json", "5 seconds, as JSON lines"],
  ],
};

/** A value of syscount.bpf.c's `data` map. */
interface Data {
  count: bigint;
  total_ns: bigint;
  comm: string;
}

await runTool(SPEC, async (args, stop) => {
  const filters = filtersOf(args);
  const top = args.int("top", 1) ?? 10;
  const latency = args.flag("latency");
  const ms = args.flag("milliseconds");
  const byProcess = args.flag("process");
  const interval = args.seconds("interval");
  using obj = await openBeside(import.meta.url, "syscount.bpf.c");
  applyFilters(obj, filters);
  obj.globals.by_process = byProcess;
  obj.globals.measure_latency = latency;
  obj.globals.failed_only = args.flag("failures");
  // Without latency, sys_enter has nothing to do: leave it out of every syscall's path.
  if (!latency) obj.program("on_sys_enter").autoload = false;
  obj.load();
  obj.attachAll();
  const data = obj.map<number, Data>("data");

  const unit = ms ? "ms" : "us";
  const columns: Column[] = byProcess
    ? [{ key: "pid", width: 6 }, { key: "comm", width: 16 }]
    : [{ key: "syscall", width: 22 }];
  columns.push({ key: "count", width: 8, align: "right" });
  if (latency) columns.push({ key: "time", title: `TIME (${unit})`, width: 16, align: "right" });
  const out = new RecordPrinter(columns, { json: args.flag("json") });

  const print = () => {
    const rows = [...data.entries()]
      .sort(([, a], [, b]) => latency ? cmp(b.total_ns, a.total_ns) : cmp(b.count, a.count))
      .slice(0, top);
    if (!out.json) console.log(`[${new Date().toTimeString().slice(0, 8)}]`);
    out.header();
    for (const [key, v] of rows) {
      const rec: Record<string, unknown> = byProcess
        ? { pid: key, comm: v.comm }
        : { syscall: syscallName(key), nr: key };
      rec.count = v.count;
      if (latency) {
        const t = Number(v.total_ns) / (ms ? 1e6 : 1e3);
        rec[out.json ? `time_${unit}` : "time"] = out.json ? Number(t.toFixed(3)) : t.toFixed(3);
      }
      out.row(rec);
    }
    if (!out.json) console.log("");
  };

  stop.begin(
    `Tracing ${args.flag("failures") ? "failed " : ""}syscalls${
      describeFilters(filters)
    }, printing top ${top}... Hit Ctrl-C to end.`,
  );
  if (interval) {
    while (!(await stop.sleep(interval * 1000))) {
      print();
      data.clear();
    }
  } else {
    await stop.sleep(Infinity);
  }
  print();
});

function cmp(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
