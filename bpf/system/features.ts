/**
 * The doctor: what this kernel supports, found by probing for real — each program kind
 * is loaded and attached (or test-run), each map type created, each helper verified —
 * never guessed from a version number. The probe programs are raw instructions
 * (probe_program.ts), so no compiler is needed. The report is built once per process.
 *
 * @example
 * ```ts
 * import { features } from "./mod.ts";
 * const report = await features();
 * for (const f of report.features) if (!f.ok) console.log(f.name, f.reason, f.alternative);
 * ```
 *
 * @module
 */

import { PROG_TYPE } from "../../ffi/abi.ts";
import { BpfError, errnoName } from "../../ffi/errors.ts";
import { libbpf, libbpfVersion } from "../../ffi/libbpf.ts";
import { exists } from "../build/cache.ts";
import { cstr } from "../elf/elf.ts";
import { ElfImage } from "../elf/image.ts";
import { HELPER_PROBES, MAP_PROBES, PROGRAM_PROBES, type ProgramProbe } from "./feature_probes.ts";
import { BPFFS_PATH, ensureBpffs, ensureTracefs, mountPointOf, TRACEFS_PATH } from "./mounts.ts";
import { kernelBtfIds, type ProbeContext, runProbe } from "./probe_program.ts";
import { kprobesAvailable } from "./kernel_limits.ts";

/** What kind of thing a {@link Feature} is. */
export type FeatureKind = "system" | "program" | "map" | "helper";

/** One probed capability. */
export interface Feature {
  /** E.g. `"kprobe"`, `"ringbuf"`, `"bpf_loop"`, `"btf"`. */
  name: string;
  /** Program kind, map type, helper, or a system property. */
  kind: FeatureKind;
  /** Whether it works here (the probe succeeded). */
  ok: boolean;
  /** Why not, when `ok` is false (or why it is uncertain). */
  reason?: string;
  /** What to use instead, when it is missing. */
  alternative?: string;
  /** What bpfsh does by itself instead, when it is missing (no change to a program needed). */
  fallback?: string;
  /** The first Linux version that has it. */
  minKernel?: string;
  /** False when the probe could not tell (it needs privileges this process lacks). */
  probed?: boolean;
}

/** A mounted (or not) filesystem bpfsh needs. */
export interface MountState {
  /** Where it is mounted, if it is. */
  path?: string;
  /** Whether it is mounted now. */
  mounted: boolean;
  /** Whether the doctor mounted it just now. */
  mountedNow: boolean;
  /** Why mounting failed. */
  error?: string;
}

/** What {@link features} returns. */
export interface FeatureReport {
  /** `uname -r`, `uname -v` and the machine. */
  kernel: { release: string; version: string; arch: string };
  /** The libbpf in use, e.g. `"v1.1"`. */
  libbpf: string;
  /** Whether the kernel publishes its BTF (/sys/kernel/btf/vmlinux): CO-RE needs it. */
  btf: boolean;
  /** tracefs (tracepoint ids, trace_pipe). */
  tracefs: MountState;
  /** bpffs (pinning). */
  bpffs: MountState;
  /** Who we run as. */
  privileges: {
    uid: number;
    root: boolean;
    capBpf: boolean;
    capPerfmon: boolean;
    capSysAdmin: boolean;
    capNetAdmin: boolean;
  };
  /** Every probed feature: system, program kinds, map types, helpers. */
  features: Feature[];
  /** How long probing took, in milliseconds. */
  ms: number;
}

/** Options of {@link features}. */
export interface FeatureOptions {
  /** Probe again instead of returning this process's earlier report. */
  refresh?: boolean;
}

/** Capability bit numbers in CapEff. */
const CAP = { NET_ADMIN: 12, SYS_ADMIN: 21, PERFMON: 38, BPF: 39 };
/** BPF_PROG_TYPE_TRACEPOINT: the default type for helper probes. */
const PROG_TYPE_TRACEPOINT = PROG_TYPE.TRACEPOINT;

let memo: Promise<FeatureReport> | undefined;

/**
 * Probe what this kernel supports. The first call probes (a few hundred ms; the probe
 * programs are raw instructions, so no compiler is needed); later calls return the same
 * report unless `refresh` is set. Mounts tracefs and bpffs when they are missing (as root).
 *
 * @param opts `refresh` to probe again.
 * @returns The kernel, mounts, privileges and one {@link Feature} per probe.
 * @example
 * ```ts
 * const r = await features();
 * const k = r.features.find((f) => f.name === "kprobe");
 * console.log(k?.ok ? "kprobes work" : `no kprobes: ${k?.reason} (use ${k?.alternative})`);
 * ```
 */
export function features(opts: FeatureOptions = {}): Promise<FeatureReport> {
  if (opts.refresh || !memo) {
    memo = probeAll();
    memo.catch(() => (memo = undefined));
  }
  return memo;
}

/**
 * Look a feature up in a report.
 *
 * @param report A report from {@link features}.
 * @param name The feature's name, e.g. `"ringbuf"`.
 * @returns The feature, or undefined when the doctor does not probe it.
 * @example
 * ```ts
 * if (!feature(await features(), "kprobe")?.ok) console.log("use a tracepoint");
 * ```
 */
export function feature(report: FeatureReport, name: string): Feature | undefined {
  return report.features.find((f) => f.name === name);
}

async function probeAll(): Promise<FeatureReport> {
  const start = performance.now();
  const privileges = readPrivileges();
  const tracefs = mountState("tracefs", TRACEFS_PATH, ensureTracefs);
  const bpffs = mountState("bpf", BPFFS_PATH, ensureBpffs);
  const btf = await exists("/sys/kernel/btf/vmlinux");
  const list: Feature[] = [
    {
      name: "btf",
      kind: "system",
      ok: btf,
      minKernel: "5.4",
      reason: btf ? undefined : "/sys/kernel/btf/vmlinux is missing (CONFIG_DEBUG_INFO_BTF unset)",
      alternative: btf ? undefined : "programs without CO-RE, built against this kernel's headers",
    },
    mountFeature("tracefs", tracefs),
    mountFeature("bpffs", bpffs),
    {
      name: "privileges",
      kind: "system",
      ok: privileges.root || (privileges.capBpf && privileges.capPerfmon),
      reason: privileges.root || (privileges.capBpf && privileges.capPerfmon)
        ? undefined
        : "neither root nor CAP_BPF + CAP_PERFMON",
    },
  ];
  const privileged = list[list.length - 1];
  if (!privileged.ok) {
    privileged.alternative = "run as root, or grant CAP_BPF and CAP_PERFMON (setcap or capsh)";
  }
  list.push(...probePrograms(tracefs));
  list.push(...probeMaps());
  list.push(...probeHelpers());
  return {
    kernel: { release: Deno.osRelease(), version: readKernelVersion(), arch: Deno.build.arch },
    libbpf: libbpfVersion(),
    btf,
    tracefs,
    bpffs,
    privileges,
    features: privileged.ok ? list : list.map((f) => unprobed(f, privileges.uid)),
    ms: performance.now() - start,
  };
}

/** Root and the BPF-related capabilities of this process, from /proc/self/status. */
function readPrivileges(): FeatureReport["privileges"] {
  let capEff = 0n;
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(Deno.readTextFileSync("/proc/self/status"));
    if (m) capEff = BigInt(`0x${m[1]}`);
  } catch {
    // No procfs: report no capabilities.
  }
  const has = (bit: number) => ((capEff >> BigInt(bit)) & 1n) === 1n;
  const uid = Deno.uid() ?? -1;
  return {
    uid,
    root: uid === 0,
    capBpf: has(CAP.BPF),
    capPerfmon: has(CAP.PERFMON),
    capSysAdmin: has(CAP.SYS_ADMIN),
    capNetAdmin: has(CAP.NET_ADMIN),
  };
}

/** The kernel build string (`uname -v`). */
function readKernelVersion(): string {
  try {
    return Deno.readTextFileSync("/proc/sys/kernel/version").trim();
  } catch {
    return "";
  }
}

/** Whether a filesystem is mounted, mounting it when it is not. */
function mountState(fsType: string, wanted: string, ensure: () => string): MountState {
  const before = mountPointOf(fsType);
  if (before) return { path: before, mounted: true, mountedNow: false };
  try {
    return { path: ensure(), mounted: true, mountedNow: true };
  } catch (e) {
    const error = e instanceof BpfError ? e.summary : String(e);
    return { path: undefined, mounted: false, mountedNow: false, error: `${wanted}: ${error}` };
  }
}

function mountFeature(name: string, state: MountState): Feature {
  return {
    name,
    kind: "system",
    ok: state.mounted,
    reason: state.mounted ? undefined : state.error,
    alternative: state.mounted
      ? undefined
      : `mount it as root: ${
        name === "tracefs"
          ? "mount -t tracefs tracefs /sys/kernel/tracing"
          : "mount -t bpf bpf /sys/fs/bpf"
      }`,
  };
}

/** Load each probe program on its own, from raw instructions, and attach or test-run it. */
function probePrograms(tracefs: MountState): Feature[] {
  const btf = kernelBtfIds();
  const ctx: ProbeContext = {
    tracefs: tracefs.path ?? TRACEFS_PATH,
    btfId: btf.find,
    uprobeTarget: libcFunction,
  };
  const out: Feature[] = [];
  try {
    for (const probe of PROGRAM_PROBES) {
      const f: Feature = {
        name: probe.name,
        kind: "program",
        ok: false,
        minKernel: probe.minKernel,
      };
      try {
        runProbe(probe, ctx);
        f.ok = true;
      } catch (e) {
        f.reason = explain(probe, e, tracefs);
        // The fallback stands on kprobes: without them, only the alternative is true.
        if (probe.fallback && kprobesAvailable()) f.fallback = probe.fallback;
        else if (probe.alternative) f.alternative = probe.alternative;
      }
      out.push(f);
    }
  } finally {
    btf.close();
  }
  return out;
}

/** Why a probe failed, in words, with the kernel facts behind known failures. */
function explain(probe: ProgramProbe, e: unknown, tracefs: MountState): string {
  const summary = e instanceof BpfError ? e.message.split("\n")[0] : String(e);
  const code = e instanceof BpfError && e.errno ? errnoName(e.errno) : undefined;
  const kprobes = probe.name.startsWith("kprobe") || probe.name === "kretprobe";
  if (probe.name === "kprobe.multi" && code === "EOPNOTSUPP" && kprobesAvailable()) {
    return "no kprobe.multi links: the kernel is built without CONFIG_FPROBE (kprobes work)";
  }
  if (kprobes && !kprobesAvailable()) {
    return "kprobes are not available: CONFIG_KPROBES is not set (no kprobe PMU at " +
      `/sys/bus/event_source/devices/kprobe, no ${tracefs.path ?? TRACEFS_PATH}/kprobe_events); ` +
      `the attach failed${code ? ` with ${code}` : ""}`;
  }
  if (code === "EPERM" && isRoot()) {
    // Root with every capability still gets EPERM: the kernel refuses the kind itself
    // (here: the trampoline-based fentry/fexit/lsm programs, and iterators).
    return `the kernel refuses to load ${probe.name} programs: operation not permitted ` +
      `(EPERM) even as root with CAP_BPF`;
  }
  return summary;
}

/** Whether this process runs as root with CAP_BPF. */
function isRoot(): boolean {
  const p = readPrivileges();
  return p.root && p.capBpf;
}

/**
 * Where a function of the libc this process runs with starts, as the uprobe PMU wants it:
 * the file and the offset in it (its `.dynsym` address through the PT_LOAD segments).
 */
function libcFunction(func: string): { path: string; offset: number } {
  const op = "probe uprobe";
  let path: string | undefined;
  try {
    const maps = Deno.readTextFileSync("/proc/self/maps");
    path = /\s(\/\S*\/libc\.so\.6)$/m.exec(maps)?.[1] ??
      /\s(\/\S*\/libc[-.][\w.-]*\.so[\w.]*)$/m.exec(maps)?.[1];
  } catch {
    // No procfs: said below.
  }
  if (!path) throw new BpfError({ op, message: "no libc in /proc/self/maps to place a uprobe on" });
  using elf = ElfImage.open(path);
  const syms = elf.functionSymbols(".dynsym");
  for (let i = 0; syms && i < syms.value.length; i++) {
    if (cstr(syms.strings, syms.nameOffset[i], "symbol") !== func) continue;
    const offset = elf.offsetOf(syms.value[i]);
    if (offset !== undefined) return { path, offset };
  }
  throw new BpfError({ op, message: `no function '${func}' in the code of '${path}'` });
}

/** Create one map of each type (libbpf_probe_bpf_map_type). */
function probeMaps(): Feature[] {
  const sym = libbpf();
  return MAP_PROBES.map((m) => {
    const ret = sym.libbpf_probe_bpf_map_type(m.type, null);
    const f: Feature = { name: m.name, kind: "map", ok: ret === 1, minKernel: m.minKernel };
    if (ret !== 1) {
      f.reason = ret === 0
        ? `the kernel rejects ${m.name} maps (needs Linux ${m.minKernel} or a config option)`
        : `probe failed: ${errnoName(ret)}`;
      if (m.alternative) f.alternative = m.alternative;
    }
    return f;
  });
}

/** Load one program calling each helper (libbpf_probe_bpf_helper). */
function probeHelpers(): Feature[] {
  const sym = libbpf();
  return HELPER_PROBES.map((h) => {
    const progType = h.progType ?? PROG_TYPE_TRACEPOINT;
    const ret = sym.libbpf_probe_bpf_helper(progType, h.id, null);
    const f: Feature = { name: h.name, kind: "helper", ok: ret === 1, minKernel: h.minKernel };
    if (ret !== 1) {
      const where = progType === PROG_TYPE_TRACEPOINT ? "tracepoint" : "kprobe";
      f.reason = ret === 0
        ? `the kernel does not offer ${h.name} to ${where} programs`
        : `probe failed: ${errnoName(ret)}`;
      if (h.alternative) f.alternative = h.alternative;
    }
    return f;
  });
}

/**
 * What a probe says without the privileges to run it: nothing. Every load and map create
 * fails with EPERM, which must not read as "the kernel lacks it", and libbpf's helper
 * probe counts an EPERM as success. Only probes that did succeed (unprivileged BPF allows
 * a few) are kept.
 */
function unprobed(f: Feature, uid: number): Feature {
  if (f.kind === "system" || (f.ok && f.kind !== "helper")) return f;
  return {
    name: f.name,
    kind: f.kind,
    ok: false,
    probed: false,
    reason: `not probed: needs root or CAP_BPF + CAP_PERFMON (running as uid ${uid})`,
    minKernel: f.minKernel,
  };
}
