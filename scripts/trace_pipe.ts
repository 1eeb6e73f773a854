/**
 * trace_pipe: print the kernel trace pipe (bpf_printk output and enabled trace events)
 * as parsed lines, like `bpftool prog tracelog`. tracefs is mounted when it is not.
 *
 * ```sh
 * deno run -A scripts/trace_pipe.ts --demo --duration 5   # with a bpf_printk on execve
 * deno run -A scripts/trace_pipe.ts 'execve by (bash|sh)' --json
 * ```
 *
 * @module
 */

import { tracePipe } from "../mod.ts";
import { runTool } from "./lib/run.ts";
import { type ToolSpec, UsageError } from "./lib/cli.ts";
import { COUNT_OPTION, filterEvents, openAttached, take } from "./lib/events.ts";
import { filtersOf } from "./lib/filters.ts";
import { formatEvent } from "./lib/output.ts";

/** The command line (and the help text made from it). */
const SPEC: ToolSpec = {
  name: "trace_pipe",
  summary: "Print trace_pipe lines (those matching REGEX).",
  argument: { name: "REGEX", help: "print only the lines this matches (default: all)" },
  // A trace_pipe line names the task and its pid, not its user: no --uid.
  filters: ["pid", "comm"],
  filterHelp: {
    pid: "only lines written by this pid (a thread id, as trace_pipe shows it)",
    comm: "only lines written by a task of this name",
  },
  options: {
    demo: {
      type: "boolean",
      help: "also load trace_pipe.bpf.c: a bpf_printk line on every execve",
    },
    count: { ...COUNT_OPTION, help: "stop after N lines (default: no limit)" },
  },
  examples: [
    ["--demo --duration 5", "5 seconds of bpf_printk lines, one per execve"],
    ["'execve by (bash|sh)' --json", "the matching lines as JSON"],
  ],
};

await runTool(SPEC, async (args, stop) => {
  const count = args.int("count", 1);
  const filter = regexOf(args.positionals[0]);
  const { pid, comm } = filtersOf(args);
  const pass = (l: { pid: number; task: string }) =>
    (pid === undefined || l.pid === pid) && (comm === undefined || l.task === comm);
  // The demo's programs stay attached while the pipe is read.
  using _demo = args.flag("demo")
    ? await openAttached(import.meta.url, undefined, "trace_pipe.bpf.c")
    : null;

  stop.begin("Reading trace_pipe... Ctrl-C to stop.");
  const lines = filterEvents(tracePipe({ filter, signal: stop.signal }), pass);
  for await (const line of take(lines, count)) {
    if (args.flag("json")) {
      console.log(formatEvent(line, true));
    } else {
      const when = line.timestamp.toFixed(6).padStart(14);
      console.log(`${when} ${line.task}-${line.pid} [${line.cpu}] ${line.message}`);
    }
  }
});

/** The REGEX argument, or undefined; a bad pattern is a usage error. */
function regexOf(source?: string): RegExp | undefined {
  if (!source) return undefined;
  try {
    return new RegExp(source);
  } catch (e) {
    throw new UsageError(`invalid REGEX '${source}': ${(e as Error).message}`);
  }
}
