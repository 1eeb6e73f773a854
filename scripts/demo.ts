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

import { parseArgs } from "node:util";
import { BpfObject } from "../mod.ts";

interface ExecEvent {
  pid: number;
  ppid: number;
  uid: number;
  comm: string;
  filename: string;
}

const { values } = parseArgs({
  args: Deno.args,
  options: { duration: { type: "string" }, help: { type: "boolean", short: "h" } },
});
if (values.help) {
  console.log("usage: demo [--duration SECONDS]\nTraces every exec and counts execs per uid.");
  Deno.exit(0);
}

const here = new URL(".", import.meta.url).pathname;
using obj = await BpfObject.open(`${here}demo.bpf.c`);
obj.load();
obj.attachAll();
const events = obj.ringbuf<ExecEvent>("events", { type: "exec_event" });

const stop = new AbortController();
const onSigint = () => stop.abort();
Deno.addSignalListener("SIGINT", onSigint);
if (values.duration) setTimeout(() => stop.abort(), Number(values.duration) * 1000);

console.log("Tracing execs... Ctrl-C to stop.\n");
console.log(
  `${"PID".padStart(7)} ${"PPID".padStart(7)} ${"UID".padStart(5)}  ${"COMM".padEnd(16)} FILE`,
);
try {
  for await (const ev of events.events({ signal: stop.signal })) {
    console.log(
      `${String(ev.pid).padStart(7)} ${String(ev.ppid).padStart(7)} ${
        String(ev.uid).padStart(5)
      }  ` +
        `${ev.comm.padEnd(16)} ${ev.filename}`,
    );
  }
} finally {
  Deno.removeSignalListener("SIGINT", onSigint);
}

console.log("\nexecs by uid:");
const rows = [...obj.map<number, bigint>("execs_by_uid").entries()].sort((a, b) =>
  Number(b[1] - a[1])
);
for (const [uid, n] of rows) console.log(`  uid ${String(uid).padStart(5)}  ${n}`);
