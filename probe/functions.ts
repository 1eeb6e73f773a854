/**
 * The functions of the probe language other than the aggregations (./aggregations.ts),
 * as a table. The output and map functions (`printf`, `time`, `print`, `clear`, `zero`,
 * `delete`, `exit`) and `str` are built into the check and emit passes; value functions
 * are entries here with their own check and C, and a new one is a {@link defineFunction}
 * call. bpftrace functions outside the subset are listed in {@link UNSUPPORTED_FUNCTIONS}.
 *
 * @module
 */

import type { Call, Expr } from "./ast.ts";
import type { EmitSink, ProbeSite } from "./context.ts";
import { isInteger, type Ty, tyName, U64 } from "./types.ts";

/** One function. */
export interface FunctionDef {
  /** The name. */
  name: string;
  /** True when it has no value (a statement only). */
  statement?: boolean;
  /**
   * Check a call and give its type. `type` types a sub-expression.
   * (Unused for the functions the passes build in.)
   */
  check(site: ProbeSite, call: Call, type: (e: Expr) => Ty): Ty;
  /** The C expression of a call's value (value functions). */
  emit?(sink: EmitSink, call: Call): string;
}

/** The functions, by name. */
export const FUNCTIONS: Map<string, FunctionDef> = new Map();

/** bpftrace functions outside this subset, with what to use instead. */
export const UNSUPPORTED_FUNCTIONS: Record<string, string> = {
  system: "system() runs commands from the kernel's events: not supported",
  cat: "cat() is not supported: read the file from the shell or a script",
  join: "join() is not supported: print the arguments with printf()",
  signal: "signal() is not supported",
  override: "override() is not supported",
  ksym: "ksym() is not supported yet",
  usym: "usym() is not supported yet",
  kaddr: "kaddr() is not supported",
  uaddr: "uaddr() is not supported",
  ntop: "ntop() is not supported",
  pton: "pton() is not supported",
  buf: "buf() is not supported: use str() for strings",
  sizeof: "sizeof() is not supported",
  strftime: "strftime() is not supported: use time(FORMAT)",
  reg: "reg() is not supported: use arg0..argN and retval",
  macaddr: "macaddr() is not supported",
  cgroup_path: "cgroup_path() is not supported: use cgroup",
  bswap: "bswap() is not supported",
  strerror: "strerror() is not supported",
  path: "path() is not supported",
  skboutput: "skboutput() is not supported",
  kptr: "kptr() is not supported",
  uptr: "uptr() is not supported",
  strcontains: "strcontains() is not supported",
  debugf: "debugf() is not supported: use printf()",
  unwatch: "watchpoints are not supported",
  cgroupid: "cgroupid() is not supported: compare cgroup with the id",
};

/**
 * Add (or replace) a function.
 *
 * @param def The function.
 * @example
 * ```ts
 * defineFunction({
 *   name: "double",
 *   check: (site, call, type) => U64,
 *   emit: (sink, call) => `(2 * (${sink.int(call.args[0])}))`,
 * });
 * ```
 */
export function defineFunction(def: FunctionDef): void {
  FUNCTIONS.set(def.name, def);
  delete UNSUPPORTED_FUNCTIONS[def.name];
}

const builtIn = (name: string, statement: boolean) =>
  defineFunction({ name, statement, check: () => ({ k: "none" }) });
for (const name of ["printf", "time", "print", "clear", "zero", "delete", "exit"]) {
  builtIn(name, true);
}
builtIn("str", false);

defineFunction({
  name: "strncmp",
  check(site, call, type) {
    if (call.args.length !== 3) site.fail(call.span, "strncmp() takes three arguments");
    const [a, b, n] = call.args.map(type);
    if (a.k !== "str" || b.k !== "str") {
      site.fail(call.span, `strncmp() compares strings (${tyName(a)}, ${tyName(b)} given)`);
    }
    if (!isInteger(n) || call.args[2].kind !== "int") {
      site.fail(call.args[2].span, "strncmp() length must be an integer literal");
    }
    return U64;
  },
  emit(sink, call) {
    const a = sink.str(call.args[0]);
    const b = sink.str(call.args[1]);
    const n = Number((call.args[2] as Extract<Expr, { kind: "int" }>).value);
    return `bt_strncmp(${a.buf}, ${b.buf}, ${Math.min(n, a.size, b.size)})`;
  },
});
