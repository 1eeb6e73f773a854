/**
 * A BPF program of an object: its identity, attach and test runs.
 *
 * @module
 */

import {
  BPF_TC,
  BPF_TC_HOOK,
  BPF_TC_OPTS,
  BPF_TEST_RUN_OPTS,
  BPF_UPROBE_OPTS,
  ERRNO,
} from "../../ffi/abi.ts";
import { BpfError } from "../../ffi/errors.ts";
import { check, checkPtr, libbpf, typeName, withLog } from "../../ffi/libbpf.ts";
import { cstr, libc, onlineCpus } from "../../ffi/libc.ts";
import {
  type AttachOptions,
  type AttachPlan,
  kindFromSection,
  planAttach,
} from "../link/target.ts";
import { libbpfLink, Link, type LinkRelease } from "../link/link.ts";
import { attachNeedsTracefs, ensureTracefs, pinPath } from "../system/mounts.ts";
import { PERF_EVENT_IOC_ENABLE, PERF_EVENTS, perfEventOpen } from "../system/perf_event.ts";
import { kernelLacks } from "../system/kernel_limits.ts";

/** What a Program needs from the object that owns it. */
export interface ProgramOwner {
  /** The object's name, for messages. */
  readonly name: string;
  /** Whether the object is loaded. */
  readonly loaded: boolean;
  /** Throw when the object is closed. */
  assertOpen(op: string): void;
  /** Remember a link so closing the object detaches it. */
  adopt(link: Link): void;
  /** Forget a link that closed by itself. */
  release(link: Link): void;
}

/** Input of {@link Program.testRun}. */
export interface TestRunOptions {
  /** Packet data (socket filter, xdp, tc, …). */
  data?: Uint8Array;
  /** Context bytes (raw_tp args, …). */
  ctx?: Uint8Array;
  /** Run this many times; duration is the average. */
  repeat?: number;
  /** Room for the output packet (defaults to the input size plus headroom). */
  dataOutSize?: number;
}

/** Output of {@link Program.testRun}. */
export interface TestRunResult {
  /** The program's return value. */
  retval: number;
  /** Average run time per repetition, in nanoseconds. */
  duration: number;
  /** The packet as the program left it (when data was given). */
  data?: Uint8Array;
}

/**
 * One program of a BpfObject.
 *
 * @example
 * ```ts
 * const prog = obj.program("on_exec");
 * console.log(prog.name, prog.section, prog.type);
 * const link = prog.attach();
 * ```
 */
export class Program {
  readonly #owner: ProgramOwner;
  readonly #ptr: Deno.PointerObject;
  /** The program's function name. */
  readonly name: string;
  /** Its ELF section, e.g. `"tracepoint/syscalls/sys_enter_execve"`. */
  readonly section: string;

  /**
   * Wrap a libbpf program (used by BpfObject).
   *
   * @param owner The owning object.
   * @param ptr The `struct bpf_program *`.
   */
  constructor(owner: ProgramOwner, ptr: Deno.PointerObject) {
    this.#owner = owner;
    this.#ptr = ptr;
    const sym = libbpf();
    this.name = Deno.UnsafePointerView.getCString(sym.bpf_program__name(ptr)!);
    this.section = Deno.UnsafePointerView.getCString(sym.bpf_program__section_name(ptr)!);
  }

  /** The program type, as libbpf names it (`"tracepoint"`, `"raw_tracepoint"`, `"xdp"`…). */
  get type(): string {
    this.#owner.assertOpen(`program '${this.name}'`);
    return typeName("prog", libbpf().bpf_program__type(this.#ptr));
  }

  /** The expected attach type, as libbpf names it (empty when none). */
  get attachType(): string {
    this.#owner.assertOpen(`program '${this.name}'`);
    const t = libbpf().bpf_program__expected_attach_type(this.#ptr);
    return t === 0 && !/^(cgroup|sk_|sockops)/.test(this.section) ? "" : typeName("attach", t);
  }

  /** Number of instructions (before load: as compiled). */
  get instructions(): number {
    this.#owner.assertOpen(`program '${this.name}'`);
    return Number(libbpf().bpf_program__insn_cnt(this.#ptr));
  }

  /** The program fd after load; -1 before load or when not loaded (autoload off). */
  get fd(): number {
    this.#owner.assertOpen(`program '${this.name}'`);
    return Math.max(-1, libbpf().bpf_program__fd(this.#ptr));
  }

  /** Whether load() loads this program (set before load). */
  get autoload(): boolean {
    this.#owner.assertOpen(`program '${this.name}'`);
    return libbpf().bpf_program__autoload(this.#ptr);
  }

  set autoload(on: boolean) {
    this.#owner.assertOpen(`program '${this.name}'`);
    if (this.#owner.loaded) {
      throw new BpfError({
        op: `set autoload of '${this.name}'`,
        message: "the object is already loaded",
        hint: "set autoload before load()",
      });
    }
    check(libbpf().bpf_program__set_autoload(this.#ptr, on), {
      op: `set autoload of '${this.name}'`,
    });
  }

  /** The fd, or a clear error when the program is not loaded. */
  #loadedFd(op: string): number {
    this.#owner.assertOpen(op);
    const fd = libbpf().bpf_program__fd(this.#ptr);
    if (!this.#owner.loaded || fd < 0) {
      throw new BpfError({
        op,
        message: this.#owner.loaded
          ? `program '${this.name}' was not loaded (autoload is off)`
          : `object '${this.#owner.name}' is not loaded yet`,
        hint: this.#owner.loaded ? undefined : "call load() first",
      });
    }
    return fd;
  }

  /**
   * Attach the program: by its section when no target is given, else to the target.
   *
   * Targets: `CATEGORY/NAME` (tracepoint), `NAME` (raw_tp), `BINARY:SYMBOL[+OFF]`
   * (uprobe; `uretprobe/BINARY:SYMBOL` for a return probe), `EVENT[:NHz|:PERIOD]` (perf
   * event on every CPU, e.g. `cpu-clock:99hz`), `IFACE` (xdp), `IFACE:ingress|egress` (tc).
   *
   * @param target Where to attach; omit to use the section.
   * @param opts Uprobe pid / retprobe.
   * @returns The link; closing it detaches.
   * @example
   * ```ts
   * obj.program("count").attach("syscalls/sys_enter_close");
   * obj.program("rl").attach("/bin/bash:readline", { retprobe: true });
   * ```
   */
  attach(target?: string, opts: AttachOptions = {}): Link {
    const op = `attach '${this.name}'${target ? ` to '${target}'` : ""}`;
    this.#loadedFd(op);
    const plan = planAttach(this.type, this.section, target, opts);
    const label = target || this.section;
    const kind = plan.kind === "auto" ? kindFromSection(this.section) ?? "auto" : plan.kind;
    // A fresh machine has no tracefs mounted, and libbpf would fail with a bare ENOENT.
    if (attachNeedsTracefs(kind)) ensureTracefs();
    let release: LinkRelease;
    try {
      release = this.#attachPlan(plan, op);
    } catch (e) {
      throw kernelLacks(e, kind, this.section, label) ?? e;
    }
    const link = new Link(this.name, label, release, (l) => this.#owner.release(l));
    this.#owner.adopt(link);
    return link;
  }

  #attachPlan(plan: AttachPlan, op: string): LinkRelease {
    const sym = libbpf();
    const p = this.#ptr;
    const call = (f: () => Deno.PointerValue): LinkRelease => {
      const { result, log, errno } = withLog(f);
      return libbpfLink(checkPtr(result, { op, log, errno }));
    };
    switch (plan.kind) {
      case "auto":
        if (!libbpf().bpf_program__autoattach(p) && !this.section.includes("/")) {
          throw new BpfError({
            op,
            message: `section '${this.section}' does not say where to attach`,
            hint: "give a target, e.g. attach('syscalls/sys_enter_close') or an interface",
          });
        }
        return call(() => sym.bpf_program__attach(p));
      case "tracepoint":
        return call(() =>
          sym.bpf_program__attach_tracepoint(p, cstr(plan.category), cstr(plan.name))
        );
      case "raw_tp":
        return call(() => sym.bpf_program__attach_raw_tracepoint(p, cstr(plan.name)));
      case "trace":
        return call(() => sym.bpf_program__attach_trace(p));
      case "lsm":
        return call(() => sym.bpf_program__attach_lsm(p));
      case "kprobe":
        return call(() => sym.bpf_program__attach_kprobe(p, plan.retprobe, cstr(plan.func)));
      case "uprobe":
        return this.#attachUprobe(plan, op);
      case "perf_event":
        return this.#attachPerfEvent(plan, op);
      case "xdp":
        return call(() => sym.bpf_program__attach_xdp(p, ifindexOf(plan.iface, op)));
      case "tc":
        return this.#attachTc(plan, op);
    }
  }

  #attachUprobe(plan: Extract<AttachPlan, { kind: "uprobe" }>, op: string): LinkRelease {
    const binary = resolveBinary(plan.binary, op);
    const opts = BPF_UPROBE_OPTS.alloc();
    BPF_UPROBE_OPTS.set(opts, "retprobe", plan.retprobe);
    const func = plan.func ? cstr(plan.func) : undefined;
    if (func) BPF_UPROBE_OPTS.set(opts, "func_name", func);
    const { result, log, errno } = withLog(() =>
      libbpf().bpf_program__attach_uprobe_opts(
        this.#ptr,
        plan.pid,
        cstr(binary),
        BigInt(plan.offset),
        opts,
      )
    );
    void func; // kept alive until here: libbpf reads it during the call
    return libbpfLink(checkPtr(result, {
      op,
      log,
      errno,
      hint: plan.func
        ? `check that '${binary}' exports '${plan.func}' (nm -D ${binary})`
        : undefined,
    }));
  }

  #attachPerfEvent(plan: Extract<AttachPlan, { kind: "perf_event" }>, op: string): LinkRelease {
    const ev = PERF_EVENTS[plan.event];
    if (!ev) {
      throw new BpfError({
        op,
        message: `unknown perf event '${plan.event}'`,
        hint: `one of: ${Object.keys(PERF_EVENTS).join(", ")}`,
      });
    }
    const parts: LinkRelease[] = [];
    try {
      for (let cpu = 0; cpu < onlineCpus(); cpu++) {
        const fd = perfEventOpen(
          { type: ev[0], config: ev[1], frequency: plan.frequency, period: plan.period },
          -1,
          cpu,
        );
        const { result, log, errno } = withLog(() =>
          libbpf().bpf_program__attach_perf_event(this.#ptr, fd)
        );
        if (!result) libc().close(fd);
        const link = libbpfLink(checkPtr(result, { op, log, errno }));
        libc().ioctl(fd, PERF_EVENT_IOC_ENABLE, 0n);
        parts.push(link);
      }
    } catch (e) {
      for (const part of parts) part.destroy();
      throw e;
    }
    return { fd: parts[0]?.fd ?? -1, destroy: () => parts.forEach((x) => x.destroy()) };
  }

  #attachTc(plan: Extract<AttachPlan, { kind: "tc" }>, op: string): LinkRelease {
    const sym = libbpf();
    const hook = BPF_TC_HOOK.alloc();
    BPF_TC_HOOK.set(hook, "ifindex", ifindexOf(plan.iface, op));
    BPF_TC_HOOK.set(
      hook,
      "attach_point",
      plan.direction === "ingress" ? BPF_TC.INGRESS : BPF_TC.EGRESS,
    );
    const created = sym.bpf_tc_hook_create(hook);
    if (created < 0 && created !== -ERRNO.EEXIST) {
      check(created, { op: `${op}: create clsact qdisc` });
    }
    const opts = BPF_TC_OPTS.alloc();
    BPF_TC_OPTS.set(opts, "prog_fd", this.fd);
    check(sym.bpf_tc_attach(hook, opts), { op });
    const handle = BPF_TC_OPTS.get(opts, "handle");
    const priority = BPF_TC_OPTS.get(opts, "priority");
    return {
      fd: -1,
      destroy: () => {
        const d = BPF_TC_OPTS.alloc();
        BPF_TC_OPTS.set(d, "handle", handle);
        BPF_TC_OPTS.set(d, "priority", priority);
        sym.bpf_tc_detach(hook, d);
        // Only remove the qdisc if this attach created it: others may use it.
        if (created === 0) {
          // Both attach points at once remove the clsact qdisc itself.
          BPF_TC_HOOK.set(hook, "attach_point", BPF_TC.INGRESS | BPF_TC.EGRESS);
          sym.bpf_tc_hook_destroy(hook);
        }
      },
    };
  }

  /**
   * Run the program once (or `repeat` times) in the kernel with BPF_PROG_TEST_RUN.
   *
   * @param opts Packet `data` and/or `ctx` bytes, and `repeat`.
   * @returns The return value, average duration (ns) and the output packet.
   * @example
   * ```ts
   * const { retval } = obj.program("sock").testRun({ data: new Uint8Array(64) });
   * ```
   */
  testRun(opts: TestRunOptions = {}): TestRunResult {
    const op = `test run '${this.name}'`;
    const fd = this.#loadedFd(op);
    const T = BPF_TEST_RUN_OPTS;
    const buf = T.alloc();
    const dataIn = opts.data?.length ? Uint8Array.from(opts.data) : undefined;
    const dataOut = dataIn ? new Uint8Array(opts.dataOutSize ?? dataIn.length + 512) : undefined;
    const ctxIn = opts.ctx?.length ? Uint8Array.from(opts.ctx) : undefined;
    if (dataIn && dataOut) {
      T.set(buf, "data_in", dataIn);
      T.set(buf, "data_out", dataOut);
      T.set(buf, "data_size_in", dataIn.length);
      T.set(buf, "data_size_out", dataOut.length);
    }
    if (ctxIn) {
      T.set(buf, "ctx_in", ctxIn);
      T.set(buf, "ctx_size_in", ctxIn.length);
    }
    // raw_tp test runs refuse any repeat field (even 1); 0 means once for the others.
    T.set(buf, "repeat", opts.repeat ?? 0);
    const { result, log } = withLog(() => libbpf().bpf_prog_test_run_opts(fd, buf));
    check(result, {
      op,
      log,
      hint: result === -ERRNO.ENOTSUPP || result === -ERRNO.EOPNOTSUPP
        ? `BPF_PROG_TEST_RUN does not support ${this.type} programs`
        : undefined,
    });
    return {
      retval: Number(T.get(buf, "retval")) | 0,
      duration: Number(T.get(buf, "duration")),
      data: dataOut?.slice(0, Number(T.get(buf, "data_size_out"))),
    };
  }

  /**
   * Pin the loaded program to bpffs.
   *
   * @param path A path under /sys/fs/bpf (bpffs is mounted when needed).
   * @example
   * ```ts
   * obj.program("on_exec").pin("/sys/fs/bpf/on_exec");
   * ```
   */
  pin(path: string): void {
    const op = `pin program '${this.name}' at '${path}'`;
    this.#loadedFd(op);
    check(libbpf().bpf_program__pin(this.#ptr, cstr(pinPath(path))), { op });
  }

  /** A one-line description for listings. */
  toJSON(): Record<string, unknown> {
    return { name: this.name, section: this.section, type: this.type, fd: this.fd };
  }
}

/**
 * Resolve a network interface name (or number) to its index.
 *
 * @param iface `"lo"`, `"eth0"` or `"1"`.
 * @param op The operation, for the error.
 * @returns The ifindex.
 * @example
 * ```ts
 * ifindexOf("lo", "attach"); // 1
 * ```
 */
export function ifindexOf(iface: string, op: string): number {
  if (/^\d+$/.test(iface)) return Number(iface);
  const idx = libc().if_nametoindex(cstr(iface));
  if (!idx) {
    throw new BpfError({ op, message: `no network interface named '${iface}'`, hint: "ip link" });
  }
  return idx;
}

function resolveBinary(binary: string, op: string): string {
  if (binary.includes("/")) {
    try {
      Deno.statSync(binary);
    } catch {
      throw new BpfError({ op, errno: ERRNO.ENOENT, message: `binary '${binary}' not found` });
    }
    return binary;
  }
  // Libraries (libc.so.6) are resolved by libbpf itself; executables through PATH.
  if (/\.so(\.|$)/.test(binary)) return binary;
  for (const dir of (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":")) {
    try {
      const full = `${dir}/${binary}`;
      if (Deno.statSync(full).isFile) return full;
    } catch {
      // Try the next directory.
    }
  }
  throw new BpfError({ op, errno: ERRNO.ENOENT, message: `'${binary}' not found in PATH` });
}
