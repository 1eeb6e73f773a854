/**
 * opensnoop: trace open() and openat() with the path opened, the file descriptor or the
 * error, like bcc's opensnoop.
 *
 * ```
 * deno run -A scripts/opensnoop.ts [--pid PID] [--uid UID] [--comm NAME] [-x] [-t] [-e]
 * bpfsh run scripts/opensnoop.ts --comm cat --duration 5
 * ```
 *
 * @module
 */

import { ensureTracefs } from "../mod.ts";
import { runTool } from "./lib/run.ts";
import type { ToolSpec } from "./lib/cli.ts";
import { applyFilters, describeFilters, filtersOf } from "./lib/filters.ts";
import { endDrops, openBeside, watchDrops } from "./lib/events.ts";
import { type Column, RecordPrinter } from "./lib/output.ts";

/** The command line (and the help text made from it). */
const SPEC: ToolSpec = {
  name: "opensnoop",
  summary: "Trace open() and openat() syscalls: process, file descriptor or error, path.",
  filters: ["pid", "uid", "comm"],
  options: {
    failed: { type: "boolean", short: "x", help: "show failed opens only" },
    timestamp: { type: "boolean", short: "t", help: "show seconds since the start" },
    "print-uid": { type: "boolean", short: "U", help: "show the user id" },
    extended: { type: "boolean", short: "e", help: "show the open flags (octal)" },
  },
  examples: [
    ["", "trace all opens"],
    ["-x", "only the failed ones"],
    ["--pid 181", "only process 181"],
    ["--comm cat -e", "opens by cat, with their flags"],
    ["--duration 5 --json", "5 seconds of JSON lines"],
  ],
};

/** An event of opensnoop.bpf.c's `struct event`. */
interface OpenEvent {
  pid: number;
  tid: number;
  uid: number;
  ret: number;
  flags: number;
  comm: string;
  fname: string;
}

/** Whether this kernel has a syscall tracepoint (open() does not exist on arm64). */
function hasTracepoint(name: string): boolean {
  try {
    return Deno.statSync(`${ensureTracefs()}/events/syscalls/${name}`).isDirectory;
  } catch {
    return false;
  }
}

await runTool(SPEC, async (args, stop) => {
  const filters = filtersOf(args);
  const showTime = args.flag("timestamp");
  const showUid = args.flag("print-uid");
  const showFlags = args.flag("extended");
  using obj = await openBeside(import.meta.url, "opensnoop.bpf.c");
  applyFilters(obj, filters);
  obj.globals.failed_only = args.flag("failed");
  if (!hasTracepoint("sys_enter_open")) {
    obj.program("on_enter_open").autoload = false;
    obj.program("on_exit_open").autoload = false;
  }
  obj.load();
  obj.attachAll();
  const drops = watchDrops("events");
  const rb = obj.ringbuf<OpenEvent>("events", { type: "event", onFull: drops.onFull });

  const columns: Column[] = [];
  if (showTime) columns.push({ key: "time", title: "TIME(s)", width: 8 });
  if (showUid) columns.push({ key: "uid", width: 6 });
  columns.push(
    { key: "pid", width: 6 },
    { key: "comm", width: 16 },
    { key: "fd", width: 4, align: "right" },
    { key: "err", width: 3, align: "right" },
  );
  if (showFlags) columns.push({ key: "flags", width: 8 });
  columns.push({ key: "path" });
  const out = new RecordPrinter(columns, { json: args.flag("json") });
  stop.begin(`Tracing open()s${describeFilters(filters)}... Hit Ctrl-C to end.`);
  out.header();
  const t0 = performance.now();
  for await (const ev of rb.events({ signal: stop.signal })) {
    const secs = (performance.now() - t0) / 1000;
    out.row({
      time: out.json ? Number(secs.toFixed(3)) : secs.toFixed(3),
      uid: ev.uid,
      pid: ev.pid,
      tid: ev.tid,
      comm: ev.comm,
      fd: ev.ret >= 0 ? ev.ret : -1,
      err: ev.ret < 0 ? -ev.ret : 0,
      flags: out.json ? ev.flags : ev.flags.toString(8).padStart(8, "0"),
      path: ev.fname,
    });
  }
  endDrops(drops, rb.stats);
});
