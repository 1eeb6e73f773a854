/**
 * execsnoop: trace new processes through execve(), with their arguments, parent and
 * result, like bcc's execsnoop.
 *
 * ```
 * deno run -A scripts/execsnoop.ts [--uid UID] [--comm NAME] [--pid PID] [-x] [-t] [--json]
 * bpfsh run scripts/execsnoop.ts --duration 10
 * ```
 *
 * @module
 */

import { runTool } from "./lib/run.ts";
import type { ToolSpec } from "./lib/cli.ts";
import { applyFilters, describeFilters, filtersOf } from "./lib/filters.ts";
import { endDrops, openBeside, watchDrops } from "./lib/events.ts";
import { RecordPrinter } from "./lib/output.ts";

/** The command line (and the help text made from it). */
const SPEC: ToolSpec = {
  name: "execsnoop",
  summary: "Trace new processes via exec() syscalls: command, pid, parent, result, arguments.",
  filters: ["pid", "uid", "comm"],
  filterHelp: {
    pid: "trace exec()s by this process or its children",
    comm: "trace this command name only (the program run)",
  },
  options: {
    failed: { type: "boolean", short: "x", help: "show failed exec()s only" },
    timestamp: { type: "boolean", short: "t", help: "show seconds since the start" },
    "print-uid": { type: "boolean", short: "U", help: "show the user id" },
  },
  examples: [
    ["", "trace all exec()s"],
    ["-x", "only the failed ones"],
    ["--pid $$", "what this shell runs"],
    ["--comm ls -t", "every ls, with a timestamp"],
    ["--duration 5 --json", "5 seconds of JSON lines"],
  ],
};

/** An event of execsnoop.bpf.c's `struct event`, as decoded from BTF. */
interface ExecEvent {
  pid: number;
  ppid: number;
  uid: number;
  retval: number;
  args_count: number;
  args_size: number;
  truncated: boolean;
  comm: string;
  args: number[];
}

const decoder = new TextDecoder();

/**
 * The arguments of an event: NUL-separated strings in the first `args_size` bytes.
 *
 * @param ev The event.
 * @returns The file run, then argv[1..].
 * @example
 * ```ts
 * argsOf({ args: [0x61, 0, 0x62, 0], args_size: 4, args_count: 2 } as ExecEvent); // ["a", "b"]
 * ```
 */
function argsOf(ev: ExecEvent): string[] {
  const bytes = Uint8Array.from(ev.args.slice(0, Math.min(ev.args_size, ev.args.length)));
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length && out.length < ev.args_count; i++) {
    if (bytes[i] === 0) {
      out.push(decoder.decode(bytes.subarray(start, i)));
      start = i + 1;
    }
  }
  return out;
}

await runTool(SPEC, async (args, stop) => {
  const filters = filtersOf(args);
  const showTime = args.flag("timestamp");
  const showUid = args.flag("print-uid");
  using obj = await openBeside(import.meta.url, "execsnoop.bpf.c");
  applyFilters(obj, filters);
  obj.globals.failed_only = args.flag("failed");
  obj.load();
  obj.attachAll();
  const drops = watchDrops("events");
  const rb = obj.ringbuf<ExecEvent>("events", { type: "event", onFull: drops.onFull });

  const out = new RecordPrinter([
    ...(showTime ? [{ key: "time", title: "TIME(s)", width: 8 }] : []),
    ...(showUid ? [{ key: "uid", title: "UID", width: 6 }] : []),
    { key: "comm", title: "PCOMM", width: 16 },
    { key: "pid", width: 7 },
    { key: "ppid", width: 7 },
    { key: "ret", width: 3, align: "right" as const },
    { key: "args" },
  ], { json: args.flag("json") });
  stop.begin(`Tracing exec()s${describeFilters(filters)}... Hit Ctrl-C to end.`);
  out.header();
  const t0 = performance.now();
  for await (const ev of rb.events({ signal: stop.signal })) {
    const argv = argsOf(ev);
    const rec: Record<string, unknown> = {};
    if (showTime || out.json) rec.time = ((performance.now() - t0) / 1000).toFixed(3);
    rec.comm = ev.comm;
    rec.pid = ev.pid;
    rec.ppid = ev.ppid;
    if (showUid || out.json) rec.uid = ev.uid;
    rec.ret = ev.retval;
    if (out.json) {
      rec.time = Number(rec.time);
      rec.args = argv;
      rec.truncated = ev.truncated;
    } else {
      rec.args = argv.join(" ").replaceAll("\n", "\\n") + (ev.truncated ? " ..." : "");
    }
    out.row(rec);
  }
  endDrops(drops, rb.stats);
});
