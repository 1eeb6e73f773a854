/**
 * The bpf(2) system call itself, for the five commands the probe language's direct back end
 * issues before its probes are attached: creating a map, loading, test-running and
 * attaching a program. libbpf's wrappers of them are thin, but opening libbpf and binding
 * them costs more than the whole load (bench/NOTES.md), and this is the path whose speed
 * `bpfsh -e` is measured by. Everything else goes through libbpf.
 *
 * @module
 */

import {
  BPF_ATTR_LINK_CREATE,
  BPF_ATTR_MAP_CREATE,
  BPF_ATTR_PROG_LOAD,
  BPF_ATTR_RAW_TP_OPEN,
  BPF_ATTR_TEST_RUN,
  BPF_CMD,
  type Struct,
} from "./abi.ts";
import { BpfError, hintFor } from "./errors.ts";
import { cstr, errno, libc } from "./libc.ts";

const SYS_BPF = Deno.build.arch === "aarch64" ? 280n : 321n;

/** One bpf(2) call: the fd (or 0) it returns, or a BpfError for `op`. */
function bpf<F extends string>(cmd: number, attr: Struct<F>, buf: Uint8Array, op: string): number {
  const ret = Number(libc().bpf(SYS_BPF, BigInt(cmd), buf, BigInt(attr.size)));
  if (ret >= 0) return ret;
  const code = errno();
  throw new BpfError({ op, errno: code, hint: hintFor(op, code) });
}

/** `map_name` and `prog_name`: `char [16]` at these offsets of their commands' attrs. */
const MAP_NAME = 28;
const PROG_NAME = 48;

/** A name into a `char [16]` field (the kernel takes at most 15 characters and a NUL). */
function setName(buf: Uint8Array, offset: number, name: string): void {
  const bytes = new TextEncoder().encode(name.replace(/[^A-Za-z0-9_.]/g, "_").slice(0, 15));
  buf.set(bytes, offset);
}

/** What {@link bpfMapCreate} makes. */
export interface MapCreate {
  /** `bpf_map_type`. */
  type: number;
  name: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags?: number;
}

/**
 * `BPF_MAP_CREATE`.
 *
 * @param m The map.
 * @returns Its fd.
 * @throws {BpfError} With the errno the kernel gave.
 * @example
 * ```ts
 * const fd = bpfMapCreate({ type: 2, name: "x", keySize: 4, valueSize: 8, maxEntries: 1 });
 * ```
 */
export function bpfMapCreate(m: MapCreate): number {
  const A = BPF_ATTR_MAP_CREATE;
  const buf = new Uint8Array(A.size);
  A.set(buf, "map_type", m.type);
  A.set(buf, "key_size", m.keySize);
  A.set(buf, "value_size", m.valueSize);
  A.set(buf, "max_entries", m.maxEntries);
  A.set(buf, "map_flags", m.flags ?? 0);
  setName(buf, MAP_NAME, m.name);
  return bpf(BPF_CMD.MAP_CREATE, A, buf, `create map '${m.name}'`);
}

/** What {@link bpfProgLoad} loads. */
export interface ProgLoad {
  /** `bpf_prog_type`. */
  type: number;
  name: string;
  /** `struct bpf_insn[]`. */
  insns: Uint8Array;
  license: string;
}

/** Attempts at loading a program the kernel answers EAGAIN. */
const PROG_LOAD_TRIES = 5;
const EAGAIN = 11;

/** `SIG_BLOCK`, `SIG_SETMASK`, and the bytes of a `sigset_t`. */
const SIG_BLOCK = 0;
const SIG_SETMASK = 2;
const SIGSET_BYTES = 128;

/** Run `f` with this thread's signals blocked (they are delivered once it returns). */
function withSignalsHeld<T>(f: () => T): T {
  const all = new Uint8Array(SIGSET_BYTES).fill(0xff);
  const saved = new Uint8Array(SIGSET_BYTES);
  libc().pthread_sigmask(SIG_BLOCK, all, saved);
  try {
    return f();
  } finally {
    libc().pthread_sigmask(SIG_SETMASK, saved, null);
  }
}

/** Room for the verifier's log of a rejected program (grown when it says ENOSPC). */
const LOG_SIZES = [1 << 20, 16 << 20];

/**
 * `BPF_PROG_LOAD`: first without a log (the kernel then does not write one), and on a
 * rejection again with the verifier's log, which the error carries.
 *
 * @param p The program.
 * @returns Its fd.
 * @throws {BpfError} With the errno and, for a rejection, the verifier's log.
 * @example
 * ```ts
 * const insns = Uint8Array.of(0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0);
 * const fd = bpfProgLoad({ type: 17, name: "noop", insns, license: "GPL" });
 * ```
 */
export function bpfProgLoad(p: ProgLoad): number {
  const A = BPF_ATTR_PROG_LOAD;
  const license = cstr(p.license);
  const op = `load program '${p.name}'`;
  const attempt = (log?: Uint8Array) => {
    const buf = new Uint8Array(A.size);
    A.set(buf, "prog_type", p.type);
    A.set(buf, "insn_cnt", p.insns.length / 8);
    A.set(buf, "insns", p.insns);
    A.set(buf, "license", license);
    if (log) {
      A.set(buf, "log_level", 1);
      A.set(buf, "log_size", log.length);
      A.set(buf, "log_buf", log);
    }
    setName(buf, PROG_NAME, p.name);
    const load = () => Number(libc().bpf(SYS_BPF, BigInt(BPF_CMD.PROG_LOAD), buf, BigInt(A.size)));
    const fd = load();
    if (fd >= 0 || errno() !== EAGAIN) return fd;
    // A signal during verification (a profiler's SIGPROF, say) ends it with EAGAIN. Where
    // signals come faster than a verification takes (a profiler under emulation), trying
    // again as libbpf does never ends: the tries hold this thread's signals back meanwhile.
    return withSignalsHeld(() => {
      for (let tries = 2;; tries++) {
        const again = load();
        if (again >= 0 || tries === PROG_LOAD_TRIES || errno() !== EAGAIN) return again;
      }
    });
  };
  let fd = attempt();
  if (fd >= 0) return fd;
  let code = errno();
  let text = "";
  for (const size of LOG_SIZES) {
    const log = new Uint8Array(size);
    fd = attempt(log);
    if (fd >= 0) return fd; // loaded the second time: nothing to report
    code = errno();
    const end = log.indexOf(0);
    text = new TextDecoder().decode(log.subarray(0, end < 0 ? log.length : end));
    if (code !== 28) break; // ENOSPC: the log did not fit
  }
  throw new BpfError({
    op,
    errno: code,
    message: `prog '${p.name}': the kernel verifier rejected it`,
    hint: text ? undefined : hintFor(op, code),
    log: text || undefined,
  });
}

/**
 * `BPF_LINK_CREATE` of a program to a perf event (`BPF_PERF_EVENT`), with an attach cookie.
 *
 * @param prog The program fd.
 * @param perfFd The perf event fd.
 * @param cookie What `bpf_get_attach_cookie()` returns in the program.
 * @param op What the error names.
 * @returns The link fd.
 * @throws {BpfError} With the errno the kernel gave.
 * @example
 * ```ts
 * const link = bpfPerfLink(progFd, perfFd, 3n, "attach syscalls/sys_enter_read");
 * ```
 */
export function bpfPerfLink(prog: number, perfFd: number, cookie: bigint, op: string): number {
  const A = BPF_ATTR_LINK_CREATE;
  const buf = new Uint8Array(A.size);
  A.set(buf, "prog_fd", prog);
  A.set(buf, "target_fd", perfFd);
  A.set(buf, "attach_type", 41); // BPF_PERF_EVENT
  A.set(buf, "perf_event_bpf_cookie", cookie);
  return bpf(BPF_CMD.LINK_CREATE, A, buf, op);
}

/**
 * `BPF_RAW_TRACEPOINT_OPEN`.
 *
 * @param name The raw tracepoint, e.g. `"sched_switch"`.
 * @param prog The program fd.
 * @returns The link fd.
 * @throws {BpfError} With the errno the kernel gave (ENOENT: no such tracepoint).
 * @example
 * ```ts
 * const link = bpfRawTracepointOpen("sched_switch", progFd);
 * ```
 */
export function bpfRawTracepointOpen(name: string, prog: number): number {
  const A = BPF_ATTR_RAW_TP_OPEN;
  const buf = new Uint8Array(A.size);
  const cname = cstr(name);
  A.set(buf, "name", cname);
  A.set(buf, "prog_fd", prog);
  return bpf(BPF_CMD.RAW_TRACEPOINT_OPEN, A, buf, `attach raw tracepoint '${name}'`);
}

/**
 * `BPF_PROG_TEST_RUN` of a raw_tp program with a context of `ctx` bytes.
 *
 * @param prog The program fd.
 * @param ctx The context (`struct bpf_raw_tracepoint_args`).
 * @param op What the error names.
 * @returns The program's return value.
 * @throws {BpfError} With the errno the kernel gave.
 * @example
 * ```ts
 * bpfProgTestRun(progFd, new Uint8Array(8), "test run 'probe_0'");
 * ```
 */
export function bpfProgTestRun(prog: number, ctx: Uint8Array, op: string): number {
  const A = BPF_ATTR_TEST_RUN;
  const buf = new Uint8Array(A.size);
  A.set(buf, "prog_fd", prog);
  A.set(buf, "ctx_size_in", ctx.length);
  A.set(buf, "ctx_in", ctx);
  bpf(BPF_CMD.PROG_TEST_RUN, A, buf, op);
  return A.get(buf, "retval") as number;
}
