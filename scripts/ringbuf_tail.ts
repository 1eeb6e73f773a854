/**
 * ringbuf_tail: print every event of a BPF ring buffer, decoded through BTF.
 *
 * Loads OBJECT (a `.bpf.c`, compiled on the fly, or a `.bpf.o`; by default
 * `ringbuf_tail.bpf.c` beside this script: process execs and exits), attaches its
 * programs and tails a ring buffer map until Ctrl-C, `--duration` or `--count`.
 *
 * ```sh
 * deno run -A scripts/ringbuf_tail.ts --duration 5
 * deno run -A scripts/ringbuf_tail.ts my.bpf.c --map events --type "struct event" --json
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
  name: "ringbuf_tail",
  summary: "Tail a BPF ring buffer, each event as key=value pairs (or bytes in hex).",
  ...tailArgs("ringbuf", "process execs and exits"),
  examples: [
    ["--duration 5", "5 seconds of execs and exits"],
    ["my.bpf.c --map events --json", "another object's ring buffer as JSON lines"],
  ],
};

await runTool(SPEC, async (args, stop) => {
  const count = args.int("count", 1);
  const filters = filtersOf(args);
  const pass = eventMatcher(filters);
  using obj = await openAttached(import.meta.url, args.positionals[0], "ringbuf_tail.bpf.c");
  const name = streamMapName(obj, "ringbuf", args.str("map"));
  const drops = watchDrops(name);
  const rb = obj.ringbuf(name, { type: args.str("type"), onFull: drops.onFull });

  stop.begin(
    `Tailing ring buffer '${name}' as ${rb.typeName}${describeFilters(filters)}... Ctrl-C to stop.`,
  );
  for await (const ev of take(filterEvents(rb.events({ signal: stop.signal }), pass), count)) {
    console.log(formatEvent(ev, args.flag("json")));
  }
  console.error(`${rb.stats.events} events, ${rb.stats.bytes} bytes`);
  endDrops(drops, rb.stats);
});
