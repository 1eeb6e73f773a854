/**
 * stackcount: count the kernel and user stacks that reach a tracepoint or a uprobe, and
 * print them symbolized, like bcc's stackcount. Processes are read while they run, so
 * stacks of processes that have exited by the end are named too.
 *
 * ```
 * bpfsh run scripts/stackcount.ts t:syscalls:sys_enter_getppid --comm chain -d 2
 * bpfsh run scripts/stackcount.ts u:/usr/lib/x86_64-linux-gnu/libc.so.6:malloc --folded
 * ```
 *
 * @module
 */

import { runTool } from "./lib/run.ts";
import { type ToolSpec, UsageError } from "./lib/cli.ts";
import { applyFilters, describeFilters, filtersOf } from "./lib/filters.ts";
import { openBeside } from "./lib/events.ts";
import { applyStackArgs, STACK_OPTIONS, stackArgsOf, traceAndReport } from "./lib/stacks.ts";
import { Symbolizer } from "../bpf/stack/symbolizer.ts";

const SPEC: ToolSpec = {
  name: "stackcount",
  summary: "Count the stacks that reach a tracepoint or a uprobe, symbolized.",
  filters: ["pid", "comm"],
  argument: {
    name: "TARGET",
    help: "t:CATEGORY:NAME (a tracepoint) or u:BINARY:SYMBOL (a uprobe)",
  },
  options: STACK_OPTIONS,
  examples: [
    ["t:syscalls:sys_enter_getppid -d 2", "stacks that call getppid, for 2 seconds"],
    ["t:sched:sched_switch --kernel-only", "kernel stacks that switch tasks"],
    ["u:/usr/lib/x86_64-linux-gnu/libc.so.6:malloc -c bash", "who calls malloc in bash"],
    ["t:syscalls:sys_enter_write --folded > out.folded", "for flamegraph.pl"],
  ],
};

/**
 * Where to attach, from the command-line target.
 *
 * @param target `t:CATEGORY:NAME`, `CATEGORY:NAME`, `u:BINARY:SYMBOL` or `BINARY:SYMBOL`.
 * @returns The kind and the attach target as `program.attach()` takes it.
 * @throws {UsageError} For anything else.
 * @example
 * ```ts
 * parseTarget("t:syscalls:sys_enter_getppid"); // { kind: "tracepoint", spec: "syscalls/sys_enter_getppid" }
 * ```
 */
export function parseTarget(target: string): { kind: "tracepoint" | "uprobe"; spec: string } {
  const t = /^(?:t|tp|tracepoint):([\w]+):([\w]+)$/.exec(target) ??
    /^([\w]+):([\w]+)$/.exec(target);
  if (t) return { kind: "tracepoint", spec: `${t[1]}/${t[2]}` };
  const u = /^(?:u|uprobe):(.+):([\w.@+]+)$/.exec(target) ?? /^(\/.+):([\w.@+]+)$/.exec(target);
  if (u) return { kind: "uprobe", spec: `${u[1]}:${u[2]}` };
  throw new UsageError(
    `invalid TARGET '${target}': expected t:CATEGORY:NAME or u:BINARY:SYMBOL`,
  );
}

if (import.meta.main) {
  await runTool(SPEC, async (args, stop) => {
    const given = args.positionals[0];
    if (!given) throw new UsageError("missing TARGET (e.g. t:syscalls:sys_enter_getppid)");
    const target = parseTarget(given);
    const filters = filtersOf(args);
    const opts = stackArgsOf(args);
    using sym = new Symbolizer({ debugDirs: opts.debugDirs });
    using obj = await openBeside(import.meta.url, "stackcount.bpf.c");
    applyFilters(obj, filters);
    applyStackArgs(obj, opts);
    const prog = target.kind === "tracepoint" ? "on_tracepoint" : "on_uprobe";
    obj.program(target.kind === "tracepoint" ? "on_uprobe" : "on_tracepoint").autoload = false;
    obj.load();
    obj.attachAll(); // the stack_pids notifications
    obj.program(prog).attach(target.spec, { pid: filters.pid });
    await traceAndReport(obj, sym, stop, opts, {
      tool: SPEC.name,
      message: `Tracing stacks at ${given}${describeFilters(filters)}... Hit Ctrl-C to end.`,
      pprof: { type: "count", unit: "count" },
    });
  });
}
