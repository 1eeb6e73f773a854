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

import { parseArgs } from "node:util";
import { BpfObject } from "../mod.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    map: { type: "string" },
    type: { type: "string" },
    duration: { type: "string" },
    count: { type: "string" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log(
    `usage: ringbuf_tail [OBJECT] [--map NAME] [--type TYPE] [--duration S] [--count N] [--json]
Tail a BPF ring buffer. OBJECT is a .bpf.c or .bpf.o (default: process execs and exits).
--map     the ringbuf map (default: the object's first one)
--type    the BTF struct of an event (default: guessed from the object, else bytes)`,
  );
  Deno.exit(0);
}

const source = positionals[0] ?? new URL("ringbuf_tail.bpf.c", import.meta.url).pathname;
using obj = await BpfObject.open(source);
obj.load();
obj.attachAll();
const name = values.map ?? obj.maps.find((m) => m.type === "ringbuf")?.name;
if (!name) throw new Error(`no ringbuf map in '${source}'`);
const rb = obj.ringbuf(name, values.type ? { type: values.type } : {});
const { signal, dispose } = stopSignal(values.duration);
const limit = values.count ? Number(values.count) : Infinity;

console.error(`Tailing ring buffer '${name}' as ${rb.typeName}... Ctrl-C to stop.`);
let n = 0;
try {
  for await (const ev of rb.events({ signal })) {
    console.log(formatEvent(ev, values.json));
    if (++n >= limit) break;
  }
} finally {
  dispose();
}
console.error(`${rb.stats.events} events, ${rb.stats.bytes} bytes`);

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
