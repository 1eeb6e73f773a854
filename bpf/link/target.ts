/**
 * Parsing of attach targets: what `program.attach("...")` and the shell's `attach PROG
 * TARGET` accept, turned into one plan per attach kind. Pure logic, no kernel calls.
 *
 * @module
 */

import { BpfError } from "../../ffi/errors.ts";

/** Where and how to attach, decided from the target text and the program's type. */
export type AttachPlan =
  | { kind: "auto" }
  | { kind: "tracepoint"; category: string; name: string }
  | { kind: "raw_tp"; name: string }
  | { kind: "trace" }
  | { kind: "lsm" }
  | { kind: "kprobe"; retprobe: boolean; func: string }
  | {
    kind: "uprobe";
    retprobe: boolean;
    binary: string;
    func?: string;
    offset: number;
    pid: number;
  }
  | { kind: "perf_event"; event: string; frequency?: number; period?: number }
  | { kind: "xdp"; iface: string }
  | { kind: "tc"; iface: string; direction: "ingress" | "egress" };

/** Options that refine a target. */
export interface AttachOptions {
  /** For uprobes: only this process (default: every process, -1). */
  pid?: number;
  /** For uprobes: attach at function return. */
  retprobe?: boolean;
}

/** Program types by the names libbpf gives them. */
const SECTION_KINDS: [RegExp, AttachPlan["kind"]][] = [
  [/^(tracepoint|tp)\//, "tracepoint"],
  [/^(raw_tracepoint|raw_tp)(\.w)?\//, "raw_tp"],
  [/^(tp_btf|fentry|fexit|fmod_ret)(\.s)?\//, "trace"],
  [/^lsm(\.s)?\//, "lsm"],
  [/^k(ret)?probe\//, "kprobe"],
  [/^u(ret)?probe(\.s)?\//, "uprobe"],
  [/^xdp/, "xdp"],
  [/^(tc|classifier)/, "tc"],
  [/^perf_event/, "perf_event"],
];

/**
 * Decide how to attach a program to a target.
 *
 * @param progType The program's type name from libbpf (`"tracepoint"`, `"kprobe"`, …).
 * @param section The program's ELF section, e.g. `"tp/syscalls/sys_enter_close"`.
 * @param target The target text; empty or undefined attaches by section.
 * @param opts Extra options (uprobe pid, retprobe).
 * @returns The plan.
 * @example
 * ```ts
 * planAttach("tracepoint", "tp/x/y", "syscalls/sys_enter_close");
 * // { kind: "tracepoint", category: "syscalls", name: "sys_enter_close" }
 * ```
 */
export function planAttach(
  progType: string,
  section: string,
  target?: string,
  opts: AttachOptions = {},
): AttachPlan {
  target = target?.trim();
  if (!target) return { kind: "auto" };
  // An explicit prefix in the target wins; else the section; else the program type.
  const fromPrefix = SECTION_KINDS.find(([re]) => re.test(target!));
  const kind = fromPrefix?.[1] ?? kindFromSection(section) ?? kindFromType(progType);
  const body = fromPrefix ? target.replace(/^[^/]*\//, "") : target;
  switch (kind) {
    case "tracepoint": {
      const parts = body.split("/");
      if (parts.length !== 2 || !parts[0] || !parts[1]) {
        throw bad(target, "a tracepoint is CATEGORY/NAME, e.g. syscalls/sys_enter_close");
      }
      return { kind, category: parts[0], name: parts[1] };
    }
    case "raw_tp":
      if (!/^\w+$/.test(body)) throw bad(target, "a raw tracepoint is a name, e.g. sys_enter");
      return { kind, name: body };
    case "trace":
    case "lsm":
      return { kind };
    case "kprobe": {
      if (body.includes(":") || body.startsWith("/")) return uprobePlan(target, section, opts);
      const retprobe = /^kretprobe\//.test(target) || /^kretprobe\//.test(section);
      return { kind, retprobe, func: body };
    }
    case "uprobe":
      return uprobePlan(target, section, opts);
    case "perf_event":
      return perfPlan(target, body);
    case "xdp":
      return { kind, iface: body.replace(/^xdp:/, "") };
    case "tc": {
      const m = /^([\w.-]+):(ingress|egress)$/.exec(body);
      if (!m) throw bad(target, "a tc target is IFACE:ingress or IFACE:egress, e.g. lo:ingress");
      return { kind, iface: m[1], direction: m[2] as "ingress" | "egress" };
    }
    default:
      throw bad(target, `programs of type ${progType} attach by their section only`);
  }
}

/**
 * The attach kind a section implies, e.g. `"kprobe"` for `kprobe/do_nanosleep`.
 *
 * @param section The program's ELF section.
 * @returns The kind, or undefined when the section does not say.
 * @example
 * ```ts
 * kindFromSection("tp/syscalls/sys_enter_close"); // "tracepoint"
 * ```
 */
export function kindFromSection(section: string): AttachPlan["kind"] | undefined {
  return SECTION_KINDS.find(([re]) => re.test(section))?.[1];
}

function kindFromType(progType: string): AttachPlan["kind"] | undefined {
  switch (progType) {
    case "tracepoint":
      return "tracepoint";
    case "raw_tracepoint":
    case "raw_tracepoint_writable":
      return "raw_tp";
    case "tracing":
      return "trace";
    case "lsm":
      return "lsm";
    case "kprobe":
      return "kprobe";
    case "perf_event":
      return "perf_event";
    case "xdp":
      return "xdp";
    case "sched_cls":
      return "tc";
    default:
      return undefined;
  }
}

function uprobePlan(target: string, section: string, opts: AttachOptions): AttachPlan {
  const retprobe = opts.retprobe ?? (/^uretprobe/.test(target) || /^uretprobe/.test(section));
  const body = target.replace(/^u(ret)?probe(\.s)?\/+/, "/").replace(/^\/\//, "/");
  const cut = body.lastIndexOf(":");
  if (cut <= 0) throw bad(target, "a uprobe target is BINARY:SYMBOL[+OFFSET] or BINARY:0xADDR");
  const binary = body.slice(0, cut);
  const where = body.slice(cut + 1);
  const pid = opts.pid ?? -1;
  if (/^0x[0-9a-f]+$/i.test(where)) {
    return { kind: "uprobe", retprobe, binary, offset: parseInt(where, 16), pid };
  }
  const m = /^([\w.@]+)(?:\+(0x[0-9a-f]+|\d+))?$/i.exec(where);
  if (!m) throw bad(target, "a uprobe target is BINARY:SYMBOL[+OFFSET] or BINARY:0xADDR");
  return { kind: "uprobe", retprobe, binary, func: m[1], offset: m[2] ? Number(m[2]) : 0, pid };
}

function perfPlan(target: string, body: string): AttachPlan {
  const [event, rate] = body.replace(/^perf_event:?/, "").split(":");
  if (!event) throw bad(target, "a perf event target is EVENT[:RATE], e.g. cpu-clock:99hz");
  if (!rate) return { kind: "perf_event", event, frequency: 99 };
  const hz = /^(\d+)hz$/i.exec(rate);
  if (hz) return { kind: "perf_event", event, frequency: Number(hz[1]) };
  if (/^\d+$/.test(rate)) return { kind: "perf_event", event, period: Number(rate) };
  throw bad(target, "the rate is NHz (frequency) or N (period), e.g. cpu-clock:99hz");
}

function bad(target: string, why: string): BpfError {
  return new BpfError({ op: "attach", message: `target '${target}' is not valid: ${why}` });
}
