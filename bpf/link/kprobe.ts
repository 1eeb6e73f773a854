/**
 * Kernel probes: `kprobe/FUNCTION[+OFFSET]`, `kretprobe/FUNCTION`, and
 * `kprobe.multi/GLOB` (one link over many functions, Linux 5.18+ with CONFIG_FPROBE; on
 * kernels without it, one kprobe per matching function).
 *
 * On kernels without the kprobe PMU, libbpf goes through tracefs `kprobe_events`: each
 * link's event is removed when it closes (and at exit or on a signal, through the owning
 * object), and events left by killed processes are swept before new ones are added.
 *
 * @module
 */

import { BPF_KPROBE_MULTI_OPTS, BPF_KPROBE_OPTS, ERRNO } from "../../ffi/abi.ts";
import { BpfError } from "../../ffi/errors.ts";
import { libbpf } from "../../ffi/libbpf.ts";
import { cstr } from "../../ffi/libc.ts";
import {
  kprobeAlternative,
  kprobeMultiAvailable,
  kprobesAvailable,
} from "../system/kernel_limits.ts";
import { readTextIfAny } from "../system/files.ts";
import { tracefsPath } from "../system/mounts.ts";
import { type AttachContext, attachWithLibbpf, type LinkRelease } from "./link.ts";
import { globRegExp } from "./glob.ts";
import { guardLegacyEvents } from "./reaper.ts";

// Where it was defined first: importers of kprobe.ts keep finding it here.
export { globRegExp };

/** What {@link attachKprobe} probes. */
export interface KprobeTarget {
  /** The kernel function, e.g. `"do_unlinkat"`. */
  func: string;
  /** Bytes past the function's start (kprobes only; 0 for kretprobes). */
  offset: number;
  /** Fire on return instead of entry. */
  retprobe: boolean;
}

/**
 * Attach a kprobe or kretprobe.
 *
 * @param ctx The loaded program.
 * @param t The function, offset and direction.
 * @returns The link's release.
 * @throws {BpfError} When the kernel has no kprobes (with a tracepoint to use instead), the
 *   function does not exist or cannot be probed, or the offset is not an instruction.
 * @example
 * ```ts
 * attachKprobe(ctx, { func: "do_unlinkat", offset: 0, retprobe: false });
 * ```
 */
export function attachKprobe(ctx: AttachContext, t: KprobeTarget): LinkRelease {
  requireKprobes(ctx.op, t.func);
  guardLegacyEvents("kprobe");
  const opts = BPF_KPROBE_OPTS.alloc();
  BPF_KPROBE_OPTS.set(opts, "offset", t.offset);
  BPF_KPROBE_OPTS.set(opts, "retprobe", t.retprobe);
  return attachWithLibbpf(
    ctx,
    () => libbpf().bpf_program__attach_kprobe_opts(ctx.ptr, cstr(t.func), opts),
    (errno) => kprobeHint(errno, t.func, t.offset),
  );
}

/** What {@link attachKprobeMulti} probes. */
export interface KprobeMultiTarget {
  /** A glob over traceable kernel functions (`*` and `?`), e.g. `"tcp_v4_*"`. */
  pattern: string;
  /** Fire on return instead of entry. */
  retprobe: boolean;
}

/**
 * Attach a kprobe.multi program to every traceable function matching a glob, in one link.
 * The glob is matched here against tracefs `available_filter_functions` (what the kernel
 * can probe), so functions that cannot be probed never make the attach fail.
 *
 * @param ctx The loaded program (section `kprobe.multi/...` or `kretprobe.multi/...`).
 * @param t The glob and direction.
 * @returns The link's release.
 * @throws {BpfError} When the kernel has no kprobes or no kprobe.multi (CONFIG_FPROBE), or
 *   nothing matches.
 * @example
 * ```ts
 * attachKprobeMulti(ctx, { pattern: "do_unlinkat", retprobe: false });
 * ```
 */
export function attachKprobeMulti(ctx: AttachContext, t: KprobeMultiTarget): LinkRelease {
  requireKprobes(ctx.op, t.pattern);
  const funcs = traceableFunctions(t.pattern);
  if (!funcs.length) {
    throw new BpfError({
      op: ctx.op,
      errno: ERRNO.ENOENT,
      message: `no traceable kernel function matches '${t.pattern}'`,
      hint: `list them with: probes 'kprobe:${t.pattern}'`,
    });
  }
  // Loaded as a plain kprobe (see prepareKprobeMulti): one kprobe per function.
  if (libbpf().bpf_program__expected_attach_type(ctx.ptr) !== BPF_TRACE_KPROBE_MULTI) {
    return attachEach(ctx, funcs, t);
  }
  const names = funcs.map(cstr);
  const table = new BigUint64Array(names.length);
  names.forEach((n, i) => table[i] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(n))));
  const opts = BPF_KPROBE_MULTI_OPTS.alloc();
  BPF_KPROBE_MULTI_OPTS.set(opts, "syms", new Uint8Array(table.buffer));
  BPF_KPROBE_MULTI_OPTS.set(opts, "cnt", names.length);
  BPF_KPROBE_MULTI_OPTS.set(opts, "retprobe", t.retprobe);
  const release = attachWithLibbpf(
    ctx,
    () => libbpf().bpf_program__attach_kprobe_multi_opts(ctx.ptr, null, opts),
    (errno) =>
      errno === ERRNO.EOPNOTSUPP || errno === ERRNO.ENOTSUPP
        ? "this kernel has no kprobe.multi links (Linux 5.18+ built with CONFIG_FPROBE): " +
          `attach kprobe/FUNCTION programs one by one, or fentry/FUNCTION`
        : errno === ERRNO.EINVAL
        ? "the program must be loaded from a kprobe.multi/ or kretprobe.multi/ section"
        : undefined,
  );
  void names, table; // libbpf read the strings and their table during the call
  return release;
}

/** `BPF_TRACE_KPROBE_MULTI`, the expected attach type of kprobe.multi programs. */
const BPF_TRACE_KPROBE_MULTI = 42;
/** The most functions a glob may expand to when each is its own kprobe (one fd each). */
export const KPROBE_EACH_LIMIT = 512;

/**
 * Make an object's kprobe.multi programs loadable as plain kprobes when the kernel has no
 * kprobe.multi links, so that attach can expand their glob into one kprobe per function (as
 * bpftrace does). Called before the object loads; does nothing on kernels with fprobe.
 *
 * @param objectPtr The `struct bpf_object *`, not loaded yet.
 * @returns How many programs were changed.
 * @example
 * ```ts
 * prepareKprobeMulti(objPtr); // then bpf_object__load
 * ```
 */
export function prepareKprobeMulti(objectPtr: Deno.PointerObject): number {
  const sym = libbpf();
  let changed = 0;
  for (
    let p = sym.bpf_object__next_program(objectPtr, null);
    p;
    p = sym.bpf_object__next_program(objectPtr, p)
  ) {
    const section = Deno.UnsafePointerView.getCString(sym.bpf_program__section_name(p)!);
    if (!/^k(ret)?probe\.multi([/:]|$)/.test(section)) continue;
    if (!kprobesAvailable() || kprobeMultiAvailable()) return changed;
    sym.bpf_program__set_expected_attach_type(p, 0);
    changed++;
  }
  return changed;
}

/** One kprobe per function, as one release; functions that cannot be probed are skipped. */
function attachEach(ctx: AttachContext, funcs: string[], t: KprobeMultiTarget): LinkRelease {
  if (funcs.length > KPROBE_EACH_LIMIT) {
    throw new BpfError({
      op: ctx.op,
      message: `'${t.pattern}' matches ${funcs.length} functions; without kprobe.multi links ` +
        `(CONFIG_FPROBE) each is its own kprobe, at most ${KPROBE_EACH_LIMIT}`,
      hint: "narrow the glob, or use fentry programs",
    });
  }
  const parts: LinkRelease[] = [];
  let last: unknown;
  for (const func of funcs) {
    try {
      parts.push(attachKprobe(ctx, { func, offset: 0, retprobe: t.retprobe }));
    } catch (e) {
      // Listed as traceable, yet refused (blacklisted, gone with a module): skip it.
      if (!(e instanceof BpfError) || !["EINVAL", "ENOENT", "EBUSY"].includes(e.code)) {
        for (const p of parts) p.destroy();
        throw e;
      }
      last = e;
    }
  }
  if (!parts.length) throw last;
  return { fd: parts[0].fd, destroy: () => parts.forEach((p) => p.destroy()) };
}

/**
 * The traceable kernel functions matching a glob (from tracefs available_filter_functions).
 *
 * @param pattern A glob with `*` and `?`, e.g. `"tcp_v4_*"`.
 * @returns The function names, deduplicated, in the kernel's order.
 * @example
 * ```ts
 * traceableFunctions("do_unlinkat"); // ["do_unlinkat"]
 * ```
 */
export function traceableFunctions(pattern: string): string[] {
  const text = readTextIfAny(tracefsPath("available_filter_functions")) ?? "";
  const re = globRegExp(pattern);
  const out = new Set<string>();
  for (const line of text.split("\n")) {
    const name = line.split(" ")[0];
    // __ftrace_invalid_address___N entries stand for functions ftrace lost track of.
    if (name && re.test(name) && !name.startsWith("__ftrace_invalid_address")) out.add(name);
  }
  return [...out];
}

function requireKprobes(op: string, func: string): void {
  if (kprobesAvailable()) return;
  throw new BpfError({
    op,
    errno: ERRNO.EOPNOTSUPP,
    message: "kprobes are not available on this kernel (CONFIG_KPROBES is not set)",
    hint: `attach to ${kprobeAlternative(func.replace(/[*?].*$/, ""))} instead`,
  });
}

function kprobeHint(errno: number, func: string, offset: number): string | undefined {
  switch (errno) {
    case ERRNO.ENOENT:
      return `no kernel function '${func}' can be probed (static functions are often inlined ` +
        `or renamed, e.g. ${func}.isra.0): list them with: probes 'kprobe:${func}*'`;
    case ERRNO.EILSEQ:
      return `offset ${offset} is not at an instruction boundary of '${func}'`;
    case ERRNO.EINVAL:
      return offset
        ? `offset ${offset} is past the end of '${func}' or not an instruction boundary`
        : `'${func}' cannot be probed (blacklisted, or in a notrace section)`;
    default:
      return undefined;
  }
}
