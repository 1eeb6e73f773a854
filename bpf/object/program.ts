/**
 * A BPF program of an object: its identity, attach and test runs.
 *
 * @module
 */

import { BPF_TEST_RUN_OPTS, ERRNO } from "../../ffi/abi.ts";
import { BpfError } from "../../ffi/errors.ts";
import { check, libbpf, typeName, withLog } from "../../ffi/libbpf.ts";
import { cstr } from "../../ffi/libc.ts";
import { attachPlan } from "../link/attach.ts";
import { type AttachOptions, planAttach } from "../link/target.ts";
import { Link } from "../link/link.ts";
import { pinPath } from "../system/mounts.ts";
import { show } from "../map/map.ts";

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
 * using obj = await BpfObject.open("build/tests/exec_count.bpf.o");
 * obj.load();
 * const prog = obj.program("count_exec");
 * console.log(prog.name, prog.section, prog.type); // count_exec tracepoint/syscalls/sys_enter_execve tracepoint
 * using link = prog.attach(); // detached when the scope ends
 * ```
 */
export class Program {
  readonly #owner: ProgramOwner;
  readonly #ptr: Deno.PointerObject;
  /** The program's function name. */
  readonly name: string;
  /** Its ELF section, e.g. `"tracepoint/syscalls/sys_enter_execve"`. */
  readonly section: string;
  /** The function chosen by setAttachTarget(), if any. */
  #attachTo?: string;

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
   * Attach the program: where its section says when no target is given, else to the target.
   *
   * Targets (a `KIND/` prefix is optional when the section already says the kind):
   * `CATEGORY/NAME` (tracepoint), `NAME` (raw_tp), `kprobe/FUNC[+OFF]`, `kretprobe/FUNC`,
   * `kprobe.multi/GLOB`, `BINARY:SYMBOL[+OFF]` or `BINARY:0xADDR` (uprobe; `uretprobe/…`
   * for a return probe), `usdt/BINARY:PROVIDER:NAME`, `EVENT[:NHz|:PERIOD]` (perf event on
   * every CPU, e.g. `cpu-clock:99hz`), `IFACE` (xdp, socket filter), `IFACE:ingress|egress`
   * (tc), a cgroup v2 directory (cgroup programs), a netns file (sk_lookup,
   * flow_dissector; default: this process's). tp_btf, fentry, fexit, fmod_ret, lsm and
   * iterators attach where they were loaded for.
   *
   * @param target Where to attach; omit to use the section.
   * @param opts `pid` (uprobe, USDT), `retprobe` (uprobe), `map` (map iterators), `fd`
   *   (a socket of yours, for socket filters).
   * @returns The link; closing it detaches.
   * @throws {BpfError} For a malformed target, a kind this kernel lacks (with what to use
   *   instead), or the kernel's refusal.
   * @example
   * ```ts
   * using obj = await BpfObject.open("tests/fixtures/hooks.bpf.c");
   * obj.load();
   * obj.program("on_close_tp").attach("syscalls/sys_enter_close"); // explicit target
   * obj.program("on_sys_enter").attach(); // by section: raw_tp/sys_enter
   * obj.program("on_uprobe").attach("libc.so.6:getpid", { pid: Deno.pid }); // this process
   * obj.program("on_perf").attach("cpu-clock:99hz");
   * ```
   */
  attach(target?: string, opts: AttachOptions = {}): Link {
    const explicit = typeof target === "string" && target.trim() !== "";
    const label = explicit ? target.trim() : this.#boundSection();
    const op = `attach '${this.name}'${explicit ? ` to '${label}'` : ""}`;
    const fd = this.#loadedFd(op);
    let plan;
    try {
      plan = planAttach(this.type, this.#boundSection(), target, opts);
    } catch (e) {
      // planAttach() names no program: put this attach's name on its errors.
      if (e instanceof BpfError && e.op === "attach") {
        const message = e.message.split("\n")[0].replace(/^attach: /, "");
        throw new BpfError({ op, errno: e.errno, message, hint: e.hint });
      }
      throw e;
    }
    const ctx = {
      ptr: this.#ptr,
      fd,
      name: this.name,
      section: this.section,
      type: this.type,
      op,
    };
    const release = attachPlan(ctx, plan);
    const link = new Link(this.name, label, release, (l) => this.#owner.release(l));
    this.#owner.adopt(link);
    return link;
  }

  /**
   * Choose the function a tp_btf, fentry, fexit, fmod_ret or lsm program traces, or the
   * kernel type an iterator walks, before load (libbpf's bpf_program__set_attach_target).
   *
   * @param func The kernel function (e.g. `"do_unlinkat"`), tracepoint or LSM hook.
   * @example
   * ```ts
   * using obj = await BpfObject.open("tests/fixtures/tracing.bpf.c");
   * obj.program("on_chosen").setAttachTarget("vfs_unlink"); // a SEC("fentry") program
   * // obj.load() now loads it as fentry/vfs_unlink, and attach() attaches it there
   * ```
   */
  setAttachTarget(func: string): void {
    const op = `set attach target of '${this.name}'`;
    this.#owner.assertOpen(op);
    if (typeof func !== "string" || !/^\w+$/.test(func)) {
      throw new BpfError({ op, message: `'${String(func)}' is not a function name` });
    }
    if (this.#owner.loaded) {
      throw new BpfError({
        op,
        message: "the object is already loaded",
        hint: "call it before load()",
      });
    }
    check(libbpf().bpf_program__set_attach_target(this.#ptr, 0, cstr(func)), { op });
    this.#attachTo = func;
  }

  /** The section, with the function set by setAttachTarget() in place of the section's. */
  #boundSection(): string {
    if (!this.#attachTo) return this.section;
    const kind = this.section.replace(/\/.*$/, "");
    return `${kind}/${this.#attachTo}`;
  }

  /**
   * Run the program once (or `repeat` times) in the kernel with BPF_PROG_TEST_RUN.
   *
   * @param opts Packet `data` and/or `ctx` bytes, and `repeat`.
   * @returns The return value, average duration (ns) and the output packet.
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/globals.bpf.o");
   * obj.globals.ro_value = 9;
   * obj.load();
   * // A socket filter runs over a packet; it returns ro_value + ro_wide here.
   * obj.program("ret_rodata").testRun({ data: new Uint8Array(64) }).retval; // 9
   * ```
   */
  testRun(opts: TestRunOptions = {}): TestRunResult {
    const op = `test run '${this.name}'`;
    const fd = this.#loadedFd(op);
    const { data, ctx, repeat, dataOutSize } = checkTestRun(opts, op);
    const T = BPF_TEST_RUN_OPTS;
    const buf = T.alloc();
    const dataIn = data?.length ? Uint8Array.from(data) : undefined;
    const dataOut = dataIn ? new Uint8Array(dataOutSize ?? dataIn.length + 512) : undefined;
    const ctxIn = ctx?.length ? Uint8Array.from(ctx) : undefined;
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
    T.set(buf, "repeat", repeat ?? 0);
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
   * using obj = await BpfObject.open("build/tests/exec_count.bpf.o");
   * obj.load();
   * obj.program("count_exec").pin("/sys/fs/bpf/bpfsh_doc_count_exec"); // outlives the process
   * Deno.removeSync("/sys/fs/bpf/bpfsh_doc_count_exec"); // unpin: the kernel frees it with the object
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

/** The most output a test run can be given room for (the kernel's packets are far smaller). */
const MAX_DATA_OUT = 16 << 20;

/**
 * Check {@link Program.testRun}'s options before anything is allocated or passed to the
 * kernel: the kernel takes `repeat` as a u32 (2^40 became 0, -1 four billion runs), and an
 * output size is an allocation.
 */
function checkTestRun(opts: TestRunOptions, op: string): TestRunOptions {
  const bad = (message: string, hint?: string): never => {
    throw new BpfError({ op, message, hint });
  };
  if (opts === null || typeof opts !== "object") {
    bad(`options must be an object, not ${show(opts)}`);
  }
  for (const key of ["data", "ctx"] as const) {
    const v = opts[key];
    if (v !== undefined && !(v instanceof Uint8Array)) {
      bad(`${key} must be a Uint8Array, not ${show(v)}`, `e.g. { ${key}: new Uint8Array(64) }`);
    }
  }
  const { repeat, dataOutSize } = opts;
  if (repeat !== undefined && !(Number.isInteger(repeat) && repeat >= 0 && repeat <= 0xffffffff)) {
    bad(`repeat must be an integer from 0 to 4294967295, not ${show(repeat)}`);
  }
  if (
    dataOutSize !== undefined &&
    !(Number.isInteger(dataOutSize) && dataOutSize >= 0 && dataOutSize <= MAX_DATA_OUT)
  ) {
    bad(
      `dataOutSize must be an integer from 0 to ${MAX_DATA_OUT} (16 MiB), not ${show(dataOutSize)}`,
    );
  }
  return opts;
}
