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

import { parseArgs } from "node:util";
import { BpfObject } from "../mod.ts";
import { tracePipe } from "../mod.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    demo: { type: "boolean" },
    duration: { type: "string" },
    count: { type: "string" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log(`usage: trace_pipe [REGEX] [--demo] [--duration S] [--count N] [--json]
Print trace_pipe lines (those matching REGEX).
--demo    also load trace_pipe.bpf.c: a bpf_printk line on every execve`);
  Deno.exit(0);
}

let demo: BpfObject | undefined;
if (values.demo) {
  demo = await BpfObject.open(new URL("trace_pipe.bpf.c", import.meta.url).pathname);
  demo.load();
  demo.attachAll();
}
const { signal, dispose } = stopSignal(values.duration);
const limit = values.count ? Number(values.count) : Infinity;
const filter = positionals[0] ? new RegExp(positionals[0]) : undefined;

console.error("Reading trace_pipe... Ctrl-C to stop.");
let n = 0;
try {
  for await (const line of tracePipe({ filter, signal })) {
    if (values.json) {
      console.log(formatEvent(line, true));
    } else {
      const when = line.timestamp.toFixed(6).padStart(14);
      console.log(`${when} ${line.task}-${line.pid} [${line.cpu}] ${line.message}`);
    }
    if (++n >= limit) break;
  }
} finally {
  dispose();
  demo?.close();
}

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
