/**
 * Attach points: `probes [PATTERN]` lists what can be attached to (as `bpftrace -l`), and
 * `iter PROG` runs an iterator program and prints what it wrote (as `cat` on a pinned
 * iterator).
 *
 * @module
 */

import { loadCore } from "../core.ts";
import type { CommandSpec } from "./types.ts";

/** `probes [PATTERN]`. */
export const probesCommand: CommandSpec = {
  name: "probes",
  group: "Inspect",
  summary: "list attach points: tracepoints, kprobes, uprobes, USDT, iterators",
  description: "list attach points matching a pattern, written KIND:TARGET as attach takes them: " +
    "tracepoint:CAT:NAME, rawtracepoint:NAME, kprobe:FUNC, fentry:FUNC, iter:NAME, " +
    "perf_event:EVENT, uprobe:BINARY:FUNC, usdt:BINARY:PROVIDER:NAME",
  args: [{
    name: "pattern",
    help: "e.g. 'tracepoint:syscalls:*open*', 'uprobe:/bin/bash:read*'",
    default: "*",
  }],
  async run({ out }, { args }) {
    const pattern = args.pattern as string;
    const { listProbes } = await loadCore();
    const found = listProbes(pattern);
    if (out.format !== "table") return out.table(found.map((probe) => ({ probe })));
    for (const p of found) out.line(p);
    if (!found.length) out.info(`no attach point matches '${pattern}'`);
  },
};

/** `iter PROG [--map MAP]`. */
export const iterCommand: CommandSpec = {
  name: "iter",
  group: "Programs",
  summary: "run an iterator program (iter/task, iter/bpf_map, …) and print its output",
  args: [{ name: "prog", help: "the iterator program (name or object.name)", required: true }],
  options: {
    map: {
      type: "string",
      help: "the map a map iterator (iter/bpf_map_elem) walks",
      complete: "map",
    },
  },
  run({ session, out }, { args, opts }) {
    const { prog } = session.prog(args.prog as string);
    const map = opts.map ? session.map(opts.map as string).map : undefined;
    const link = prog.attach(undefined, map ? { map } : {});
    try {
      out.raw(link.readText());
    } finally {
      link.close();
    }
  },
};
