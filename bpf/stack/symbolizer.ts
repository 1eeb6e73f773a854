/**
 * Symbolizer: names the frames of kernel and user stacks. Kernel addresses go through
 * `/proc/kallsyms` ({@link KernelSymbols}); user addresses through the process's memory
 * map, the binary each mapping maps (`.symtab`, `.dynsym`, or a debug file found by
 * build-id), and `/tmp/perf-PID.map` for JIT code.
 *
 * Processes are remembered: call {@link Symbolizer.remember} when a process is first seen
 * (tracing tools do it from a BPF notification) and its stacks are named even after it
 * exits. Binaries are shared between processes, keyed by device, inode and mtime, and
 * opened while the process lives, so a deleted or replaced file still names its frames.
 *
 * @example
 * ```ts
 * import { formatFrame, Symbolizer } from "./mod.ts";
 *
 * using sym = new Symbolizer();
 * const pid = Deno.pid; // any process, remembered while it runs
 * sym.remember(pid);
 * const code = parseProcMaps(Deno.readTextFileSync(`/proc/${pid}/maps`)).find((m) => m.perms[2] === "x")!;
 * for (const f of sym.frames(pid, [BigInt(code.start + 64)])) console.log(formatFrame(f));
 * ```
 *
 * @module
 */

import { BinarySymbols, DEFAULT_DEBUG_DIRS } from "./binary.ts";
import { ElfImage } from "../elf/image.ts";
import type { Frame } from "./frame.ts";
import { isKernelAddress, KernelSymbols } from "./kallsyms.ts";
import { type BinaryProvider, ProcessSymbols } from "./process.ts";
import type { Mapping } from "./proc_maps.ts";

/** Options of a {@link Symbolizer}. */
export interface SymbolizerOptions {
  /** Directories with `.build-id/` debug files (default `/usr/lib/debug`). */
  debugDirs?: readonly string[];
  /** The kernel's symbols (default: {@link KernelSymbols.shared}, read on first use). */
  kernel?: KernelSymbols;
  /** How many processes to remember (default 8192; the oldest are forgotten first). */
  maxProcesses?: number;
  /** How many binaries to keep open (default 1024). */
  maxBinaries?: number;
}

/** Stack addresses: as the BTF codec decodes a `u64[]`, or a raw view of one. */
export type StackAddresses = readonly bigint[] | BigUint64Array;

/** The functions a thread's stack starts in: a walk that ends there is complete. */
const STACK_BOTTOMS = new Set([
  "_start",
  "__libc_start_main",
  "__libc_start_call_main",
  "__libc_start_main_impl",
  "start_thread",
  "clone",
  "clone3",
  "__clone",
  "__clone3",
  "thread_start",
]);

/**
 * Names the frames of kernel and user stacks.
 *
 * @example
 * ```ts
 * using sym = new Symbolizer();
 * sym.kernelFrames([0xffffffff81e5c1fan]).map((f) => formatFrame(f)); // ["do_syscall_64+506"]
 * ```
 */
export class Symbolizer implements Disposable, BinaryProvider {
  readonly #debugDirs: readonly string[];
  #kernel?: KernelSymbols;
  readonly #maxProcesses: number;
  readonly #maxBinaries: number;
  readonly #processes = new Map<number, ProcessSymbols>();
  readonly #binaries = new Map<string, BinarySymbols>();
  #vdso?: BinarySymbols | null;

  /**
   * A symbolizer with empty caches: nothing is read until a stack needs it.
   *
   * @param opts Debug directories, a kernel table, cache sizes.
   */
  constructor(opts: SymbolizerOptions = {}) {
    this.#debugDirs = opts.debugDirs ?? DEFAULT_DEBUG_DIRS;
    this.#kernel = opts.kernel;
    this.#maxProcesses = opts.maxProcesses ?? 8192;
    this.#maxBinaries = opts.maxBinaries ?? 1024;
  }

  /** The kernel's symbols (read on first use). */
  get kernel(): KernelSymbols {
    this.#kernel ??= KernelSymbols.shared();
    return this.#kernel;
  }

  /**
   * Read a process's memory map now, while it lives, so its stacks can be named later.
   *
   * @param pid The process id (tgid).
   * @returns Whether the process was there.
   * @example
   * ```ts
   * using sym = new Symbolizer();
   * sym.remember(Deno.pid); // true
   * ```
   */
  remember(pid: number): boolean {
    return this.process(pid).refresh();
  }

  /**
   * Read a process's memory map unless it was read before: call it as soon as a stack of
   * the process arrives, before anything slower (the first use of kernel symbols reads
   * /proc/kallsyms), so a short-lived process is still there to read.
   *
   * @param pid The process id.
   * @returns Whether a map of the process is known.
   * @example
   * ```ts
   * using sym = new Symbolizer();
   * sym.rememberOnce(Deno.pid); // reads the map
   * sym.rememberOnce(Deno.pid); // already known: reads nothing
   * ```
   */
  rememberOnce(pid: number): boolean {
    const p = this.process(pid);
    if (!p.known && !p.gone) p.refresh();
    return p.known;
  }

  /**
   * A process changed its code (an exec, or a new mapping of code): read its map again
   * now, keeping the old one as a fallback for stacks taken before.
   *
   * @param pid The process id.
   * @returns Whether the process was there.
   * @example
   * ```ts
   * using sym = new Symbolizer();
   * sym.changed(Deno.pid); // as after a sched_process_exec notification
   * ```
   */
  changed(pid: number): boolean {
    const p = this.process(pid);
    p.markStale();
    return p.refresh();
  }

  /**
   * The remembered state of a process (created on first use).
   *
   * @param pid The process id.
   * @returns Its symbols.
   * @example
   * ```ts
   * using sym = new Symbolizer();
   * sym.process(Deno.pid).known; // false until a snapshot of its map is taken
   * ```
   */
  process(pid: number): ProcessSymbols {
    let p = this.#processes.get(pid);
    if (p) return p;
    p = new ProcessSymbols(pid, this);
    this.#processes.set(pid, p);
    if (this.#processes.size > this.#maxProcesses) {
      const oldest = this.#processes.keys().next().value!;
      this.#processes.delete(oldest);
    }
    return p;
  }

  /**
   * Name every frame of a stack that may mix kernel and user addresses (a kernel stack,
   * a user stack, or one after the other). Zero addresses end the stack.
   *
   * @param pid The process the user addresses belong to (ignored for kernel ones).
   * @param addresses The stack, innermost frame first.
   * @returns One frame per address.
   * @example
   * ```ts
   * using sym = new Symbolizer();
   * sym.frames(Deno.pid, [0xffffffff81e5c1fan, 0x10n, 0n]).map((f) => formatFrame(f));
   * // ["do_syscall_64+506", "0x10 [unknown: not in any mapping of process 1234]"]
   * ```
   */
  frames(pid: number, addresses: StackAddresses): Frame[] {
    const out: Frame[] = [];
    if (addresses.length && addresses[0] && !isKernelAddress(addresses[0])) {
      this.rememberOnce(pid);
    }
    let kernelIndex = 0, userIndex = 0;
    for (const a of addresses) {
      if (!a) break;
      if (isKernelAddress(a)) out.push(this.kernel.frame(a, kernelIndex++ > 0));
      else out.push(this.process(pid).frame(a, userIndex++ > 0));
    }
    return out;
  }

  /**
   * Name the frames of a kernel stack.
   *
   * @param addresses The stack, innermost first; a zero ends it.
   * @returns One frame per address.
   * @example
   * ```ts
   * using sym = new Symbolizer();
   * sym.kernelFrames([0xffffffff81e5c1fan]).map((f) => f.symbol); // ["do_syscall_64"]
   * ```
   */
  kernelFrames(addresses: StackAddresses): Frame[] {
    return this.frames(0, addresses);
  }

  /**
   * Name the frames of a user stack of a process.
   *
   * @param pid The process.
   * @param addresses The stack, innermost first; a zero ends it.
   * @returns One frame per address.
   * @example
   * ```ts
   * using sym = new Symbolizer();
   * sym.userFrames(Deno.pid, [0x10n])[0].unknown; // "not in any mapping of process 1234"
   * ```
   */
  userFrames(pid: number, addresses: StackAddresses): Frame[] {
    return this.frames(pid, addresses);
  }

  /**
   * Why a user stack may be cut short: its last frame is in a binary built without frame
   * pointers and is not where a thread starts.
   *
   * @param frames A user stack's frames.
   * @returns The note, or undefined when the stack looks whole.
   * @example
   * ```ts
   * using sym = new Symbolizer();
   * sym.truncation(sym.userFrames(Deno.pid, [0x10n])); // undefined: nothing to blame
   * ```
   */
  truncation(frames: readonly Frame[]): string | undefined {
    const user = frames.filter((f) => !f.kernel);
    // Where the walk went wrong: the first frame in no mapping (a garbage return address
    // read from a frame that was not one), else the last frame.
    const lost = user.findIndex((f) => f.unknown !== undefined && f.module === undefined);
    const last = lost > 0 ? user[lost - 1] : lost === 0 ? undefined : user.at(-1);
    if (!last || (lost < 0 && last.symbol && STACK_BOTTOMS.has(last.symbol))) return undefined;
    const bin = last.module ? this.#binaryNamed(last.module) : undefined;
    if (!bin || bin.framePointers() !== false) return undefined;
    return `stack may be cut short: ${bin.name} is built without frame pointers`;
  }

  /**
   * The binaries that named frames and lack frame pointers: stacks through them may skip
   * frames or end early.
   *
   * @returns Their names.
   * @example
   * ```ts
   * using sym = new Symbolizer();
   * for (const b of sym.withoutFramePointers()) console.error(`note: ${b} has no frame pointers`);
   * ```
   */
  withoutFramePointers(): string[] {
    const names = new Set<string>();
    for (const p of this.#processes.values()) {
      for (const b of p.used) if (b.framePointers() === false) names.add(b.name);
    }
    return [...names].sort();
  }

  /**
   * {@link BinaryProvider}: open (or share) the file a mapping maps.
   *
   * @param pid The process.
   * @param m The mapping.
   * @returns The binary, or why it cannot be had.
   */
  binary(pid: number, m: Mapping): BinarySymbols | string {
    const hex = (n: number) => n.toString(16);
    const candidates = [
      `/proc/${pid}/map_files/${hex(m.start)}-${hex(m.end)}`,
      `/proc/${pid}/root${m.path}`,
      m.path,
    ];
    let lastError = "";
    for (const path of candidates) {
      let st: Deno.FileInfo;
      try {
        st = Deno.statSync(path);
      } catch (e) {
        lastError = (e as Error).message;
        continue;
      }
      const key = `${st.dev}:${st.ino}:${st.mtime?.getTime() ?? 0}`;
      const cached = this.#binaries.get(key);
      if (cached) {
        this.#binaries.delete(key);
        this.#binaries.set(key, cached);
        return cached;
      }
      let bin: BinarySymbols;
      try {
        bin = BinarySymbols.open(path, { name: m.path, debugDirs: this.#debugDirs });
      } catch (e) {
        return `cannot read ${m.path}: ${(e as Error).message}`;
      }
      this.#binaries.set(key, bin);
      if (this.#binaries.size > this.#maxBinaries) {
        const [oldKey, old] = this.#binaries.entries().next().value!;
        this.#binaries.delete(oldKey);
        old.close();
      }
      return bin;
    }
    return `cannot open ${m.path}: ${lastError}`;
  }

  /**
   * {@link BinaryProvider}: the vDSO, copied out of this process once (every process of a
   * kernel maps the same image).
   *
   * @returns Its symbols, or undefined when it cannot be read.
   */
  vdso(): BinarySymbols | undefined {
    if (this.#vdso !== undefined) return this.#vdso ?? undefined;
    this.#vdso = null;
    try {
      const line = Deno.readTextFileSync("/proc/self/maps").split("\n")
        .find((l) => l.endsWith("[vdso]"));
      if (!line) return undefined;
      const [start, end] = line.split(" ")[0].split("-").map((x) => parseInt(x, 16));
      using mem = Deno.openSync("/proc/self/mem");
      mem.seekSync(start, Deno.SeekMode.Start);
      const bytes = new Uint8Array(end - start);
      let done = 0;
      while (done < bytes.length) {
        const n = mem.readSync(bytes.subarray(done));
        if (!n) break;
        done += n;
      }
      this.#vdso = BinarySymbols.fromImage(ElfImage.fromBytes(bytes.subarray(0, done), "[vdso]"), {
        name: "[vdso]",
        debugDirs: [],
      });
    } catch {
      this.#vdso = null;
    }
    return this.#vdso ?? undefined;
  }

  /** Close every binary and forget every process. */
  close(): void {
    for (const b of this.#binaries.values()) b.close();
    this.#binaries.clear();
    this.#processes.clear();
    this.#vdso?.close();
    this.#vdso = undefined;
  }

  /** Close every binary and forget every process. */
  [Symbol.dispose](): void {
    this.close();
  }

  #binaryNamed(name: string): BinarySymbols | undefined {
    for (const b of this.#binaries.values()) if (b.name === name) return b;
    return undefined;
  }
}
