/**
 * `kstack` and `ustack` in the probe language: the bare builtins and the calls
 * `kstack([mode,] [depth])` / `ustack([mode,] [depth])`, with bpftrace's rules for their
 * arguments (a mode word, `perf` or `bpftrace`, then an integer literal up to 1024).
 *
 * The C takes the stack with `bpf_get_stackid()` into a stack map per depth (as the stack
 * tools do, scripts/lib/stacks.bpf.h) and stores the id, and for a user stack the process
 * id beside it (./stack_kinds.ts). A program that takes user stacks also carries
 * scripts/lib/stack_pids.bpf.h, so the runner reads a process's memory map when its first
 * stack is taken (and again after an exec or new code) and names its frames after it
 * exits. Import this module for its definitions.
 *
 * @module
 */

import type { Call, Expr } from "./ast.ts";
import { defineBuiltin } from "./builtins.ts";
import { repoUrl } from "./bundle.ts";
import type { EmitSink, ProbeSite } from "./context.ts";
import { defineFunction } from "./functions.ts";
import {
  DEFAULT_STACK_DEPTH,
  type StackKind,
  stackMapName,
  type StackMode,
  stackTy,
} from "./stack_kinds.ts";

/** The most frames bpftrace lets a stack ask for. */
const MAX_DEPTH = 1024;
/** Stacks each stack map holds (distinct stacks; more are lost, and said so). */
const STACK_MAP_ENTRIES = 16384;
/** The definition name of the process notifications (see {@link usesStackPids}). */
const STACK_PIDS_DEF = "stack_pids";

/** The C that reads a stack of a kind into its stored value (the emit pass's sink). */
function stackExpr(sink: EmitSink, k: StackKind): string {
  const map = stackMapName(k.depth);
  sink.define(
    `stack_map:${k.depth}`,
    `/* Stacks of up to ${k.depth} frames, by the id bpf_get_stackid() gives. */\nstruct {\n` +
      `\t__uint(type, BPF_MAP_TYPE_STACK_TRACE);\n\t__uint(max_entries, ${STACK_MAP_ENTRIES});\n` +
      `\t__type(key, __u32);\n\t__type(value, __u64[${k.depth}]);\n} ${map} SEC(".maps");\n`,
  );
  if (!k.user) {
    const fn = `bt_kstack_${k.depth}`;
    sink.define(
      `stack_fn:${fn}`,
      `/* kstack: the stack id (an errno when negative). */
static __always_inline __u64 ${fn}(void *ctx)
{
\treturn (__u32)bpf_get_stackid(ctx, &${map}, 0);
}
`,
    );
    return `${fn}(${sink.ctx})`;
  }
  sink.define(STACK_PIDS_DEF, stackPidsC());
  const fn = `bt_ustack_${k.depth}`;
  sink.define(
    `stack_fn:${fn}`,
    `/* ustack: the process id above the stack id; the process is announced to user space. */
static __always_inline __u64 ${fn}(void *ctx)
{
\t__u32 pid = bpf_get_current_pid_tgid() >> 32;
\tlong id = bpf_get_stackid(ctx, &${map}, BPF_F_USER_STACK);

\tif (id >= 0)
\t\tstack_pid_seen(pid);
\treturn ((__u64)pid << 32) | (__u32)id;
}
`,
  );
  return `${fn}(${sink.ctx})`;
}

let stackPidsHeader: string | undefined;

/** scripts/lib/stack_pids.bpf.h, with the one kernel type it needs. */
function stackPidsC(): string {
  stackPidsHeader ??= Deno.readTextFileSync(repoUrl("scripts/lib/stack_pids.bpf.h"));
  return `/* The record of the sys_enter_* tracepoints, as their tracefs format gives it. */
struct trace_event_raw_sys_enter {
\tunsigned short common_type;
\tunsigned char common_flags;
\tunsigned char common_preempt_count;
\tint common_pid;
\tlong id;
\tunsigned long args[6];
};

/* From bpfsh's scripts/lib/stack_pids.bpf.h: */
${stackPidsHeader}`;
}

/**
 * Whether an emitted program carries the process notifications (it takes user stacks):
 * the runner then attaches their two programs and watches their ring.
 *
 * @param defs The emit pass's file-scope definitions, by name.
 * @returns True when a `ustack` was emitted.
 * @example
 * ```ts
 * usesStackPids(emitter.defs); // true after a ustack
 * ```
 */
export function usesStackPids(defs: ReadonlyMap<string, string>): boolean {
  return defs.has(STACK_PIDS_DEF);
}

for (const user of [false, true]) {
  const name = user ? "ustack" : "kstack";
  const kind: StackKind = { user, mode: "bpftrace", depth: DEFAULT_STACK_DEPTH };
  defineBuiltin({
    name,
    type: () => stackTy(kind),
    expr: (sink) => stackExpr(sink, kind),
  });
  defineFunction({
    name,
    check: (site, call) => stackTy(stackArgs(site, call, user)),
    emit: (sink, call) => stackExpr(sink, stackArgs(undefined, call, user)),
  });
}

/** A call's kind, from its arguments: `([mode,] [depth])`, bpftrace's messages when wrong. */
function stackArgs(site: ProbeSite | undefined, call: Call, user: boolean): StackKind {
  const fail = (e: { span: Call["span"] }, reason: string, hint?: string): never => {
    if (!site) throw new Error(reason);
    return site.fail(e.span, reason, hint);
  };
  const name = call.name;
  if (call.args.length > 2) {
    fail(call, `${name}() takes up to 2 arguments (${call.args.length} provided)`);
  }
  let mode: StackMode = "bpftrace";
  let depth = DEFAULT_STACK_DEPTH;
  const modeOf = (e: Expr) =>
    e.kind === "builtin" && (e.name === "perf" || e.name === "bpftrace") ? e.name : undefined;
  const what = (e: Expr) =>
    e.kind === "int" ? "integer" : modeOf(e) ? "stack mode" : e.kind === "str" ? "string" : "none";
  const [first, second] = call.args;
  let depthArg: Expr | undefined;
  if (first && modeOf(first)) {
    mode = modeOf(first)!;
    depthArg = second;
  } else if (first) {
    if (second) fail(first, `${name}() expects a stack mode literal (${what(first)} provided)`);
    if (first.kind === "builtin" && first.name !== "perf" && first.name !== "bpftrace") {
      fail(first, `Unknown identifier: '${first.name}'`, "the stack modes are perf and bpftrace");
    }
    depthArg = first;
  }
  if (depthArg) {
    if (depthArg.kind !== "int") {
      fail(depthArg, `${name}() expects a integer literal (${what(depthArg)} provided)`);
    }
    const n = Number((depthArg as Extract<Expr, { kind: "int" }>).value);
    if (n > MAX_DEPTH) {
      fail(depthArg, `${name}([int limit]): limit shouldn't exceed ${MAX_DEPTH}, ${n} given`);
    }
    if (n < 1) fail(depthArg, `${name}([int limit]): limit must be at least 1, ${n} given`);
    const max = maxStackDepth();
    if (max !== undefined && n > max) {
      fail(
        depthArg,
        `${name}([int limit]): the kernel takes at most ${max} frames (perf_event_max_stack)`,
        `raise it with: sysctl kernel.perf_event_max_stack=${n}`,
      );
    }
    depth = n;
  }
  return { user, mode, depth };
}

/** The kernel's `perf_event_max_stack`, or undefined when unreadable. */
function maxStackDepth(): number | undefined {
  try {
    const n = parseInt(Deno.readTextFileSync("/proc/sys/kernel/perf_event_max_stack"), 10);
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}
