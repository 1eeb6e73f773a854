/**
 * The live demo (`./bpfsh demo`): every exec on the machine as it happens, then exec
 * counts per uid. Runs until Ctrl-C, or for `--duration SECONDS`.
 *
 * @example
 * ```sh
 * deno run -A scripts/demo.ts --duration 10
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
  name: "demo",
  summary: "Traces every exec and counts execs per uid.",
  filters: ["pid", "uid", "comm"],
  examples: [
    ["", "until Ctrl-C"],
    ["--duration 10", "for 10 seconds"],
  ],
};

/** An event of demo.bpf.c's `struct exec_event`. */
interface ExecEvent {
  pid: number;
  ppid: number;
  uid: number;
  comm: string;
  filename: string;
}

await runTool(SPEC, async (args, stop) => {
  const filters = filtersOf(args);
  using obj = await openBeside(import.meta.url, "demo.bpf.c");
  applyFilters(obj, filters);
  obj.load();
  obj.attachAll();
  const drops = watchDrops("events");
  const events = obj.ringbuf<ExecEvent>("events", { type: "exec_event", onFull: drops.onFull });

  const out = new RecordPrinter([
    { key: "pid", width: 7, align: "right" },
    { key: "ppid", width: 7, align: "right" },
    { key: "uid", width: 5, align: "right" },
    { key: "comm", width: 16, gap: 2 },
    { key: "filename", title: "FILE" },
  ], { json: args.flag("json") });
  stop.begin(`Tracing execs${describeFilters(filters)}... Ctrl-C to stop.\n`);
  out.header();
  for await (const ev of events.events({ signal: stop.signal })) out.row({ event: "exec", ...ev });
  endDrops(drops, events.stats);

  const byUid = [...obj.map<number, bigint>("execs_by_uid").entries()]
    .sort((a, b) => Number(b[1] - a[1]));
  if (!out.json) console.log("\nexecs by uid:");
  for (const [uid, n] of byUid) {
    if (out.json) out.row({ event: "execs_by_uid", uid, execs: n });
    else console.log(`  uid ${String(uid).padStart(5)}  ${n}`);
  }
});
