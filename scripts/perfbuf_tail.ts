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

import { parseArgs } from "node:util";
import { BpfObject } from "../mod.ts";
import { PerfBuffer } from "../mod.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    map: { type: "string" },
    type: { type: "string" },
    pages: { type: "string" },
    duration: { type: "string" },
    count: { type: "string" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log(`usage: perfbuf_tail [OBJECT] [--map NAME] [--type TYPE] [--pages N] [--duration S]
                    [--count N] [--json]
Tail a BPF perf buffer. OBJECT is a .bpf.c or .bpf.o (default: Hello World on each execve).
--map     the perf_event_array map (default: the object's first one)
--type    the BTF struct of an event (default: guessed from the object, else bytes)
--pages   data pages per CPU, a power of two (default 64)`);
  Deno.exit(0);
}

const source = positionals[0] ?? new URL("perfbuf_tail.bpf.c", import.meta.url).pathname;
using obj = await BpfObject.open(source);
obj.load();
obj.attachAll();
const name = values.map ?? obj.maps.find((m) => m.type === "perf_event_array")?.name;
if (!name) throw new Error(`no perf_event_array map in '${source}'`);
using pb = new PerfBuffer(obj.map(name), {
  type: values.type,
  pageCount: values.pages ? Number(values.pages) : undefined,
  onLost: (count, cpu) => console.error(`lost ${count} samples on cpu ${cpu}`),
});
const { signal, dispose } = stopSignal(values.duration);
const limit = values.count ? Number(values.count) : Infinity;

console.error(`Tailing perf buffer '${name}' as ${pb.typeName}... Ctrl-C to stop.`);
let n = 0;
try {
  for await (const { cpu, data } of pb.events({ signal })) {
    console.log(values.json ? formatEvent({ cpu, data }, true) : `[${cpu}] ${formatEvent(data)}`);
    if (++n >= limit) break;
  }
} finally {
  dispose();
}
const { events, bytes, lost } = pb.stats;
console.error(`${events} events, ${bytes} bytes, ${lost} lost`);

/** One event as a line: JSON (bigints as numbers or strings), or `key=value` pairs / hex. */
function formatEvent(ev: unknown, json = false): string {
  if (json) {
    return JSON.stringify(
      ev,
      (_k, v) =>
        typeof v === "bigint"
          ? (Number.isSafeInteger(Number(v)) ? Number(v) : String(v))
          : v instanceof Uint8Array
          ? [...v]
          : v,
    );
  }
  if (ev instanceof Uint8Array) return [...ev].map((b) => b.toString(16).padStart(2, "0")).join("");
  if (ev && typeof ev === "object") {
    return Object.entries(ev).map(([k, v]) => `${k}=${formatEvent(v)}`).join(" ");
  }
  return String(ev);
}

/** Aborts on Ctrl-C or after `seconds`; dispose() removes the handlers. */
function stopSignal(seconds?: string): { signal: AbortSignal; dispose(): void } {
  const ac = new AbortController();
  const onSigint = () => ac.abort();
  Deno.addSignalListener("SIGINT", onSigint);
  const timer = seconds ? setTimeout(() => ac.abort(), Number(seconds) * 1000) : undefined;
  return {
    signal: ac.signal,
    dispose() {
      Deno.removeSignalListener("SIGINT", onSigint);
      clearTimeout(timer);
    },
  };
}
