/**
 * The doctor's probe programs, with no compiler and no object file: two raw instructions
 * (`r0 = N; exit`) loaded with libbpf's `bpf_prog_load`, then attached through the kernel's
 * own interfaces — perf events (tracepoints, the kprobe and uprobe PMUs, software events),
 * `BPF_RAW_TRACEPOINT_OPEN` (raw_tp and the BTF-targeted kinds: tp_btf, fentry, fexit,
 * lsm), `BPF_LINK_CREATE` (kprobe.multi, tcx) — or test-run. Every fd a probe opens is closed
 * before it returns, so a probe leaves nothing attached.
 *
 * @module
 */

import {
  ATTACH_TYPE,
  BPF_ITER_LINK_INFO,
  BPF_LINK_CREATE_OPTS,
  BPF_PROG_LOAD_OPTS,
  BPF_TEST_RUN_OPTS,
  BTF_KIND,
  ERRNO,
  MAP_TYPE,
} from "../../ffi/abi.ts";
import { bpfMapCreate } from "../../ffi/bpf_syscall.ts";
import { BpfError } from "../../ffi/errors.ts";
import { check, libbpf } from "../../ffi/libbpf.ts";
import { cstr, errno, libc } from "../../ffi/libc.ts";
import type { ProgramProbe } from "./feature_probes.ts";
import {
  PERF_EVENT_IOC_SET_BPF,
  PERF_EVENTS,
  PERF_TYPE_TRACEPOINT,
  perfEventOpen,
} from "./perf_event.ts";

/** What the probes share: where tracefs is, the kernel's BTF, the libc to place a uprobe on. */
export interface ProbeContext {
  /** The tracefs mount point (tracepoint ids). */
  tracefs: string;
  /** A BTF type id of the running kernel by name and kind (negative when absent). */
  btfId(name: string, kind: number): number;
  /** Where a libc function's code is: the file and the offset the kernel probes. */
  uprobeTarget(func: string): { path: string; offset: number };
}

/**
 * The kernel's BTF, loaded once by libbpf for several lookups, then freed.
 *
 * @returns `find(name, kind)` and `close()`.
 * @example
 * ```ts
 * const btf = kernelBtfIds();
 * btf.find("vfs_read", BTF_KIND.FUNC); // > 0 on a kernel with BTF
 * btf.close();
 * ```
 */
export function kernelBtfIds(): { find(name: string, kind: number): number; close(): void } {
  let handle: Deno.PointerValue | undefined;
  return {
    find(name, kind) {
      handle ??= libbpf().btf__load_vmlinux_btf();
      if (!handle) return -ERRNO.ENOENT;
      return libbpf().btf__find_by_name_kind(handle, cstr(name), kind);
    },
    close() {
      if (handle) libbpf().btf__free(handle);
      handle = undefined;
    },
  };
}

/**
 * The whole program of every probe: `r0 = value; exit` (BPF_ALU64|BPF_MOV|BPF_K, then
 * BPF_JMP|BPF_EXIT).
 *
 * @param value What the program returns.
 * @returns Two 8-byte instructions.
 * @example
 * ```ts
 * returnProgram(2).length; // 16
 * ```
 */
export function returnProgram(value: number): Uint8Array<ArrayBuffer> {
  const insns = new Uint8Array(16);
  insns[0] = 0xb7; // r0 = imm
  new DataView(insns.buffer).setInt32(4, value, true);
  insns[8] = 0x95; // exit
  return insns;
}

/**
 * Load one probe's program and exercise it as its kind is used; throws a {@link BpfError}
 * naming the step that failed (load, attach or test run) with the kernel's errno.
 *
 * @param probe The probe.
 * @param ctx Shared lookups.
 * @example
 * ```ts
 * runProbe(PROGRAM_PROBES[0], ctx); // throws when tracepoints do not work
 * ```
 */
export function runProbe(probe: ProgramProbe, ctx: ProbeContext): void {
  const fds: number[] = [];
  try {
    const prog = load(probe, ctx);
    fds.push(prog);
    attach(probe, prog, ctx, fds);
  } finally {
    for (const fd of fds.reverse()) libc().close(fd);
  }
}

function load(probe: ProgramProbe, ctx: ProbeContext): number {
  const opts = BPF_PROG_LOAD_OPTS.alloc();
  if (probe.attachType !== undefined) {
    BPF_PROG_LOAD_OPTS.set(opts, "expected_attach_type", probe.attachType);
  }
  if (probe.btf) {
    const kind = probe.btf.kind === "func" ? BTF_KIND.FUNC : BTF_KIND.TYPEDEF;
    const id = ctx.btfId(probe.btf.name, kind);
    if (id <= 0) {
      throw new BpfError({
        op: `probe ${probe.name}`,
        errno: ERRNO.ENOENT,
        message: `the kernel's BTF has no ${probe.btf.kind} '${probe.btf.name}'`,
      });
    }
    BPF_PROG_LOAD_OPTS.set(opts, "attach_btf_id", id);
  }
  const insns = returnProgram(probe.returns ?? 0);
  const name = `probe_${probe.name.replace(/\W/g, "_")}`.slice(0, 15);
  const ret = libbpf().bpf_prog_load(
    probe.progType,
    cstr(name),
    cstr("GPL"),
    insns,
    BigInt(insns.length / 8),
    opts,
  );
  return check(ret, { op: `load ${probe.name} program` });
}

function attach(probe: ProgramProbe, prog: number, ctx: ProbeContext, fds: number[]): void {
  const a = probe.action;
  const op = `attach ${probe.name}`;
  if ("testRun" in a) {
    const data = new Uint8Array(64);
    const opts = BPF_TEST_RUN_OPTS.alloc();
    BPF_TEST_RUN_OPTS.set(opts, "data_in", data);
    BPF_TEST_RUN_OPTS.set(opts, "data_size_in", data.length);
    BPF_TEST_RUN_OPTS.set(opts, "repeat", 1);
    check(libbpf().bpf_prog_test_run_opts(prog, opts), { op: `test run ${probe.name}` });
  } else if ("iterLink" in a) {
    const opts = BPF_LINK_CREATE_OPTS.alloc();
    // Referenced by `opts` until the call below returns (the kernel copies it then).
    const info = BPF_ITER_LINK_INFO.alloc();
    if (a.iterLink === "map") {
      const map = bpfMapCreate({
        type: MAP_TYPE.ARRAY,
        name: "probe_iter",
        keySize: 4,
        valueSize: 8,
        maxEntries: 1,
      });
      fds.push(map);
      BPF_ITER_LINK_INFO.set(info, "map_fd", map);
      BPF_LINK_CREATE_OPTS.set(opts, "iter_info", info);
      BPF_LINK_CREATE_OPTS.set(opts, "iter_info_len", info.length);
    }
    fds.push(check(libbpf().bpf_link_create(prog, 0, ATTACH_TYPE.TRACE_ITER, opts), { op }));
    void info;
  } else if ("tcxLink" in a) {
    const opts = BPF_LINK_CREATE_OPTS.alloc();
    const fd = libbpf().bpf_link_create(prog, 0, ATTACH_TYPE.TCX_INGRESS, opts);
    if (fd >= 0) fds.push(fd);
    else if (fd !== -ERRNO.ENODEV) check(fd, { op });
  } else if ("rawTracepoint" in a) {
    fds.push(check(libbpf().bpf_raw_tracepoint_open(cstr(a.rawTracepoint), prog), { op }));
  } else if ("btfTarget" in a) {
    fds.push(check(libbpf().bpf_raw_tracepoint_open(null, prog), { op }));
    if (probe.attachType === ATTACH_TYPE.LSM_MAC) requireBpfLsm(op);
  } else if ("kprobeMulti" in a) {
    const names = a.kprobeMulti.map((n) => cstr(n));
    const syms = new BigUint64Array(names.map((n) =>
      BigInt(Deno.UnsafePointer.value(
        Deno.UnsafePointer.of(n),
      ))
    ));
    const opts = BPF_LINK_CREATE_OPTS.alloc();
    BPF_LINK_CREATE_OPTS.set(opts, "kprobe_multi_cnt", names.length);
    BPF_LINK_CREATE_OPTS.set(opts, "kprobe_multi_syms", new Uint8Array(syms.buffer));
    // `names` holds the strings `syms` points to, referenced by this frame until it returns.
    const fd = libbpf().bpf_link_create(prog, 0, ATTACH_TYPE.TRACE_KPROBE_MULTI, opts);
    fds.push(check(fd, { op }));
  } else if ("tracepoint" in a) {
    const id = tracepointId(ctx.tracefs, a.tracepoint, op);
    setBpf(perfEventOpen({ type: PERF_TYPE_TRACEPOINT, config: id }, -1, 0), prog, op, fds);
  } else if ("kprobe" in a) {
    const pmu = pmuOf("kprobe", op);
    const func = cstr(a.kprobe);
    const config = a.retprobe ? retprobeBit("kprobe", op) : 0;
    setBpf(perfEventOpen({ type: pmu, config, config1: func, config2: 0n }, -1, 0), prog, op, fds);
  } else if ("uprobe" in a) {
    const pmu = pmuOf("uprobe", op);
    const where = ctx.uprobeTarget(a.uprobe);
    const path = cstr(where.path);
    const attr = { type: pmu, config: 0, config1: path, config2: BigInt(where.offset) };
    // Only this process, on a function it does not call meanwhile: harmless.
    setBpf(perfEventOpen(attr, Deno.pid, -1), prog, op, fds);
  } else {
    const [type, config] = PERF_EVENTS[a.perfEvent];
    setBpf(perfEventOpen({ type, config, frequency: 1 }, -1, 0), prog, op, fds);
  }
}

/** Run the program on a perf event's hits (PERF_EVENT_IOC_SET_BPF). */
function setBpf(perfFd: number, prog: number, op: string, fds: number[]): void {
  fds.push(perfFd);
  if (libc().ioctl(perfFd, PERF_EVENT_IOC_SET_BPF, BigInt(prog)) < 0) {
    throw new BpfError({ op, errno: errno() || ERRNO.EINVAL, message: "PERF_EVENT_IOC_SET_BPF" });
  }
}

/** The perf PMU type of `kprobe` or `uprobe`, from sysfs. */
function pmuOf(name: string, op: string): number {
  const path = `/sys/bus/event_source/devices/${name}/type`;
  try {
    return Number(Deno.readTextFileSync(path).trim());
  } catch {
    throw new BpfError({ op, errno: ERRNO.ENOENT, message: `no ${name} PMU (${path})` });
  }
}

/** The config value that makes a kprobe/uprobe PMU event a return probe. */
function retprobeBit(name: string, op: string): number {
  const path = `/sys/bus/event_source/devices/${name}/format/retprobe`;
  let text = "";
  try {
    text = Deno.readTextFileSync(path);
  } catch {
    throw new BpfError({ op, errno: ERRNO.ENOENT, message: `no ${path}` });
  }
  const bit = /^config:(\d+)/.exec(text.trim());
  if (!bit) throw new BpfError({ op, errno: ERRNO.EINVAL, message: `unexpected ${path}: ${text}` });
  return 2 ** Number(bit[1]);
}

/** A tracefs event's id (`events/CATEGORY/NAME/id`). */
function tracepointId(tracefs: string, event: string, op: string): number {
  const path = `${tracefs}/events/${event}/id`;
  try {
    return Number(Deno.readTextFileSync(path).trim());
  } catch (e) {
    throw new BpfError({
      op,
      errno: e instanceof Deno.errors.NotFound ? ERRNO.ENOENT : ERRNO.EACCES,
      message: `cannot read ${path}`,
    });
  }
}

/**
 * An lsm program attaches on any kernel with CONFIG_BPF_LSM, but runs only when `bpf` is
 * among the active LSMs (CONFIG_LSM or the `lsm=` boot parameter): say so when it is not.
 */
function requireBpfLsm(op: string): void {
  let active: string;
  try {
    active = Deno.readTextFileSync("/sys/kernel/security/lsm");
  } catch {
    return; // securityfs not mounted: the attach is all we can tell
  }
  if (!active.split(",").includes("bpf")) {
    throw new BpfError({
      op,
      errno: ERRNO.EOPNOTSUPP,
      message: `the program attached, but the bpf LSM is not active (active: ${active.trim()}), ` +
        "so lsm programs never run: add bpf to the lsm= boot parameter",
    });
  }
}
