/**
 * hello_tail: a syscall dispatcher built from tail calls, like bcc's hello-tail. One
 * raw_tp program on sys_enter jumps through a prog_array indexed by syscall number to a
 * handler program: execve's prints what is run, openat's, close's, read's and write's
 * count. At the end the script prints how many calls each handler took.
 *
 * ```
 * deno run -A scripts/hello_tail.ts [--pid PID] [--comm NAME] [--duration S] [--json]
 * ```
 *
 * @module
 */

import { runTool } from "./lib/run.ts";
import type { ToolSpec } from "./lib/cli.ts";
import { applyFilters, describeFilters, filtersOf } from "./lib/filters.ts";
import { endDrops, openBeside, watchDrops } from "./lib/events.ts";
import { RecordPrinter } from "./lib/output.ts";
import { syscallNumber } from "../bpf/system/syscalls.ts";

/** The command line (and the help text made from it). */
const SPEC: ToolSpec = {
  name: "hello_tail",
  summary: "Dispatch each syscall through a prog_array of tail-called handler programs.",
  filters: ["pid", "uid", "comm"],
  options: {
    quiet: { type: "boolean", short: "q", help: "do not print each execve, only the counts" },
  },
  examples: [
    ["", "print execve()s live, and handler counts at Ctrl-C"],
    ["--comm bash -d 10", "10 seconds of bash's syscalls"],
  ],
};

/** Syscall → the program that handles it. */
const HANDLERS: Record<string, string> = {
  execve: "hello_execve",
  openat: "hello_openat",
  close: "hello_close",
  read: "hello_read",
  write: "hello_write",
};

/** An event of hello_tail.bpf.c's `struct event`. */
interface HelloEvent {
  pid: number;
  nr: number;
  comm: string;
  path: string;
}

await runTool(SPEC, async (args, stop) => {
  const filters = filtersOf(args);
  const json = args.flag("json");
  using obj = await openBeside(import.meta.url, "hello_tail.bpf.c");
  applyFilters(obj, filters);
  obj.load();

  // Fill the prog_array before the dispatcher runs: a tail call to an empty slot falls
  // through, which is how syscalls without a handler are counted.
  const jmp = obj.progArray("handlers");
  const wired: [string, number, string][] = [];
  for (const [syscall, prog] of Object.entries(HANDLERS)) {
    const nr = syscallNumber(syscall);
    if (nr === undefined) continue; // not on this architecture
    jmp.set(nr, obj.program(prog));
    wired.push([syscall, nr, prog]);
  }
  obj.program("dispatch").attach();
  const drops = watchDrops("events");
  const rb = obj.ringbuf<HelloEvent>("events", { type: "event", onFull: drops.onFull });

  stop.begin(
    `Tracing syscalls through ${wired.length} tail-called handlers${
      describeFilters(filters)
    }... Hit Ctrl-C to end.`,
  );
  const live = new RecordPrinter([
    { key: "pid", width: 7 },
    { key: "comm", width: 16 },
    { key: "handler", width: 14 },
    { key: "path" },
  ], { json });
  if (!args.flag("quiet")) live.header();
  for await (const ev of rb.events({ signal: stop.signal })) {
    if (args.flag("quiet")) continue;
    live.row({ event: "exec", pid: ev.pid, comm: ev.comm, handler: "hello_execve", path: ev.path });
  }
  endDrops(drops, rb.stats);

  const handled = obj.map<number, bigint>("handled");
  const summary = new RecordPrinter([
    { key: "syscall", width: 10 },
    { key: "nr", width: 4, align: "right" },
    { key: "handler", width: 14 },
    { key: "count", width: 10, align: "right" },
  ], { json });
  if (!json) console.log("");
  summary.header();
  for (const [syscall, nr, prog] of wired) {
    summary.row({ event: "count", syscall, nr, handler: prog, count: handled.get(nr) ?? 0n });
  }
  summary.row({
    event: "count",
    syscall: "(others)",
    nr: json ? null : "-",
    handler: "(fell through)",
    count: obj.globals.unhandled,
  });
});
