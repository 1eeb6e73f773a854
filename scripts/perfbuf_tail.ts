/**
 * perfbuf_tail: print every event of a BPF perf buffer with its CPU, decoded through BTF,
 * and the samples the kernel lost.
 *
 * Loads OBJECT (a `.bpf.c`, compiled on the fly, or a `.bpf.o`; by default
 * `perfbuf_tail.bpf.c` beside this script: "Hello World" on every execve), attaches its
 * programs and tails a perf event array map until Ctrl-C, `--duration` or `--count`.
 *
 * ```sh
 * deno run -A scripts/perfbuf_tail.ts --duration 5
 * deno run -A scripts/perfbuf_tail.ts my.bpf.c --map output --type data_t --pages 16 --json
 * ```
 *
 * @module
 */

import { runTool } from "./lib/run.ts";
import type { ToolSpec } from "./lib/cli.ts";
import { describeFilters, eventMatcher, filtersOf } from "./lib/filters.ts";
import {
  endDrops,
  filterEvents,
  openAttached,
  streamMapName,
  tailArgs,
  take,
  watchDrops,
} from "./lib/events.ts";
import { formatEvent } from "./lib/output.ts";

/** The command line (and the help text made from it). */
const SPEC: ToolSpec = {
  name: "perfbuf_tail",
  summary: "Tail a BPF perf buffer, each event as [CPU] key=value pairs, with lost samples.",
  ...tailArgs("perf_event_array", "Hello World on each execve", {
    pages: { type: "string", arg: "N", help: "data pages per CPU, a power of two (default 64)" },
  }),
  examples: [
    ["--duration 5", "5 seconds of Hello World"],
    ["my.bpf.c --type data_t --pages 16", "another object's events, 16 pages per CPU"],
  ],
};

await runTool(SPEC, async (args, stop) => {
  const count = args.int("count", 1);
  const json = args.flag("json");
  const filters = filtersOf(args);
  const pass = eventMatcher(filters);
  using obj = await openAttached(import.meta.url, args.positionals[0], "perfbuf_tail.bpf.c");
  const name = streamMapName(obj, "perf_event_array", args.str("map"));
  const drops = watchDrops(name);
  const pb = obj.perfbuf(name, {
    type: args.str("type"),
    pageCount: args.int("pages", 1),
    onLost: drops.onLost,
  });

  stop.begin(
    `Tailing perf buffer '${name}' as ${pb.typeName}${describeFilters(filters)}... Ctrl-C to stop.`,
  );
  const events = filterEvents(pb.events({ signal: stop.signal }), (ev) => pass(ev.data));
  for await (const { cpu, data } of take(events, count)) {
    console.log(json ? formatEvent({ cpu, data }, true) : `[${cpu}] ${formatEvent(data)}`);
  }
  const { bytes, lost } = pb.stats;
  console.error(`${pb.stats.events} events, ${bytes} bytes, ${lost} lost`);
  endDrops(drops, pb.stats);
});
