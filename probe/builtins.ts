/**
 * The builtin variables of the probe language, as a table: each entry says where it may
 * be used, its type, and the C that computes it. To add one (as ./stacks.ts adds `kstack`), call
 * {@link defineBuiltin}; a new value kind for it goes through `defineKind` in ./types.ts.
 * Names bpftrace has that are not here yet are listed in {@link UNSUPPORTED_BUILTINS}, so
 * that using one gives "not supported" instead of "unknown".
 *
 * @module
 */

import { type EmitSink, type ProbeSite, type Provider, RETVAL_FIELD } from "./context.ts";
import type { Span } from "./diagnostic.ts";
import { FUNC_TY, PROBE_TY, strTy, type Ty, U64 } from "./types.ts";

/** One builtin variable. */
export interface BuiltinDef {
  /** The name, e.g. `"pid"`. */
  name: string;
  /** Its type where it is used; calls `site.fail` where it may not be used. */
  type(site: ProbeSite, span: Span): Ty;
  /** An integer (or special kind) value: its C expression. */
  expr?(sink: EmitSink): string;
  /** A string value: C that writes it into `dest` (`size` bytes, already zeroed). */
  into?(sink: EmitSink, dest: string, size: number): void;
  /**
   * Whether its value depends on which attach target fired (`probe`, `func`): the
   * program then learns the target from its attach cookie or is built once per target.
   */
  perTarget?: boolean;
}

/** The builtins, by name. */
export const BUILTINS: Map<string, BuiltinDef> = new Map();

/** Builtins of bpftrace outside this subset, with what to use instead. */
export const UNSUPPORTED_BUILTINS: Record<string, string> = {
  ctx: "raw context access is not supported: use args->FIELD, argN or retval",
  curtask: "curtask (struct task_struct *) is not supported: use pid, tid, comm, cgroup",
  cpid: "cpid needs a child command (-c), which is not supported",
  username: "username is not supported: use uid",
  sarg0: "sargN (stack arguments) is not supported",
};
for (let i = 1; i <= 9; i++) UNSUPPORTED_BUILTINS[`sarg${i}`] = UNSUPPORTED_BUILTINS.sarg0;

/**
 * Add (or replace) a builtin.
 *
 * @param def The builtin.
 * @example
 * ```ts
 * defineBuiltin({
 *   name: "numaid",
 *   type: () => U64,
 *   expr: () => "bpf_get_numa_node_id()",
 * });
 * ```
 */
export function defineBuiltin(def: BuiltinDef): void {
  BUILTINS.set(def.name, def);
  delete UNSUPPORTED_BUILTINS[def.name];
}

/**
 * Whether a word names a builtin (supported or not): the parser reads `(pid)` as a
 * parenthesised value rather than a cast.
 *
 * @param name The word.
 * @returns True for builtin names.
 * @example
 * ```ts
 * isBuiltinName("comm"); // true
 * ```
 */
export function isBuiltinName(name: string): boolean {
  return BUILTINS.has(name) || name in UNSUPPORTED_BUILTINS;
}

/** Where a probe's arguments live: x86-64 `struct pt_regs` offsets, by register. */
const X86_ARGS = [112, 104, 96, 88, 72, 64]; // di, si, dx, cx, r8, r9
const X86_RET = 80; // ax
const ARM64_ARGS = [0, 8, 16, 24, 32, 40, 48, 56]; // regs[0..7]
const ARM64_RET = 0;

/** The pt_regs byte offsets of the argument registers on this machine. */
export function argOffsets(): number[] {
  return Deno.build.arch === "aarch64" ? ARM64_ARGS : X86_ARGS;
}

/** The pt_regs byte offset of the return value register on this machine. */
export function retOffset(): number {
  return Deno.build.arch === "aarch64" ? ARM64_RET : X86_RET;
}

const simple = (name: string, expr: string, ty: Ty = U64) =>
  defineBuiltin({ name, type: () => ty, expr: () => expr });

simple("pid", "(bpf_get_current_pid_tgid() >> 32)");
simple("tid", "((__u32)bpf_get_current_pid_tgid())");
simple("uid", "((__u32)bpf_get_current_uid_gid())");
simple("gid", "(bpf_get_current_uid_gid() >> 32)");
simple("nsecs", "bpf_ktime_get_ns()");
simple("elapsed", "(bpf_ktime_get_boot_ns() - bt_start_ns)");
simple("cpu", "bpf_get_smp_processor_id()");
simple("cgroup", "bpf_get_current_cgroup_id()");
simple("rand", "bpf_get_prandom_u32()");
simple("numaid", "bpf_get_numa_node_id()");

defineBuiltin({
  name: "comm",
  type: () => strTy(16),
  into: (sink, dest) => sink.stmt(`bpf_get_current_comm(${dest}, 16);`),
});

defineBuiltin({
  name: "args",
  type: (site, span) => {
    if (!["tracepoint", "kfunc", "kretfunc"].includes(site.provider)) {
      site.fail(
        span,
        "the args builtin can only be used with tracepoint, kfunc and kretfunc probes " +
          `(${site.provider} used here)`,
        site.provider === "uprobe" || site.provider === "kprobe"
          ? "use arg0, arg1, ... for the function's arguments"
          : undefined,
      );
    }
    return { k: "args" };
  },
});

const ARG_PROVIDERS: Provider[] = ["uprobe", "kprobe", "rawtracepoint"];

for (let i = 0; i <= 9; i++) {
  defineBuiltin({
    name: `arg${i}`,
    type: (site, span) => {
      if (!ARG_PROVIDERS.includes(site.provider)) {
        site.fail(
          span,
          `the arg${i} builtin can only be used with kprobe, uprobe and rawtracepoint probes`,
          site.provider === "tracepoint" ? "use args->FIELD in tracepoints" : undefined,
        );
      }
      if (site.provider !== "rawtracepoint" && i >= argOffsets().length) {
        site.fail(span, `${Deno.build.arch} doesn't support arg${i}`);
      }
      return U64;
    },
    expr: (sink) =>
      sink.provider === "rawtracepoint"
        ? `(((struct bpf_raw_tracepoint_args *)${sink.ctx})->args[${i}])`
        : `(*(__u64 *)((char *)${sink.ctx} + ${argOffsets()[i]}))`,
  });
}

defineBuiltin({
  name: "retval",
  type: (site, span) => {
    if (site.provider === "kretfunc") {
      // Typed by the function's BTF, in the fexit slot after its arguments.
      const f = site.field(RETVAL_FIELD);
      if (f?.ty) return f.ty;
      return site.fail(
        span,
        f ? `the return type '${f.cType}' is not supported` : "this function returns void",
      );
    }
    if (site.provider !== "uretprobe" && site.provider !== "kretprobe") {
      site.fail(
        span,
        "the retval builtin can only be used with kretprobe, uretprobe and kretfunc probes",
        site.provider === "tracepoint" ? "in a sys_exit_* tracepoint, use args->ret" : undefined,
      );
    }
    return U64;
  },
  expr: (sink) =>
    sink.provider === "kretfunc"
      ? sink.field(RETVAL_FIELD)
      : `(*(__u64 *)((char *)${sink.ctx} + ${retOffset()}))`,
});

defineBuiltin({
  name: "probe",
  type: () => PROBE_TY,
  expr: (sink) => `((__u64)(${sink.targetIndex()}))`,
  perTarget: true,
});

defineBuiltin({
  name: "func",
  type: (site, span) => {
    const ok: Provider[] = ["uprobe", "uretprobe", "kprobe", "kretprobe", "kfunc", "kretfunc"];
    if (!ok.includes(site.provider)) {
      site.fail(span, `the func builtin can not be used with '${site.provider}' probes`);
    }
    return FUNC_TY;
  },
  expr: (sink) => `((__u64)(${sink.targetIndex()}))`,
  perTarget: true,
});
