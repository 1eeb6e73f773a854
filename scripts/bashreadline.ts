/**
 * bashreadline: print the command lines typed into bash, system wide, from a uretprobe
 * on `readline()`, like bcc's bashreadline. Debian's bash carries readline in its own
 * binary (exported, `nm -D /bin/bash | grep readline`); a bash linked to libreadline
 * needs `--shared /path/to/libreadline.so`.
 *
 * ```
 * deno run -A scripts/bashreadline.ts [--pid PID] [--bash PATH | --shared LIB] [--json]
 * ```
 *
 * @module
 */

import { runTool } from "./lib/run.ts";
import { type ToolSpec, UsageError } from "./lib/cli.ts";
import { applyFilters, describeFilters, filtersOf } from "./lib/filters.ts";
import { endDrops, openBeside, watchDrops } from "./lib/events.ts";
import { RecordPrinter } from "./lib/output.ts";

/** The command line (and the help text made from it). */
const SPEC: ToolSpec = {
  name: "bashreadline",
  summary: "Print the lines entered in bash shells, system wide (uretprobe on readline()).",
  filters: ["pid", "uid"],
  options: {
    bash: { type: "string", short: "b", arg: "PATH", help: "the bash binary (default: found)" },
    shared: {
      type: "string",
      short: "s",
      arg: "LIB",
      help: "probe readline() in this shared library instead",
    },
  },
  examples: [
    ["", "every bash on the system"],
    ["--pid $$", "this shell only"],
    ["--shared /lib/x86_64-linux-gnu/libreadline.so.8", "a bash using libreadline"],
  ],
};

/** An event of bashreadline.bpf.c's `struct event`. */
interface LineEvent {
  pid: number;
  uid: number;
  comm: string;
  line: string;
}

/** The bash binary: /bin/bash or /usr/bin/bash, with symlinks resolved. */
function findBash(): string {
  for (const p of ["/bin/bash", "/usr/bin/bash"]) {
    try {
      return Deno.realPathSync(p);
    } catch {
      // Try the next one.
    }
  }
  throw new UsageError("no bash found in /bin or /usr/bin: give its path with --bash");
}

await runTool(SPEC, async (args, stop) => {
  const filters = filtersOf(args);
  const binary = args.str("shared") ?? args.str("bash") ?? findBash();
  using obj = await openBeside(import.meta.url, "bashreadline.bpf.c");
  applyFilters(obj, filters);
  obj.load();
  obj.program("printret").attach(`${binary}:readline`, { retprobe: true });
  const drops = watchDrops("events");
  const rb = obj.ringbuf<LineEvent>("events", { type: "event", onFull: drops.onFull });

  const out = new RecordPrinter([
    { key: "time", width: 8 },
    { key: "pid", width: 7 },
    { key: "command" },
  ], { json: args.flag("json") });
  stop.begin(
    `Tracing readline() in ${binary}${describeFilters(filters)}... Hit Ctrl-C to end.`,
  );
  out.header();
  for await (const ev of rb.events({ signal: stop.signal })) {
    out.row({
      time: new Date().toTimeString().slice(0, 8),
      pid: ev.pid,
      uid: ev.uid,
      comm: ev.comm,
      command: ev.line,
    });
  }
  endDrops(drops, rb.stats);
});
