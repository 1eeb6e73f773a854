/**
 * `bpfsh -l` / `-lv`: the probe listing (bpf/link/listing.ts) in bpftrace's words
 * (`kfunc:` for kernel functions with BTF, as bpftrace 0.17 names fentry), with the
 * fields of each tracepoint (as tracefs declares them) and the arguments of each kfunc
 * (from BTF) in verbose listings, printed as `bpftrace -l` prints them.
 *
 * @module
 */

import { Btf } from "../bpf/btf/btf.ts";
import { globRegExp } from "../bpf/link/kprobe.ts";
import { listProbes as listAttachPoints } from "../bpf/link/listing.ts";
import { tracepointFormat } from "./tracefs.ts";

/** One listed probe. */
export interface ListedProbe {
  /** The probe name, e.g. `tracepoint:syscalls:sys_enter_openat`. */
  name: string;
  /** With verbose listing: its fields or arguments, as `TYPE NAME`. */
  fields?: string[];
}

/** bpftrace's provider names where the attach listing uses libbpf's. */
const TO_BPFTRACE: Record<string, string> = { fentry: "kfunc" };
const FROM_BPFTRACE: Record<string, string> = {
  kfunc: "fentry",
  kretfunc: "fentry",
  f: "fentry",
  fr: "fentry",
  uretprobe: "uprobe",
  ur: "uprobe",
  kretprobe: "kprobe",
  kr: "kprobe",
};

/**
 * List the probes matching a pattern, as bpftrace names them.
 *
 * @param pattern `tracepoint:syscalls:sys_enter_open*`, `uprobe:/bin/bash:read*`,
 *   `kfunc:vfs_*`, `rawtracepoint:*`, or a bare glob (tracepoints and raw tracepoints).
 * @param verbose Add each tracepoint's fields and each kfunc's arguments.
 * @returns The probes, sorted within each provider.
 * @throws {BpfError} When a uprobe pattern names a binary that cannot be read.
 * @example
 * ```ts
 * listProbes("tracepoint:syscalls:sys_enter_open*").map((p) => p.name);
 * ```
 */
export function listProbes(pattern = "", verbose = false): ListedProbe[] {
  const text = pattern.trim() || "*";
  const m = /^(\w+):(.*)$/.exec(text);
  const asked = m?.[1];
  const query = m && FROM_BPFTRACE[m[1]] ? `${FROM_BPFTRACE[m[1]]}:${m[2]}` : text;
  let names = listAttachPoints(query);
  // Without ftrace's function list (locked down here), kernel functions come from BTF.
  if (!names.length && query.startsWith("fentry:")) {
    names = btfFunctions(query.slice("fentry:".length)).map((f) => `fentry:${f}`);
  }
  return names.map((name) => {
    const cut = name.indexOf(":");
    let provider = name.slice(0, cut);
    provider = asked && FROM_BPFTRACE[asked] === provider
      ? asked
      : TO_BPFTRACE[provider] ?? provider;
    const item: ListedProbe = { name: `${provider}:${name.slice(cut + 1)}` };
    if (verbose) {
      if (provider === "tracepoint") {
        const [, cat, ev] = name.split(":");
        item.fields = (tracepointFormat(cat, ev)?.fields ?? [])
          .filter((f) => !f.name.startsWith("common_"))
          .map((f) => f.decl);
      } else if (provider === "kfunc" || provider === "kretfunc") {
        item.fields = kernelFunctionArgs(name.slice(cut + 1));
      }
    }
    return item;
  });
}

let btfFunctionsMemo: string[] | undefined;

/** Kernel functions that BTF describes, matching a glob, sorted. */
function btfFunctions(glob: string): string[] {
  if (!btfFunctionsMemo) {
    const names = new Set<string>();
    try {
      const btf = Btf.kernel();
      for (let id = 1; id < btf.count; id++) {
        if (btf.kind(id) === "func") names.add(btf.typeById(id).name);
      }
    } catch {
      // No kernel BTF: no functions.
    }
    btfFunctionsMemo = [...names].sort();
  }
  const re = globRegExp(glob || "*");
  return btfFunctionsMemo.filter((n) => re.test(n));
}

/** A kernel function's arguments as `TYPE NAME`, from BTF, then its return value. */
function kernelFunctionArgs(name: string): string[] {
  try {
    const btf = Btf.kernel();
    const fn = btf.find(name);
    if (!fn || fn.kind !== "func") return [];
    const proto = btf.typeById(fn.type);
    if (proto.kind !== "func_proto") return [];
    return [
      ...proto.params.map((p) => btf.declare(p.type, p.name)),
      btf.declare(proto.type, "retval"),
    ];
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
