/**
 * The probe listing (what `bpftrace -l` shows): attach targets this kernel and these
 * binaries offer, written `KIND:TARGET` so a line can be handed back to attach().
 *
 * - `tracepoint:CATEGORY:NAME` from tracefs available_events;
 * - `rawtracepoint:NAME` from the kernel's BTF (`btf_trace_NAME`);
 * - `kprobe:FUNCTION` and `fentry:FUNCTION` from available_filter_functions (kprobes only
 *   where the kernel has them);
 * - `iter:NAME` from the kernel's BTF (`struct bpf_iter__NAME`);
 * - `perf_event:EVENT` for the named perf events;
 * - `uprobe:BINARY:FUNCTION` and `usdt:BINARY:PROVIDER:NAME` from a binary given in the
 *   pattern (its symbol tables and `.note.stapsdt`).
 *
 * @module
 */

import { Btf } from "../btf/btf.ts";
import { usdtProbes } from "../elf/stapsdt.ts";
import { readTextIfAny } from "../system/files.ts";
import { kprobesAvailable } from "../system/kernel_limits.ts";
import { tracefsPath } from "../system/mounts.ts";
import { PERF_EVENTS } from "../system/perf_event.ts";
import { binaryFunctions, openBinary, resolveBinary } from "./binaries.ts";
import { globRegExp, traceableFunctions } from "./kprobe.ts";

/** The kinds {@link listProbes} lists, by the prefix it writes. */
export const LISTED_KINDS = [
  "tracepoint",
  "rawtracepoint",
  "kprobe",
  "fentry",
  "iter",
  "perf_event",
  "uprobe",
  "usdt",
] as const;

/** How many lines a listing returns at most (the kernel has ~60,000 functions). */
export const LISTING_LIMIT = 100_000;

/**
 * List attach targets matching a pattern.
 *
 * @param pattern `KIND:GLOB` (`tracepoint:syscalls:sys_enter_*`, `kprobe:tcp_*`,
 *   `uprobe:/bin/bash:read*`, `usdt:/usr/bin/python3:*`), or a bare glob matched against
 *   tracepoints, raw tracepoints and (where the kernel has them) kprobes.
 * @returns Matching targets, `KIND:TARGET`, sorted within each kind.
 * @throws {BpfError} When a uprobe or USDT pattern names a binary that cannot be read.
 * @example
 * ```ts
 * listProbes("tracepoint:syscalls:sys_enter_open*");
 * // ["tracepoint:syscalls:sys_enter_open", "tracepoint:syscalls:sys_enter_open_by_handle_at", …]
 * ```
 */
export function listProbes(pattern = "*"): string[] {
  const m = /^(\w+):(.*)$/.exec(pattern.trim());
  const kind = m ? alias(m[1]) : undefined;
  const rest = m && kind ? m[2] : pattern.trim() || "*";
  switch (kind) {
    case "tracepoint":
      return tracepoints(rest);
    case "rawtracepoint":
      return rawTracepoints(rest);
    case "kprobe":
      return kprobesAvailable() ? functions("kprobe", rest) : [];
    case "fentry":
      return functions("fentry", rest);
    case "iter":
      return iterators(rest);
    case "perf_event": {
      const re = globRegExp(rest || "*");
      return Object.keys(PERF_EVENTS).filter((e) => re.test(e)).sort().map((e) =>
        `perf_event:${e}`
      );
    }
    case "uprobe":
      return uprobes(rest);
    case "usdt":
      return usdt(rest);
    default: {
      const out = [...tracepoints(`*:${rest}`), ...rawTracepoints(rest)];
      if (kprobesAvailable()) out.push(...functions("kprobe", rest));
      return out.slice(0, LISTING_LIMIT);
    }
  }
}

function alias(word: string): (typeof LISTED_KINDS)[number] | undefined {
  switch (word) {
    case "tracepoint":
    case "tp":
    case "t":
      return "tracepoint";
    case "rawtracepoint":
    case "raw_tp":
    case "raw_tracepoint":
    case "rt":
      return "rawtracepoint";
    case "kprobe":
    case "kretprobe":
    case "k":
      return "kprobe";
    case "fentry":
    case "fexit":
    case "f":
      return "fentry";
    case "iter":
    case "it":
      return "iter";
    case "perf_event":
    case "software":
    case "hardware":
      return "perf_event";
    case "uprobe":
    case "uretprobe":
    case "u":
      return "uprobe";
    case "usdt":
    case "U":
      return "usdt";
    default:
      return undefined;
  }
}

function tracepoints(glob: string): string[] {
  const text = readTextIfAny(tracefsPath("available_events")) ?? "";
  // tracepoint:GLOB matches the category's part and the name's part separately.
  const [cat, name] = glob.includes(":") ? glob.split(":", 2) : ["*", glob || "*"];
  const catRe = globRegExp(cat || "*");
  const nameRe = globRegExp(name || "*");
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const [c, n] = line.split(":");
    if (c && n && catRe.test(c) && nameRe.test(n)) out.push(`tracepoint:${c}:${n}`);
  }
  return out.sort().slice(0, LISTING_LIMIT);
}

/**
 * The kernel BTF names that start with `prefix` (a raw tracepoint's `typedef btf_trace_`,
 * an iterator's `struct bpf_iter__`), without it, that match the glob, listed as `KIND:name`;
 * none without kernel BTF.
 */
function kernelBtfNames(prefix: string, kind: string, glob: string): string[] {
  let names: string[];
  try {
    names = Btf.kernel().names(prefix);
  } catch {
    return [];
  }
  const re = globRegExp(glob || "*");
  return names.map((n) => n.slice(prefix.length)).filter((n) => re.test(n))
    .map((n) => `${kind}:${n}`);
}

function rawTracepoints(glob: string): string[] {
  return kernelBtfNames("typedef btf_trace_", "rawtracepoint", glob);
}

function functions(kind: "kprobe" | "fentry", glob: string): string[] {
  return traceableFunctions(glob || "*").sort().slice(0, LISTING_LIMIT).map((f) => `${kind}:${f}`);
}

function iterators(glob: string): string[] {
  return kernelBtfNames("struct bpf_iter__", "iter", glob);
}

/** `BINARY:GLOB`: the binary is everything before the last colon. */
function splitBinary(rest: string): [string, string] {
  const cut = rest.lastIndexOf(":");
  return cut > 0 ? [rest.slice(0, cut), rest.slice(cut + 1)] : [rest, "*"];
}

function uprobes(rest: string): string[] {
  const [binary, glob] = splitBinary(rest);
  const path = resolveBinary(binary, "list uprobes");
  using elf = openBinary(path, "list uprobes");
  const re = globRegExp(glob || "*");
  const names = new Set(binaryFunctions(elf, (n) => re.test(n)).map((f) => f.name));
  return [...names].sort().slice(0, LISTING_LIMIT).map((n) => `uprobe:${path}:${n}`);
}

function usdt(rest: string): string[] {
  // usdt:BINARY[:PROVIDER:NAME]: the binary is the longest prefix that names a file.
  const parts = rest.split(":");
  for (let i = parts.length; i >= 1; i--) {
    let path: string;
    try {
      path = resolveBinary(parts.slice(0, i).join(":"), "list USDT probes");
    } catch (e) {
      if (i === 1) throw e;
      continue;
    }
    const glob = parts.slice(i).join(":") || "*";
    const re = globRegExp(glob.includes(":") ? glob : `*:${glob}`);
    const names = new Set(usdtProbes(path).map((p) => `${p.provider}:${p.name}`));
    return [...names].filter((n) => re.test(n)).sort().map((n) => `usdt:${path}:${n}`);
  }
  return [];
}
