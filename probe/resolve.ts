/**
 * The resolve pass: positional parameters become literals, attach points are parsed and
 * their wildcards expanded (tracepoints from tracefs, uprobe functions from the binary's
 * symbols), tracepoint fields are looked up in each tracepoint's format, and every probe
 * block becomes one or more *units*: the BPF programs to build, each with the targets it
 * attaches to.
 *
 * A block's targets share one program when they can: same program type, and (when the
 * block reads `args`) the same layout of the fields it reads. `probe` and `func` then come
 * from the attach cookie; where a provider has no cookie, each target gets its own program.
 *
 * @module
 */

import { kprobeAlternative, kprobesAvailable } from "../bpf/system/kernel_limits.ts";
import { globRegExp } from "../bpf/link/glob.ts";
import { type AttachPoint, hasWildcard, parseAttachPoint, probeName } from "./attach.ts";
import { type Expr, type Probe, type Program, walkExpr, walkProbe } from "./ast.ts";
import { BUILTINS } from "./builtins.ts";
import { type Provider, RETVAL_FIELD } from "./context.ts";
import { fail, nearest, type SourceText, type Span } from "./diagnostic.ts";
import type { ProviderSupport } from "./providers.ts";
import {
  tracepointExists,
  type TracepointField,
  type TracepointFormat,
  tracepointFormat,
  tracepoints,
  tracepointsMatching,
} from "./tracefs.ts";

/** One concrete place a program attaches to. */
export interface Target {
  /** Index in {@link ResolvedProgram.targets}: the value `probe` stores. */
  id: number;
  /** What it is. */
  ap: AttachPoint;
  /** As `probe` prints it. */
  name: string;
  /** The function, for `func` (uprobes, kprobes, kfuncs). */
  func?: string;
  /** The resolved binary of a uprobe. */
  binary?: string;
  /** A tracepoint's record layout (when its fields are read). */
  format?: TracepointFormat;
}

/** One BPF program to build. */
export interface Unit {
  /** Its index; the C function is `probe_<index>`. */
  index: number;
  /** The probe block it comes from. */
  probe: Probe;
  /** That block's index in the program. */
  probeIndex: number;
  /** The program type's provider. */
  provider: Provider;
  /** What it attaches to. */
  targets: Target[];
  /** True when `probe`/`func` are read from the attach cookie (several targets). */
  cookie: boolean;
  /** For tracepoints that read `args`: the fields read, as the unit's layout gives them. */
  fields: Map<string, TracepointField>;
  /** The tracepoint layout the unit's `args` struct follows. */
  format?: TracepointFormat;
}

/** The resolved program. */
export interface ResolvedProgram {
  units: Unit[];
  targets: Target[];
  /** The names of the targets, by id (what `probe` prints). */
  probeNames: string[];
  /** The function of each target, by id (what `func` prints). */
  funcNames: string[];
  /**
   * Whether the result depends on nothing but the program, the kernel build and the
   * tracepoints it has (`available_events`, where tracepoint wildcards are expanded from:
   * tracepoints come and go with modules): no other wildcards and no uprobes (binaries
   * change).
   */
  cacheable: boolean;
}

/** Options of {@link resolve}. */
export interface ResolveOptions {
  /** Positional parameters: `$1` is `params[0]`. */
  params?: string[];
  /**
   * The modules of the providers that need more than tracefs (./providers.ts): those the
   * program uses must be there ({@link programProviders} says which).
   */
  support?: ProviderSupport;
}

/** Providers whose attach takes a BPF cookie (perf-event based links). */
const COOKIE_PROVIDERS = new Set<Provider>([
  "tracepoint",
  "uprobe",
  "uretprobe",
  "profile",
  "interval",
]);

/**
 * Resolve a parsed program against the running kernel and the binaries it names.
 *
 * @param src The program text (for errors).
 * @param prog The parsed program (positional parameters are replaced in it).
 * @param opts Positional parameters.
 * @returns The units to build and the targets they attach to.
 * @throws {ProbeError} For unknown tracepoints (with the nearest names), fields, functions,
 *   binaries, and providers this kernel lacks.
 * @throws {Error} When a provider's support module was not given.
 * @example
 * ```ts
 * const r = resolve(src, parseProgram(src), { params: ["42"] });
 * r.units.length;
 * ```
 */
export function resolve(
  src: SourceText,
  prog: Program,
  opts: ResolveOptions = {},
): ResolvedProgram {
  const params = opts.params ?? [];
  const support = opts.support ?? {};
  const targets: Target[] = [];
  const units: Unit[] = [];
  let cacheable = true;
  prog.probes.forEach((probe, probeIndex) => {
    substituteParams(src, probe, params);
    const found: Target[] = [];
    for (const ap of probe.attach) {
      const text = attachText(ap.text, params);
      const parsed = parseAttachPoint(src, text, ap.span);
      const globbed = /[*?]/.test(text) && parsed.provider !== "tracepoint";
      if (globbed || parsed.provider === "uprobe" || parsed.provider === "uretprobe") {
        cacheable = false;
      }
      for (const t of expand(src, parsed, ap.span, support)) {
        found.push({ ...t, id: targets.length });
        targets.push(found[found.length - 1]);
      }
    }
    for (const group of groupTargets(src, probe, found, support)) {
      units.push({ ...group, index: units.length, probe, probeIndex });
    }
  });
  return {
    units,
    targets,
    probeNames: targets.map((t) => t.name),
    funcNames: targets.map((t) => t.func ?? ""),
    cacheable,
  };
}

/**
 * The providers a program's attach points name, read as {@link resolve} reads them (those
 * it cannot parse are left for it to report).
 *
 * @param src The program text.
 * @param prog The parsed program (not changed).
 * @param params Positional parameters (an attach point may use them).
 * @returns The providers.
 * @example
 * ```ts
 * programProviders(src, parseProgram(src)); // Set { "tracepoint", "BEGIN" }
 * ```
 */
export function programProviders(
  src: SourceText,
  prog: Program,
  params: string[] = [],
): Set<Provider> {
  const out = new Set<Provider>();
  for (const probe of prog.probes) {
    for (const ap of probe.attach) {
      try {
        out.add(parseAttachPoint(src, attachText(ap.text, params), ap.span).provider);
      } catch {
        // resolve() reports it, in its place among the program's errors.
      }
    }
  }
  return out;
}

/** An attach point's text with its positional parameters filled in. */
function attachText(text: string, params: string[]): string {
  return text.replace(/\$(\d+)/g, (_, n) => params[Number(n) - 1] ?? "");
}

/** A provider's support module, which the caller must have loaded. */
function needed<K extends keyof ProviderSupport>(
  support: ProviderSupport,
  name: K,
  provider: Provider,
): NonNullable<ProviderSupport[K]> {
  const mod = support[name];
  if (!mod) {
    throw new Error(`resolve: ${provider} probes need their support module ('${name}') loaded`);
  }
  return mod as NonNullable<ProviderSupport[K]>;
}

/** Replace `$N` and `$#` by literals (strings inside `str()`, integers elsewhere). */
function substituteParams(src: SourceText, probe: Probe, params: string[]): void {
  const visit = (e: Expr, inStr: boolean) => {
    if (e.kind === "param") {
      const node = e as unknown as Record<string, unknown>;
      if (e.n === 0) {
        Object.assign(node, { kind: "int", value: BigInt(params.length) });
        return;
      }
      const raw = params[e.n - 1];
      if (inStr) {
        Object.assign(node, { kind: "str", value: raw ?? "" });
        return;
      }
      if (raw === undefined || raw === "") {
        Object.assign(node, { kind: "int", value: 0n });
        return;
      }
      const m = /^(-)?(0[xX][0-9a-fA-F]+|\d+)$/.exec(raw.trim());
      if (!m) {
        fail(src, e.span, `$${e.n} used numerically but given "${raw}". Try using str($${e.n}).`);
      }
      const v = BigInt(m[2]);
      Object.assign(node, { kind: "int", value: m[1] ? -v : v });
      return;
    }
    if (e.kind === "call" && e.name === "str" && e.args[0]?.kind === "param") {
      visit(e.args[0], true);
      e.args.slice(1).forEach((a) => walkExpr(a, (x) => visit(x, false)));
      return;
    }
    for (const child of children(e)) visit(child, false);
  };
  if (probe.predicate) visit(probe.predicate, false);
  walkStmtsShallow(probe, (e) => visit(e, false));
}

/** The direct sub-expressions of an expression. */
function children(e: Expr): Expr[] {
  switch (e.kind) {
    case "map":
      return e.keys;
    case "call":
      return e.args;
    case "binop":
      return [e.left, e.right];
    case "unop":
    case "cast":
    case "field":
      return [e.expr];
    case "index":
      return [e.expr, e.index];
    case "ternary":
      return [e.cond, e.then, e.otherwise];
    default:
      return [];
  }
}

/** Call `fn` on the top-level expressions of a probe's statements. */
function walkStmtsShallow(probe: Probe, fn: (e: Expr) => void): void {
  const stmts = (list: Probe["body"]) => {
    for (const s of list) {
      if (s.kind === "expr") fn(s.expr);
      else if (s.kind === "assign") {
        fn(s.target);
        fn(s.value);
      } else {
        fn(s.cond);
        stmts(s.then);
        stmts(s.otherwise);
      }
    }
  };
  stmts(probe.body);
}

type Found = Omit<Target, "id">;

/**
 * The concrete targets of one attach point (one function per provider family: only the
 * ones a program uses are ever compiled).
 */
function expand(
  src: SourceText,
  ap: AttachPoint,
  span: Span,
  support: ProviderSupport,
): Found[] {
  switch (ap.provider) {
    case "tracepoint":
      return expandTracepoint(src, ap, span);
    case "rawtracepoint":
      return expandRawTracepoint(src, ap, span, support);
    case "uprobe":
    case "uretprobe":
      return expandUprobe(src, ap, span, support);
    case "kprobe":
    case "kretprobe":
      return expandKprobe(src, ap, span);
    case "kfunc":
    case "kretfunc":
      return expandKfunc(src, ap, span);
    default:
      return [{ ap, name: probeName(ap) }];
  }
}

/** The attach point of some providers. */
type PointOf<P extends Provider> = Extract<AttachPoint, { provider: P }>;

/** A tracepoint, or those its wildcards match (from tracefs). */
function expandTracepoint(src: SourceText, ap: PointOf<"tracepoint">, span: Span): Found[] {
  const full = `${ap.category}:${ap.event}`;
  if (!hasWildcard(full)) {
    // Its format file says it exists (read only if the block reads `args`); the whole
    // list is read only to suggest names.
    if (!tracepointExists(ap.category, ap.event)) {
      const near = nearest(full, tracepoints()).map((n) => `tracepoint:${n}`);
      fail(
        src,
        span,
        `unknown tracepoint 'tracepoint:${full}'`,
        near.length ? `did you mean ${near.join(", ")}?` : "list them with bpfsh -l 'tracepoint:*'",
      );
    }
    return [{ ap, name: probeName(ap) }];
  }
  const re = globRegExp(full);
  const matches = tracepointsMatching(re);
  if (!matches.length) {
    fail(src, span, `no tracepoint matches 'tracepoint:${full}'`, "list them with bpfsh -l");
  }
  return matches.map((n) => {
    const [category, event] = n.split(":");
    const c: AttachPoint = { provider: "tracepoint", category, event };
    return { ap: c, name: probeName(c) };
  });
}

/** A raw tracepoint, or those its wildcards match (from the kernel's BTF). */
function expandRawTracepoint(
  src: SourceText,
  ap: PointOf<"rawtracepoint">,
  span: Span,
  support: ProviderSupport,
): Found[] {
  const { listProbes } = needed(support, "listing", ap.provider);
  const names = new Set(
    listProbes("rawtracepoint:*").map((n) => n.slice("rawtracepoint:".length)),
  );
  if (hasWildcard(ap.event)) {
    const re = globRegExp(ap.event);
    const matches = [...names].filter((n) => re.test(n)).sort();
    if (!matches.length) fail(src, span, `no raw tracepoint matches '${ap.event}'`);
    return matches.map((event) => {
      const c: AttachPoint = { provider: "rawtracepoint", event };
      return { ap: c, name: probeName(c) };
    });
  }
  if (!names.has(ap.event)) {
    const near = nearest(ap.event, names);
    fail(
      src,
      span,
      `unknown raw tracepoint '${ap.event}'`,
      near.length ? `did you mean ${near.join(", ")}?` : undefined,
    );
  }
  return [{ ap, name: probeName(ap) }];
}

/** A binary's function, or those its wildcards match (from its symbols). */
function expandUprobe(
  src: SourceText,
  ap: PointOf<"uprobe" | "uretprobe">,
  span: Span,
  support: ProviderSupport,
): Found[] {
  const { findBinary, functionSymbols } = needed(support, "symbols", ap.provider);
  const binary = findBinary(ap.binary);
  if (!binary) {
    fail(src, span, `binary '${ap.binary}' not found`, "give a path or a name on PATH");
  }
  const syms = functionSymbols(binary);
  const make = (func: string): Found => {
    const c: AttachPoint = { ...ap, binary, func };
    return { ap: c, name: probeName(c), func, binary };
  };
  if (hasWildcard(ap.func)) {
    const re = globRegExp(ap.func);
    const matches = syms.filter((s) => re.test(s));
    if (!matches.length) fail(src, span, `no function of '${binary}' matches '${ap.func}'`);
    return matches.map(make);
  }
  if (syms.length && !syms.includes(ap.func)) {
    const near = nearest(ap.func, syms);
    fail(
      src,
      span,
      `'${binary}' has no function '${ap.func}'`,
      near.length
        ? `did you mean ${near.join(", ")}?`
        : `list them with bpfsh -l 'uprobe:${binary}:*'`,
    );
  }
  return [make(ap.func)];
}

/** A kernel function for a kprobe (no wildcards), where this kernel has kprobes. */
function expandKprobe(src: SourceText, ap: PointOf<"kprobe" | "kretprobe">, span: Span): Found[] {
  if (!kprobesAvailable()) {
    fail(
      src,
      span,
      `${ap.provider} probes are not available on this kernel (CONFIG_KPROBES is not set)`,
      probeAlternative(ap.func),
    );
  }
  if (hasWildcard(ap.func)) {
    fail(src, span, `wildcards in ${ap.provider} names are not supported`);
  }
  return [{ ap, name: probeName(ap), func: ap.func }];
}

/** A kernel function for fentry/fexit (no wildcards). */
function expandKfunc(src: SourceText, ap: PointOf<"kfunc" | "kretfunc">, span: Span): Found[] {
  if (hasWildcard(ap.func)) {
    fail(src, span, `wildcards in ${ap.provider} names are not supported`);
  }
  return [{ ap, name: probeName(ap), func: ap.func }];
}

/**
 * What to use instead of a kernel function probe here, in bpftrace's words: the syscall
 * tracepoint for a syscall entry, else tracepoints in general.
 *
 * @param func The kernel function.
 * @returns A hint.
 * @example
 * ```ts
 * probeAlternative("__x64_sys_openat"); // "use tracepoint:syscalls:sys_enter_openat ..."
 * ```
 */
export function probeAlternative(func: string): string {
  const m = /tracepoint\/syscalls\/sys_enter_(\w+)/.exec(kprobeAlternative(func));
  if (m && tracepoints().includes(`syscalls:sys_enter_${m[1]}`)) {
    return `use tracepoint:syscalls:sys_enter_${m[1]} (and sys_exit_${m[1]} for the return value)`;
  }
  return "use a tracepoint (bpfsh -l 'tracepoint:*') or a rawtracepoint";
}

/** The fields of `args` a probe block reads. */
function argsFields(probe: Probe): { name: string; span: Span }[] {
  const out: { name: string; span: Span }[] = [];
  const visit = (e: Expr) => {
    if (e.kind === "field" && e.expr.kind === "builtin" && e.expr.name === "args") {
      out.push({ name: e.field, span: e.span });
    }
  };
  walkProbe(probe, visit);
  return out;
}

/** The argument slots a kfunc/kretfunc block reads (and the return value, for kretfunc). */
function kfuncLayout(
  src: SourceText,
  name: string,
  format: TracepointFormat,
  fields: { name: string; span: Span }[],
  retval: boolean,
): Map<string, TracepointField> {
  const layout = new Map<string, TracepointField>();
  const params = format.fields.filter((x) => x.name !== RETVAL_FIELD);
  for (const f of fields) {
    const field = params.find((x) => x.name === f.name);
    if (!field) {
      fail(
        src,
        f.span,
        `${name} has no argument '${f.name}'`,
        params.length
          ? `its arguments are: ${params.map((x) => x.name).join(", ")}`
          : "it takes no arguments",
      );
    }
    layout.set(f.name, field);
  }
  const ret = format.fields.find((x) => x.name === RETVAL_FIELD);
  if (retval && ret) layout.set(RETVAL_FIELD, ret);
  return layout;
}

/** Whether a block reads a builtin whose name passes a test. */
function readsBuiltin(probe: Probe, test: (name: string) => boolean): boolean {
  let found = false;
  const visit = (e: Expr) => {
    if (e.kind === "builtin" && test(e.name)) found = true;
  };
  walkProbe(probe, visit);
  return found;
}

/** Split a block's targets into units (see the module notes). */
function groupTargets(
  src: SourceText,
  probe: Probe,
  found: Target[],
  support: ProviderSupport,
): Omit<Unit, "index" | "probe" | "probeIndex">[] {
  const fields = argsFields(probe);
  // Builtins whose value depends on which target fired (probe, func).
  const perTarget = readsBuiltin(probe, (name) => BUILTINS.get(name)?.perTarget === true);
  const retval = readsBuiltin(probe, (name) => name === "retval");
  const byKey = new Map<string, Omit<Unit, "index" | "probe" | "probeIndex">>();
  for (const t of found) {
    const provider = t.ap.provider;
    let key = provider;
    let layout = new Map<string, TracepointField>();
    let format: TracepointFormat | undefined;
    if (t.ap.provider === "tracepoint" && fields.length) {
      format = tracepointFormat(t.ap.category, t.ap.event);
      if (!format) fail(src, probe.attach[0].span, `cannot read the format of ${t.name}`);
      t.format = format;
      layout = new Map();
      for (const f of fields) {
        const field = format.fields.find((x) => x.name === f.name);
        if (!field) {
          const names = format.fields.filter((x) => !x.name.startsWith("common_")).map((x) =>
            x.name
          );
          fail(
            src,
            f.span,
            `${t.name} has no field '${f.name}'`,
            names.length ? `its fields are: ${names.join(", ")}` : "it has no fields",
          );
        }
        layout.set(f.name, field);
      }
      key += "|" + [...layout.values()].map((f) => `${f.name}@${f.offset}:${f.cType}:${f.size}`)
        .join(",");
    } else if (
      (t.ap.provider === "kfunc" || t.ap.provider === "kretfunc") &&
      (fields.length || (retval && t.ap.provider === "kretfunc"))
    ) {
      format = needed(support, "kfunc", t.ap.provider).kfuncFormat(t.ap.func);
      if (!format) {
        fail(
          src,
          probe.attach[0].span,
          `the kernel's BTF has no function '${t.ap.func}'`,
          "list them with bpfsh -l 'kfunc:*'",
        );
      }
      t.format = format;
      layout = kfuncLayout(src, t.name, format, fields, retval && t.ap.provider === "kretfunc");
      key += `|${t.ap.func}`;
    }
    // BEGIN/END run once by a test run, interval and profile by their own perf events.
    if (perTarget && !COOKIE_PROVIDERS.has(t.ap.provider)) key += `#${t.id}`;
    if (t.ap.provider === "interval" || t.ap.provider === "BEGIN" || t.ap.provider === "END") {
      key += `#${t.id}`;
    }
    let unit = byKey.get(key);
    if (!unit) {
      unit = { provider, targets: [], cookie: false, fields: layout, format };
      byKey.set(key, unit);
    }
    unit.targets.push(t);
  }
  for (const u of byKey.values()) u.cookie = perTarget && u.targets.length > 1;
  return [...byKey.values()];
}
