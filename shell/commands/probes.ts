/**
 * Attach points: `probes [PATTERN]` lists what can be attached to (as `bpftrace -l`), and
 * `iter PROG` runs an iterator program and prints what it wrote (as `cat` on a pinned
 * iterator).
 *
 * @module
 */

import type { Command } from "commander";
import type { Ctx } from "../dispatch.ts";
import { loadCore } from "../core.ts";

/**
 * Register the attach-point commands.
 *
 * @param program The root command.
 * @param ctx What the commands use.
 * @example
 * ```ts
 * register(program, ctx);
 * ```
 */
export function register(program: Command, ctx: Ctx): void {
  const { session, out } = ctx;
  const group = "Objects:";

  program.command("probes").helpGroup(group)
    .summary("list attach points: tracepoints, kprobes, uprobes, USDT, iterators")
    .description(
      "list attach points matching a pattern, written KIND:TARGET as attach takes them: " +
        "tracepoint:CAT:NAME, rawtracepoint:NAME, kprobe:FUNC, fentry:FUNC, iter:NAME, " +
        "perf_event:EVENT, uprobe:BINARY:FUNC, usdt:BINARY:PROVIDER:NAME",
    )
    .argument("[pattern]", "e.g. 'tracepoint:syscalls:*open*', 'uprobe:/bin/bash:read*'", "*")
    .action(async (pattern: string) => {
      const { listProbes } = await loadCore();
      const found = listProbes(pattern);
      if (out.format !== "table") return out.table(found.map((probe) => ({ probe })));
      for (const p of found) out.line(p);
      if (!found.length) out.info(`no attach point matches '${pattern}'`);
    });

  program.command("iter").helpGroup(group)
    .description("run an iterator program (iter/task, iter/bpf_map, …) and print its output")
    .argument("<prog>", "the iterator program (name or object.name)")
    .option("--map <map>", "the map a map iterator (iter/bpf_map_elem) walks")
    .action((spec: string, opts: { map?: string }) => {
      const { prog } = session.prog(spec);
      const map = opts.map ? session.map(opts.map).map : undefined;
      const link = prog.attach(undefined, map ? { map } : {});
      try {
        out.raw(link.readText());
      } finally {
        link.close();
      }
    });
}
