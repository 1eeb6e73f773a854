/**
 * Listing probes, as `bpftrace -l` does: tracepoints (from tracefs), raw tracepoints,
 * kernel functions with BTF as `kfunc:` (and `kprobe:` where kprobes exist), the
 * functions of a binary as `uprobe:BIN:FUNC`; `-lv` adds each tracepoint's fields and
 * each kernel function's arguments. The same listing feeds Tab completion.
 *
 * @module
 */

import { Btf } from "../bpf/btf/btf.ts";
import { globRegExp } from "./attach.ts";
import { kprobesAvailable } from "./resolve.ts";
import { findBinary, functionSymbols } from "./symbols.ts";
import { tracepointFormat, tracepoints } from "./tracefs.ts";

/** Provider aliases a listing pattern may use. */
const ALIAS: Record<string, string> = {
  t: "tracepoint",
  rt: "rawtracepoint",
  u: "uprobe",
  ur: "uretprobe",
  k: "kprobe",
  kr: "kretprobe",
  f: "kfunc",
  fr: "kretfunc",
};

/** One listed probe. */
export interface ListedProbe {
  /** The probe name, e.g. `tracepoint:syscalls:sys_enter_openat`. */
  name: string;
  /** With verbose listing: its fields or arguments, as `TYPE NAME`. */
  fields?: string[];
}

/**
 * List the probes matching a pattern.
 *
 * @param pattern A glob over full probe names (`tracepoint:syscalls:sys_enter_open*`,
 *   `uprobe:/bin/bash:read*`, `*openat*`); all probes when empty.
 * @param verbose Add fields (tracepoints) and arguments (kfuncs).
 * @returns The probes, in bpftrace's order (by provider, then sorted).
 * @example
 * ```ts
 * listProbes("tracepoint:syscalls:sys_enter_open*").map((p) => p.name);
 * ```
 */
export function listProbes(pattern = "", verbose = false): ListedProbe[] {
  let glob = pattern.trim() || "*";
  const colon = glob.indexOf(":");
  if (colon > 0 && ALIAS[glob.slice(0, colon)]) {
    glob = ALIAS[glob.slice(0, colon)] + glob.slice(colon);
  }
  const provider = colon > 0 ? glob.slice(0, glob.indexOf(":")) : "";
  const re = globRegExp(glob);
  const out: ListedProbe[] = [];
  const want = (p: string) => !provider || /[*?]/.test(provider) || provider === p;

  if (want("tracepoint")) {
    for (const tp of tracepoints()) {
      const name = `tracepoint:${tp}`;
      if (!re.test(name)) continue;
      const item: ListedProbe = { name };
      if (verbose) {
        const [cat, ev] = tp.split(":");
        item.fields = (tracepointFormat(cat, ev)?.fields ?? [])
          .filter((f) => !f.name.startsWith("common_"))
          .map((f) => f.decl);
      }
      out.push(item);
    }
  }
  if (want("rawtracepoint") && provider === "rawtracepoint") {
    const names = [...new Set(tracepoints().map((t) => t.split(":")[1]))].sort();
    for (const n of names) {
      if (re.test(`rawtracepoint:${n}`)) out.push({ name: `rawtracepoint:${n}` });
    }
  }
  if (
    (want("uprobe") || want("uretprobe")) && (provider === "uprobe" || provider === "uretprobe")
  ) {
    const rest = glob.slice(provider.length + 1);
    const cut = rest.lastIndexOf(":");
    const bin = findBinary(cut > 0 ? rest.slice(0, cut) : rest);
    if (bin) {
      for (const f of functionSymbols(bin)) {
        const name = `${provider}:${bin}:${f}`;
        if (globRegExp(`${provider}:${bin}:${cut > 0 ? rest.slice(cut + 1) : "*"}`).test(name)) {
          out.push({ name });
        }
      }
    }
  }
  if (
    provider === "kfunc" || provider === "kretfunc" || (provider === "kprobe" && kprobesAvailable())
  ) {
    const fns = kernelFunctions();
    for (const f of fns) {
      const name = `${provider}:${f}`;
      if (!re.test(name)) continue;
      const item: ListedProbe = { name };
      if (verbose && provider !== "kprobe") item.fields = kernelFunctionArgs(f);
      out.push(item);
    }
  }
  return out;
}

let kfuncMemo: string[] | undefined;

/** Kernel functions with BTF (vmlinux), sorted. */
function kernelFunctions(): string[] {
  if (!kfuncMemo) {
    try {
      const btf = Btf.kernel();
      const names = new Set<string>();
      for (let id = 1; id < btf.count; id++) {
        if (btf.kind(id) === "func") names.add(btf.typeById(id).name);
      }
      kfuncMemo = [...names].sort();
    } catch {
      kfuncMemo = [];
    }
  }
  return kfuncMemo;
}

/** A kernel function's arguments as `TYPE NAME`, from BTF. */
function kernelFunctionArgs(name: string): string[] {
  try {
    const btf = Btf.kernel();
    const fn = btf.find(name);
    if (!fn || fn.kind !== "func") return [];
    const proto = btf.typeById(fn.type);
    if (proto.kind !== "func_proto") return [];
    const args = proto.params.map((p) => btf.declare(p.type, p.name));
    args.push(btf.declare(proto.type, "retval"));
    return args;
  } catch {
    return [];
  }
}

/**
 * Print a listing as bpftrace does: one probe per line, fields indented by four spaces.
 *
 * @param probes The probes.
 * @returns The text.
 * @example
 * ```ts
 * console.log(formatListing(listProbes("tracepoint:sched:*", true)));
 * ```
 */
export function formatListing(probes: ListedProbe[]): string {
  return probes.map((p) => [p.name, ...(p.fields ?? []).map((f) => `    ${f}`)].join("\n"))
    .join("\n") + (probes.length ? "\n" : "");
}
