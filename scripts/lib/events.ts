/**
 * Opening the BPF object of a script, finding its event stream, and reading a given number
 * of events; the command line of scripts that tail an event map of any object.
 *
 * @module
 */

import { BpfObject, DropReport, type DropStats } from "../../mod.ts";
import type { OptionSpec, ToolSpec } from "./cli.ts";

/**
 * `--count N`, for scripts that print events: stop after N of them (see {@link take}).
 *
 * @example
 * ```ts
 * const SPEC: ToolSpec = { name: "tail", summary: "…", options: { count: COUNT_OPTION } };
 * ```
 */
export const COUNT_OPTION: OptionSpec = {
  type: "string",
  arg: "N",
  help: "stop after N events (default: no limit)",
};

/**
 * Open the `.bpf.c` beside a script (compiled on first use, then from the cache), whatever
 * the current directory.
 *
 * @param scriptUrl The script's `import.meta.url`.
 * @param file The source's file name, e.g. `"execsnoop.bpf.c"`.
 * @returns The opened, not yet loaded object.
 * @example
 * ```ts
 * using obj = await openBeside(import.meta.url, "execsnoop.bpf.c");
 * ```
 */
export function openBeside(scriptUrl: string, file: string): Promise<BpfObject> {
  return BpfObject.open(decodeURIComponent(new URL(file, scriptUrl).pathname));
}

/**
 * The command line of a script that tails an event map of any object: an optional OBJECT,
 * `--map`, `--type` and `--count` (then the script's own options), and the pid, uid and
 * comm filters, which match the events' own fields (eventMatcher, scripts/lib/filters.ts).
 *
 * @param mapType The map type it reads, e.g. `"ringbuf"`.
 * @param defaultObject What it loads without OBJECT, e.g. `"process execs and exits"`.
 * @param more The script's own options.
 * @returns The argument, options and filters of its {@link ToolSpec}.
 * @example
 * ```ts
 * const SPEC: ToolSpec = { name: "x", summary: "…", ...tailArgs("ringbuf", "execs") };
 * ```
 */
export function tailArgs(
  mapType: string,
  defaultObject: string,
  more: Record<string, OptionSpec> = {},
): Required<Pick<ToolSpec, "argument" | "options" | "filters" | "filterHelp">> {
  return {
    filters: ["pid", "uid", "comm"],
    filterHelp: {
      pid: "only events whose pid (or tgid) field is PID",
      uid: "only events whose uid field is UID",
      comm: "only events whose comm (or command) field is COMM",
    },
    argument: { name: "OBJECT", help: `a .bpf.c or .bpf.o (default: ${defaultObject})` },
    options: {
      map: {
        type: "string",
        arg: "NAME",
        help: `the ${mapType} map (default: the object's first one)`,
      },
      type: {
        type: "string",
        arg: "TYPE",
        help: "the BTF struct of an event (default: guessed, else bytes)",
      },
      ...more,
      count: COUNT_OPTION,
    },
  };
}

/**
 * Open the object a user named on the command line (a `.bpf.c` or `.bpf.o`, relative to
 * the current directory), or else the script's own source beside it; load it and attach
 * its programs.
 *
 * @param scriptUrl The script's `import.meta.url`.
 * @param given The user's path, or undefined.
 * @param file The default source's file name, e.g. `"ringbuf_tail.bpf.c"`.
 * @returns The loaded object with its programs attached (closed again when that fails).
 * @example
 * ```ts
 * using obj = await openAttached(import.meta.url, args.positionals[0], "ringbuf_tail.bpf.c");
 * ```
 */
export async function openAttached(
  scriptUrl: string,
  given: string | undefined,
  file: string,
): Promise<BpfObject> {
  const obj = await (given ? BpfObject.open(given) : openBeside(scriptUrl, file));
  try {
    obj.load();
    obj.attachAll();
    return obj;
  } catch (e) {
    obj.close();
    throw e;
  }
}

/**
 * The map to read events from: the one the user named, or the object's first of a type.
 *
 * @param obj The object.
 * @param type The map type, e.g. `"ringbuf"` or `"perf_event_array"`.
 * @param given The user's map name, or undefined.
 * @returns The map's name.
 * @throws {Error} When the user named none and the object has no map of the type.
 * @example
 * ```ts
 * const name = streamMapName(obj, "ringbuf", args.str("map")); // "events"
 * ```
 */
export function streamMapName(obj: BpfObject, type: string, given?: string): string {
  if (given) return given;
  const name = obj.maps.find((m) => m.type === type)?.name;
  if (!name) throw new Error(`object '${obj.name}' has no ${type} map`);
  return name;
}

/**
 * The first `count` events of a stream; leaving early closes the stream's iterator.
 *
 * @param events The stream, e.g. `rb.events({ signal })`.
 * @param count How many (default: all).
 * @returns The events.
 * @example
 * ```ts
 * for await (const ev of take(rb.events({ signal: stop.signal }), 10)) console.log(ev);
 * ```
 */
export async function* take<T>(events: AsyncIterable<T>, count = Infinity): AsyncGenerator<T> {
  if (count <= 0) return;
  let n = 0;
  for await (const ev of events) {
    yield ev;
    if (++n >= count) return;
  }
}

/**
 * Notices on stderr when a script's stream loses events (see {@link DropReport}): pass
 * its `onFull` to `obj.ringbuf()` or `onLost` to `obj.perfbuf()`, and {@link endDrops}
 * when the loop ends.
 *
 * @param name The stream's map.
 * @returns The report.
 * @example
 * ```ts
 * const drops = watchDrops("events");
 * const rb = obj.ringbuf("events", { onFull: drops.onFull });
 * ```
 */
export function watchDrops(name: string): DropReport {
  return new DropReport((text) => console.error(text), name);
}

/**
 * The closing line on stderr about events a stream lost, if it lost any.
 *
 * @param drops The report from {@link watchDrops}.
 * @param stats The stream's counters.
 * @example
 * ```ts
 * endDrops(drops, rb.stats);
 * ```
 */
export function endDrops(drops: DropReport, stats: DropStats): void {
  const line = drops.summary(stats);
  if (line) console.error(line);
}

/**
 * The events of a stream that pass a test; leaving early closes the stream's iterator.
 *
 * @param events The stream.
 * @param pass The test.
 * @returns The events that pass.
 * @example
 * ```ts
 * for await (const ev of filterEvents(rb.events(), eventMatcher({ pid: 42 }))) console.log(ev);
 * ```
 */
export async function* filterEvents<T>(
  events: AsyncIterable<T>,
  pass: (ev: T) => boolean,
): AsyncGenerator<T> {
  for await (const ev of events) if (pass(ev)) yield ev;
}
