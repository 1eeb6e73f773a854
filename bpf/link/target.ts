/**
 * Attach targets: what `program.attach("...")` and the shell's `attach PROG TARGET` accept,
 * and what a program's section says, turned into one plan per attach kind. Pure logic, no
 * kernel calls: every text is checked here, before libbpf or the kernel sees it.
 *
 * @module
 */

import { BpfError } from "../../ffi/errors.ts";

/** Where and how to attach, decided from the target text, the section and the program type. */
export type AttachPlan =
  | { kind: "tracepoint"; category: string; name: string; cookie?: bigint }
  | { kind: "raw_tp"; name: string }
  /** tp_btf, fentry, fexit, fmod_ret: the function is fixed when the program loads. */
  | { kind: "tracing"; func?: string }
  | { kind: "lsm"; hook?: string }
  | { kind: "kprobe"; retprobe: boolean; func: string; offset: number }
  | { kind: "kprobe_multi"; retprobe: boolean; pattern: string }
  | {
    kind: "uprobe";
    retprobe: boolean;
    binary: string;
    /** A symbol, or undefined when `address` is given. */
    func?: string;
    /** A virtual address in the binary (as `nm` shows it), instead of a symbol. */
    address?: number;
    /** Bytes past the symbol. */
    offset: number;
    pid: number;
    cookie?: bigint;
  }
  | { kind: "usdt"; binary: string; provider: string; name: string; pid: number }
  | {
    kind: "perf_event";
    event: string;
    frequency?: number;
    period?: number;
    /** Only this CPU (default: every online CPU). */
    cpu?: number;
    cookie?: bigint;
  }
  | { kind: "xdp"; iface: string }
  | { kind: "tc"; iface: string; direction: "ingress" | "egress" }
  /** Iterators: the kind (task, bpf_map…) is fixed at load; bpf_map_elem and friends need a map. */
  | { kind: "iter"; mapFd?: number }
  | { kind: "cgroup"; path: string }
  /** sk_lookup and flow_dissector: a network namespace (default: this process's). */
  | { kind: "netns"; path: string }
  /** Socket filters: a packet socket on an interface, or a socket the caller owns. */
  | { kind: "socket"; iface?: string; fd?: number }
  /** Sections libbpf attaches by itself (ksyscall, struct_ops…). */
  | { kind: "libbpf" };

/** The attach kinds, by the name a plan carries. */
export type AttachKind = AttachPlan["kind"];

/** Options that refine a target. */
export interface AttachOptions {
  /** For uprobes and USDT: only this process (default: every process, -1). */
  pid?: number;
  /** For uprobes: attach at function return (as `uretprobe/` does). */
  retprobe?: boolean;
  /** For map iterators (iter/bpf_map_elem, iter/sockmap…): the map, or its fd. */
  map?: number | { readonly fd: number };
  /** For socket filters: a socket fd the caller owns (instead of an interface). */
  fd?: number;
  /**
   * For tracepoints, uprobes and perf events: a value the program reads with
   * `bpf_get_attach_cookie()` (kernel 5.15+), so that one program attached to several
   * targets knows which one fired.
   */
  cookie?: bigint;
  /** For perf events: only this CPU (default: every online CPU). */
  cpu?: number;
}

const OPTION_NAMES = new Set(["pid", "retprobe", "map", "fd", "cookie", "cpu"]);

/** How each kind is recognised: in a section, or as an explicit prefix of a target. */
const KINDS: [RegExp, AttachKind][] = [
  [/^(tracepoint|tp)([/:]|$)/, "tracepoint"],
  [/^(raw_tracepoint|raw_tp|rawtracepoint)(\.w)?([/:]|$)/, "raw_tp"],
  [/^(tp_btf|fentry|fexit|fmod_ret)(\.s)?([/:]|$)/, "tracing"],
  [/^lsm(\.s)?([/:]|$)/, "lsm"],
  [/^k(ret)?probe\.multi([/:]|$)/, "kprobe_multi"],
  [/^k(ret)?probe([/:]|$)/, "kprobe"],
  [/^u(ret)?probe(\.s)?([/:]|$)/, "uprobe"],
  [/^usdt([/:]|$)/, "usdt"],
  [/^perf_event([/:]|$)/, "perf_event"],
  [/^xdp(\.frags)?([/:]|$)/, "xdp"],
  [/^(tc|classifier)([/:]|$)/, "tc"],
  [/^iter(\.s)?([/:]|$)/, "iter"],
  [/^(cgroup_skb|cgroup|sockops)([/:]|$)/, "cgroup"],
  [/^(sk_lookup|flow_dissector)([/:]|$)/, "netns"],
  [/^socket([/:]|$)/, "socket"],
  [/^(k(ret)?syscall|struct_ops|freplace)([/:]|$)/, "libbpf"],
];

/** Kinds whose section part after the slash names an attach type, never a target. */
const SECTION_IS_TYPE = new Set<AttachKind>(["xdp", "tc", "cgroup", "netns", "socket"]);

/** Program types (libbpf's names) each kind accepts. */
const PROGRAM_TYPES: Record<AttachKind, readonly string[]> = {
  tracepoint: ["tracepoint"],
  raw_tp: ["raw_tracepoint", "raw_tracepoint_writable"],
  tracing: ["tracing"],
  lsm: ["lsm"],
  kprobe: ["kprobe"],
  kprobe_multi: ["kprobe"],
  uprobe: ["kprobe"],
  usdt: ["kprobe"],
  perf_event: ["perf_event"],
  xdp: ["xdp"],
  tc: ["sched_cls"],
  iter: ["tracing"],
  cgroup: [
    "cgroup_skb",
    "cgroup_sock",
    "cgroup_sock_addr",
    "sock_ops",
    "cgroup_device",
    "cgroup_sysctl",
    "cgroup_sockopt",
  ],
  netns: ["sk_lookup", "flow_dissector"],
  socket: ["socket_filter"],
  libbpf: [],
};

/** How each kind's target is written, for error messages. */
const FORMS: Record<AttachKind, string> = {
  tracepoint: "a tracepoint is CATEGORY/NAME, e.g. syscalls/sys_enter_close",
  raw_tp: "a raw tracepoint is a name, e.g. sys_enter",
  tracing: 'the function is set when the program loads, e.g. SEC("fentry/do_unlinkat")',
  lsm: 'the hook is set when the program loads, e.g. SEC("lsm/file_open")',
  kprobe: "a kprobe is FUNCTION[+OFFSET], e.g. kprobe/do_unlinkat or kprobe/do_unlinkat+0x4",
  kprobe_multi: "a kprobe.multi target is a glob of functions, e.g. kprobe.multi/tcp_*",
  uprobe: "a uprobe target is BINARY:SYMBOL[+OFFSET] or BINARY:0xADDRESS, " +
    "e.g. /lib/x86_64-linux-gnu/libc.so.6:malloc",
  usdt: "a USDT target is BINARY:PROVIDER:NAME, e.g. usdt//usr/bin/python3:python:function__entry",
  perf_event: "a perf event target is EVENT[:RATE], e.g. cpu-clock:99hz or page-faults:100",
  xdp: "an xdp target is an interface, e.g. lo",
  tc: "a tc target is IFACE:ingress or IFACE:egress, e.g. lo:ingress",
  iter: 'an iterator is set when the program loads, e.g. SEC("iter/task")',
  cgroup: "a cgroup target is a cgroup v2 directory, e.g. /sys/fs/cgroup/my.slice",
  netns: "a netns target is a namespace file, e.g. /proc/self/ns/net or /run/netns/NAME",
  socket: "a socket filter target is an interface, e.g. lo (or give {fd} of your socket)",
  libbpf: "libbpf attaches this section by itself",
};

/**
 * Decide how to attach a program: to an explicit target, or where its section says.
 *
 * @param progType The program's type name from libbpf (`"tracepoint"`, `"kprobe"`, …).
 * @param section The program's ELF section, e.g. `"tp/syscalls/sys_enter_close"`.
 * @param target The target text; empty or undefined attaches where the section says.
 * @param opts Extra options (uprobe pid, retprobe, iterator map, socket fd).
 * @returns The plan.
 * @throws {BpfError} When the target or the options are malformed, or do not fit the program.
 * @example
 * ```ts
 * planAttach("tracepoint", "tp/x/y", "syscalls/sys_enter_close");
 * // { kind: "tracepoint", category: "syscalls", name: "sys_enter_close" }
 * planAttach("kprobe", "kprobe/do_unlinkat");
 * // { kind: "kprobe", retprobe: false, func: "do_unlinkat", offset: 0 }
 * ```
 */
export function planAttach(
  progType: string,
  section: string,
  target?: string,
  opts: AttachOptions = {},
): AttachPlan {
  checkOptions(opts);
  if (target !== undefined && typeof target !== "string") {
    throw bad(String(target), "a target is a string, e.g. 'syscalls/sys_enter_close'");
  }
  const explicit = target?.trim() ?? "";
  if ([...explicit].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f)) {
    throw bad(JSON.stringify(explicit), "it contains a control character (a NUL?)");
  }
  const sectionKind = kindFromSection(section);
  if (!explicit) return withCookie(planFromSection(progType, section, sectionKind, opts), opts);
  const fallback = sectionKind ?? kindFromType(progType);
  let prefixed = KINDS.find(([re]) => re.test(explicit));
  // Tracepoint categories share names with kinds (xdp/xdp_redirect, cgroup/cgroup_mkdir).
  if (prefixed && fallback === "tracepoint" && !PROGRAM_TYPES[prefixed[1]].includes(progType)) {
    prefixed = undefined;
  }
  // An explicit prefix wins, then the section, then the program type.
  const kind = prefixed?.[1] ?? fallback;
  if (!kind) throw bad(explicit, `programs of type ${progType} attach by their section only`);
  checkProgramType(kind, progType, explicit);
  const body = prefixed ? stripPrefix(explicit) : explicit;
  // The section's own words (kretprobe, uretprobe) count when the target has no prefix.
  const words = prefixed ? explicit : section;
  return withCookie(planBody(kind, body, explicit, words, section, opts), opts);
}

/** Carry the cookie and CPU options into the plans that take them. */
function withCookie(plan: AttachPlan, opts: AttachOptions): AttachPlan {
  if (opts.cookie !== undefined) {
    if (plan.kind !== "tracepoint" && plan.kind !== "uprobe" && plan.kind !== "perf_event") {
      throw badOption(`cookie applies to tracepoints, uprobes and perf events, not ${plan.kind}`);
    }
    plan.cookie = opts.cookie;
  }
  if (opts.cpu !== undefined) {
    if (plan.kind !== "perf_event") throw badOption(`cpu applies to perf events, not ${plan.kind}`);
    plan.cpu = opts.cpu;
  }
  return plan;
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
export function kindFromSection(section: string): AttachKind | undefined {
  return KINDS.find(([re]) => re.test(section))?.[1];
}

/**
 * The form of a kind's target, in words, for hints and help texts.
 *
 * @param kind The attach kind.
 * @returns E.g. `"a tracepoint is CATEGORY/NAME, e.g. syscalls/sys_enter_close"`.
 * @example
 * ```ts
 * targetForm("tc"); // "a tc target is IFACE:ingress or IFACE:egress, e.g. lo:ingress"
 * ```
 */
export function targetForm(kind: AttachKind): string {
  return FORMS[kind];
}

function planFromSection(
  progType: string,
  section: string,
  kind: AttachKind | undefined,
  opts: AttachOptions,
): AttachPlan {
  if (!kind) {
    const typeKind = kindFromType(progType);
    throw new BpfError({
      op: "attach",
      message: `section '${section}' does not say where to attach`,
      hint: typeKind ? `give a target: ${FORMS[typeKind]}` : undefined,
    });
  }
  checkProgramType(kind, progType, section);
  switch (kind) {
    case "tracing":
    case "lsm":
    case "libbpf":
      return planBody(kind, "", section, section, section, opts);
    case "iter":
      return { kind, mapFd: mapFdOf(opts) };
    case "netns":
      return { kind, path: "/proc/self/ns/net" };
    case "socket":
      if (opts.fd !== undefined) return { kind, fd: opts.fd };
      break;
  }
  const body = SECTION_IS_TYPE.has(kind) ? "" : stripPrefix(section);
  if (!body) {
    throw new BpfError({
      op: "attach",
      message: `section '${section}' does not say where to attach`,
      hint: `give a target: ${FORMS[kind]}`,
    });
  }
  return planBody(kind, body, section, section, section, opts);
}

function planBody(
  kind: AttachKind,
  body: string,
  target: string,
  words: string,
  section: string,
  opts: AttachOptions,
): AttachPlan {
  switch (kind) {
    case "tracepoint": {
      const m = /^(\w+)[/:](\w+)$/.exec(body);
      if (!m) throw bad(target, FORMS.tracepoint);
      return { kind, category: m[1], name: m[2] };
    }
    case "raw_tp":
      if (!/^\w+$/.test(body)) throw bad(target, FORMS.raw_tp);
      return { kind, name: body };
    case "tracing":
    case "lsm": {
      // Bound at load: an explicit target may only repeat the section's function.
      const loaded = stripPrefix(section) || undefined;
      if (body && loaded && body !== loaded) {
        throw new BpfError({
          op: "attach",
          message: `'${section}' is bound to '${loaded}' when it loads, not '${body}'`,
          hint: "call program.setAttachTarget(FUNCTION) before load() to choose another",
        });
      }
      if (body && !/^\w+$/.test(body)) throw bad(target, FORMS[kind]);
      const name = body || loaded;
      return kind === "tracing" ? { kind, func: name } : { kind, hook: name };
    }
    case "kprobe": {
      if (body.includes(":") || body.startsWith("/")) return uprobePlan(target, body, words, opts);
      if (/[*?]/.test(body)) {
        throw bad(
          target,
          "a kprobe attaches to one function; a glob needs a kprobe.multi/ program",
        );
      }
      const m = /^([A-Za-z_][\w.]*)(?:\+(0x[0-9a-f]+|\d+))?$/i.exec(body);
      if (!m) throw bad(target, FORMS.kprobe);
      const retprobe = /^kretprobe/.test(words);
      const offset = m[2] ? Number(m[2]) : 0;
      if (retprobe && offset) throw bad(target, "a kretprobe takes no offset");
      return { kind, retprobe, func: m[1], offset };
    }
    case "kprobe_multi":
      if (!/^[\w.*?]+$/.test(body)) throw bad(target, FORMS.kprobe_multi);
      return { kind, retprobe: /^kretprobe/.test(words), pattern: body };
    case "uprobe":
      return uprobePlan(target, body, words, opts);
    case "usdt":
      return usdtPlan(target, body, opts);
    case "perf_event":
      return perfPlan(target, body);
    case "xdp":
      return { kind, iface: ifaceName(target, body, FORMS.xdp) };
    case "tc": {
      const m = /^(.*):(ingress|egress)$/.exec(body);
      if (!m) throw bad(target, FORMS.tc);
      return { kind, iface: ifaceName(target, m[1], FORMS.tc), direction: m[2] as "ingress" };
    }
    case "iter": {
      const loaded = stripPrefix(section);
      if (body && body !== loaded) {
        throw bad(target, `this program iterates '${loaded}' (set when it loads)`);
      }
      return { kind, mapFd: mapFdOf(opts) };
    }
    case "cgroup":
      return { kind, path: pathTarget(target, body, FORMS.cgroup) };
    case "netns":
      return { kind, path: pathTarget(target, body, FORMS.netns) };
    case "socket":
      if (opts.fd !== undefined) throw bad(target, "give an interface or {fd}, not both");
      return { kind, iface: ifaceName(target, body, FORMS.socket) };
    case "libbpf":
      if (body && target !== section) {
        throw bad(target, `'${section}' attaches by its section only`);
      }
      return { kind };
  }
}

/** What follows a `KIND/` or `KIND:` prefix ("" when there is nothing after the kind). */
function stripPrefix(text: string): string {
  return /^[\w.]+[/:](.*)$/s.exec(text)?.[1] ?? "";
}

function kindFromType(progType: string): AttachKind | undefined {
  for (const [kind, types] of Object.entries(PROGRAM_TYPES) as [AttachKind, string[]][]) {
    // kprobe-typed programs are kprobes unless a section or prefix says uprobe/usdt.
    if (kind === "kprobe_multi" || kind === "uprobe" || kind === "usdt" || kind === "iter") {
      continue;
    }
    if (types.includes(progType)) return kind;
  }
  return undefined;
}

function checkProgramType(kind: AttachKind, progType: string, target: string): void {
  const types = PROGRAM_TYPES[kind];
  if (!types.length || types.includes(progType)) return;
  throw new BpfError({
    op: "attach",
    message: `a ${progType} program cannot attach as ${kind.replace("_", ".")} ('${target}')`,
    hint: `${kind} needs a ${types.join(" or ")} program`,
  });
}

function checkOptions(opts: AttachOptions): void {
  if (opts === null || typeof opts !== "object") {
    throw badOption(`options are an object, not ${opts === null ? "null" : typeof opts}`);
  }
  for (const key of Object.keys(opts)) {
    if (!OPTION_NAMES.has(key)) {
      throw badOption(`unknown option '${key}' (known: ${[...OPTION_NAMES].join(", ")})`);
    }
  }
  const { pid, retprobe, fd } = opts;
  if (pid !== undefined && !(Number.isSafeInteger(pid) && pid >= -1 && pid <= 0x7fffffff)) {
    throw badOption(`pid ${String(pid)} is not a process id (an integer from -1 to 2^31-1)`);
  }
  if (retprobe !== undefined && typeof retprobe !== "boolean") {
    throw badOption(`retprobe is true or false, not ${String(retprobe)}`);
  }
  if (fd !== undefined && !isFd(fd)) throw badOption(`fd ${String(fd)} is not a file descriptor`);
  if (opts.cookie !== undefined && typeof opts.cookie !== "bigint") {
    throw badOption(`cookie is a bigint, not ${typeof opts.cookie}`);
  }
  if (opts.cpu !== undefined && !(Number.isInteger(opts.cpu) && opts.cpu >= 0 && opts.cpu < 4096)) {
    throw badOption(`cpu ${String(opts.cpu)} is not a CPU number`);
  }
  if (opts.map !== undefined) mapFdOf(opts);
}

function mapFdOf(opts: AttachOptions): number | undefined {
  const m = opts.map;
  if (m === undefined) return undefined;
  const fd = typeof m === "number" ? m : (m as { fd?: unknown })?.fd;
  if (!isFd(fd)) throw badOption("map is a BpfMap or a map fd");
  return fd as number;
}

function isFd(fd: unknown): boolean {
  return typeof fd === "number" && Number.isInteger(fd) && fd >= 0 && fd <= 0x7fffffff;
}

/** Interface names: at most 15 bytes, no slash, colon or space (see dev_valid_name()). */
function ifaceName(target: string, name: string, form: string): string {
  if (/^\d+$/.test(name) && Number(name) > 0 && Number(name) <= 0x7fffffff) return name;
  if (!/^[^\s/:]{1,15}$/.test(name) || name === "." || name === "..") {
    throw bad(target, `'${name}' is not an interface name: ${form}`);
  }
  return name;
}

function pathTarget(target: string, path: string, form: string): string {
  if (!path) throw bad(target, form);
  return path;
}

function uprobePlan(
  target: string,
  body: string,
  words: string,
  opts: AttachOptions,
): AttachPlan {
  const retprobe = opts.retprobe ?? /^uretprobe/.test(words);
  // libbpf writes uprobe//bin/bash:readline; bpftrace writes uprobe:/bin/bash:readline.
  const cut = body.lastIndexOf(":");
  if (cut <= 0) throw bad(target, FORMS.uprobe);
  const binary = body.slice(0, cut);
  const where = body.slice(cut + 1);
  const pid = opts.pid ?? -1;
  if (/^0x[0-9a-f]+$/i.test(where)) {
    return { kind: "uprobe", retprobe, binary, address: parseInt(where, 16), offset: 0, pid };
  }
  const m = /^([\w.@$]+)(?:\+(0x[0-9a-f]+|\d+))?$/i.exec(where);
  if (!m) throw bad(target, FORMS.uprobe);
  const offset = m[2] ? Number(m[2]) : 0;
  if (retprobe && offset) throw bad(target, "a uretprobe takes no offset");
  return { kind: "uprobe", retprobe, binary, func: m[1], offset, pid };
}

function usdtPlan(target: string, body: string, opts: AttachOptions): AttachPlan {
  const m = /^(.+):(\w+):(\w+)$/.exec(body);
  if (!m) throw bad(target, FORMS.usdt);
  return { kind: "usdt", binary: m[1], provider: m[2], name: m[3], pid: opts.pid ?? -1 };
}

function perfPlan(target: string, body: string): AttachPlan {
  const parts = body.split(":");
  const [event, rate] = parts;
  if (parts.length > 2 || !/^[\w-]+$/.test(event ?? "")) throw bad(target, FORMS.perf_event);
  if (rate === undefined) return { kind: "perf_event", event, frequency: 99 };
  const hz = /^(\d+)hz$/i.exec(rate);
  const n = Number(hz ? hz[1] : rate);
  if ((!hz && !/^\d+$/.test(rate)) || !Number.isSafeInteger(n) || n <= 0) {
    throw bad(target, "the rate is NHz (a frequency) or N (a period), e.g. cpu-clock:99hz");
  }
  return hz
    ? { kind: "perf_event", event, frequency: n }
    : { kind: "perf_event", event, period: n };
}

function bad(target: string, why: string): BpfError {
  return new BpfError({ op: "attach", message: `target '${target}' is not valid: ${why}` });
}

function badOption(why: string): BpfError {
  return new BpfError({ op: "attach", message: `bad options: ${why}` });
}
