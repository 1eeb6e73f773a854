/**
 * Kernel symbols: `/proc/kallsyms` parsed once, on first use, into sorted typed arrays
 * searched by bisection. Only code symbols are kept (types `t T w W`: what a stack or an
 * instruction pointer can point into), with the kernel image, modules (`[nf_tables]`) and
 * BPF programs and trampolines (`[bpf]`, `bpf_prog_<tag>_<name>`) alike.
 *
 * Names are decoded from the file's bytes only when a lookup returns them, so a load costs
 * one read and one scan. Programs loaded after the table was read are found too: a miss
 * past the kernel image reads the file again (at most once a second).
 *
 * @example Name an address, and decode a label as ebpf_exporter's `ksym` decoder does
 * ```ts
 * import { KernelSymbols, ksym } from "./mod.ts";
 *
 * const k = KernelSymbols.shared();
 * const f = k.frame(0xffffffff81e5c1fan); // { symbol: "do_syscall_64", offset: 506, ... }
 * ksym(0xffffffff81e5c1fan); // "do_syscall_64"
 * ```
 *
 * @module
 */

import { BpfError } from "../../ffi/errors.ts";
import type { Frame } from "./frame.ts";

/** A kernel symbol found for an address. */
export interface KernelSymbol {
  /** The symbol's name, e.g. `"do_syscall_64"`. */
  readonly name: string;
  /** The symbol's address. */
  readonly address: bigint;
  /** The module it belongs to (`"bpf"`, `"nf_tables"`), or undefined for the kernel image. */
  readonly module?: string;
}

/** The lowest kernel address on 64-bit Linux: every address below it is a user one. */
export const KERNEL_SPACE_START = 0xffff800000000000n;

/** How far past its start a module's last symbol may reach (nothing says its size). */
const LAST_SYMBOL_REACH = 0x10000;
/** The smallest gap between two re-reads of a table that missed. */
const RELOAD_INTERVAL_MS = 1000;

let shared: KernelSymbols | undefined;

/**
 * The kernel's code symbols, sorted by address.
 *
 * @example
 * ```ts
 * const k = KernelSymbols.load();
 * k.lookup(0xffffffff81e5c1fan)?.name; // "do_syscall_64"
 * ```
 */
export class KernelSymbols {
  /** Where the table came from. */
  readonly path: string;
  /** How long reading and sorting took, in ms. */
  readonly loadMs: number;
  /** Whether the file hid every address (not root, or `kernel.kptr_restrict`). */
  readonly hidden: boolean;
  #bytes: Uint8Array = new Uint8Array(0);
  /** Address minus the base, as exact doubles (the span of kernel code is far below 2^53). */
  #keys: Float64Array = new Float64Array(0);
  #base = 0n;
  #nameStart: Uint32Array = new Uint32Array(0);
  #nameEnd: Uint32Array = new Uint32Array(0);
  /** Module index per symbol (0: the kernel image). */
  #module: Uint16Array = new Uint16Array(0);
  #modules: (string | undefined)[] = [];
  #names = new Map<number, string>();
  #lastReload = 0;

  private constructor(path: string, bytes: Uint8Array, startMs: number) {
    this.path = path;
    this.hidden = this.#adopt(bytes);
    this.loadMs = performance.now() - startMs;
  }

  /**
   * Take a file's contents as the table (at load, and at each reload).
   *
   * @returns Whether the file hid every address.
   */
  #adopt(bytes: Uint8Array): boolean {
    const t = parseKallsyms(bytes);
    this.#bytes = bytes;
    this.#keys = t.keys;
    this.#base = t.base;
    this.#nameStart = t.nameStart;
    this.#nameEnd = t.nameEnd;
    this.#module = t.module;
    this.#modules = t.modules;
    this.#names.clear();
    return t.hidden;
  }

  /**
   * Read and sort a kallsyms file now.
   *
   * @param path The file (default `/proc/kallsyms`; tests pass a copy).
   * @returns The table.
   * @throws {BpfError} op `"kallsyms"` when the file cannot be read.
   * @example
   * ```ts
   * const k = KernelSymbols.load();
   * console.log(`${k.size} symbols in ${k.loadMs.toFixed(0)} ms`);
   * ```
   */
  static load(path = "/proc/kallsyms"): KernelSymbols {
    const start = performance.now();
    let bytes: Uint8Array;
    try {
      bytes = Deno.readFileSync(path);
    } catch (e) {
      throw new BpfError({
        op: "kallsyms",
        message: `cannot read '${path}': ${(e as Error).message}`,
        hint: "kernel symbols need /proc mounted (procfs)",
        cause: e,
      });
    }
    return new KernelSymbols(path, bytes, start);
  }

  /**
   * The process-wide table of `/proc/kallsyms`, read on the first call only.
   *
   * @returns The shared table.
   * @example
   * ```ts
   * KernelSymbols.shared().size; // 122059: read once, shared by every caller
   * ```
   */
  static shared(): KernelSymbols {
    shared ??= KernelSymbols.load();
    return shared;
  }

  /** How many code symbols the table holds. */
  get size(): number {
    return this.#keys.length;
  }

  /**
   * The symbol an address falls in: the nearest one at or below it.
   *
   * @param address A kernel address.
   * @returns The symbol and its module, or undefined when no symbol covers it.
   * @example
   * ```ts
   * KernelSymbols.shared().lookup(0xffffffff81e5c1fan); // { name: "do_syscall_64", ... }
   * ```
   */
  lookup(address: bigint): KernelSymbol | undefined {
    const i = this.#find(address);
    if (i < 0) return undefined;
    return {
      name: this.#name(i),
      address: this.#base + BigInt(this.#keys[i]),
      module: this.#modules[this.#module[i]],
    };
  }

  /**
   * A stack frame for a kernel address: `symbol+offset`, or why there is none.
   *
   * @param address A kernel address.
   * @param caller Whether the address is a return address (every frame but a stack's
   *   first): the call it returns from may be the last instruction of its function, so the
   *   byte before it is the one looked up.
   * @returns The frame.
   * @example
   * ```ts
   * formatFrame(KernelSymbols.shared().frame(0xffffffff81e5c1fan)); // "do_syscall_64+506"
   * ```
   */
  frame(address: bigint, caller = false): Frame {
    if (this.hidden) {
      return {
        address,
        kernel: true,
        unknown: `kernel addresses are hidden in ${this.path} (run as root, or set ` +
          "kernel.kptr_restrict=0)",
      };
    }
    const i = this.#find(caller ? address - 1n : address);
    if (i < 0) {
      return { address, kernel: true, unknown: `no kernel symbol covers it in ${this.path}` };
    }
    const module = this.#modules[this.#module[i]];
    return {
      address,
      kernel: true,
      symbol: this.#name(i),
      offset: Number(address - this.#base) - this.#keys[i],
      module: module === undefined ? undefined : `[${module}]`,
    };
  }

  #find(address: bigint): number {
    let i = this.#bisect(address);
    if (i < 0 || this.#beyond(i, address)) {
      // A program loaded after the table was read: read it again, not too often.
      if (this.#reload()) i = this.#bisect(address);
      if (i < 0 || this.#beyond(i, address)) return -1;
    }
    return i;
  }

  /** The last symbol at or below an address (the first of equal ones), or -1. */
  #bisect(address: bigint): number {
    const keys = this.#keys;
    if (!keys.length || address < this.#base) return -1;
    const rel = address - this.#base;
    if (rel > 0x1fffffffffffffn) return -1;
    const key = Number(rel);
    let lo = 0, hi = keys.length - 1;
    if (key < keys[0]) return -1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (keys[mid] <= key) lo = mid;
      else hi = mid - 1;
    }
    while (lo > 0 && keys[lo - 1] === keys[lo]) lo--;
    return lo;
  }

  /** Whether an address lies past where symbol i can reach (the end of its group). */
  #beyond(i: number, address: bigint): boolean {
    const key = Number(address - this.#base);
    let next = i + 1;
    while (next < this.#keys.length && this.#keys[next] === this.#keys[i]) next++;
    const last = next >= this.#keys.length || this.#module[next] !== this.#module[i];
    return last && key - this.#keys[i] >= LAST_SYMBOL_REACH;
  }

  #reload(): boolean {
    const now = performance.now();
    if (now - this.#lastReload < RELOAD_INTERVAL_MS) return false;
    this.#lastReload = now;
    let bytes: Uint8Array;
    try {
      bytes = Deno.readFileSync(this.path);
    } catch {
      return false;
    }
    this.#adopt(bytes);
    return true;
  }

  #name(i: number): string {
    const start = this.#nameStart[i];
    let name = this.#names.get(start);
    if (name === undefined) {
      name = latin1(this.#bytes, start, this.#nameEnd[i]);
      this.#names.set(start, name);
    }
    return name;
  }
}

/**
 * The name of the kernel function an address is in, for labels: ebpf_exporter's `ksym`
 * decoder. Uses the shared table ({@link KernelSymbols.shared}).
 *
 * @param address A kernel address (a bigint, or a string in hex or decimal as a map key
 *   decoder may hold it).
 * @returns The symbol's name, or the address in hex when no symbol covers it.
 * @example
 * ```ts
 * ksym(0xffffffff81e5c1fan); // "do_syscall_64"
 * ksym("0xffffffff81e5c1fa"); // "do_syscall_64"
 * ```
 */
export function ksym(address: bigint | string): string {
  const a = typeof address === "bigint" ? address : BigInt(address);
  return KernelSymbols.shared().lookup(a)?.name ?? `0x${a.toString(16)}`;
}

/**
 * Whether an address is a kernel one (the upper half of the 64-bit address space).
 *
 * @param address An address from a stack.
 * @returns True for kernel addresses.
 * @example
 * ```ts
 * isKernelAddress(0xffffffff81000000n); // true
 * ```
 */
export function isKernelAddress(address: bigint): boolean {
  return address >= KERNEL_SPACE_START;
}

/** The parsed, sorted table. */
interface Table {
  hidden: boolean;
  base: bigint;
  keys: Float64Array;
  nameStart: Uint32Array;
  nameEnd: Uint32Array;
  module: Uint16Array;
  modules: (string | undefined)[];
}

/** The value of each hex digit byte; -1 for other bytes. */
const HEX = (() => {
  const t = new Int8Array(256).fill(-1);
  for (let c = 0; c < 10; c++) t[0x30 + c] = c;
  for (let c = 0; c < 6; c++) t[0x61 + c] = t[0x41 + c] = 10 + c;
  return t;
})();

/** Eight hex digits as a u32, unrolled: this runs once per line, mostly before V8 optimises. */
function hex8(b: Uint8Array, at: number): number {
  return ((HEX[b[at]] << 28) | (HEX[b[at + 1]] << 24) | (HEX[b[at + 2]] << 20) |
    (HEX[b[at + 3]] << 16) | (HEX[b[at + 4]] << 12) | (HEX[b[at + 5]] << 8) |
    (HEX[b[at + 6]] << 4) | HEX[b[at + 7]]) >>> 0;
}

function latin1(bytes: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

/**
 * Parse kallsyms lines `ADDRESS TYPE NAME[\t[MODULE]]`: code symbols only, sorted.
 * Addresses are split into a high and a low 32-bit half while scanning, so no bigint is
 * made per line; the table stores them relative to the lowest one. Lines and tabs are
 * found with `indexOf` (native), which keeps the per-byte work out of JavaScript.
 */
function parseKallsyms(bytes: Uint8Array): Table {
  // An upper bound on the lines (they are at least 20 bytes long) sizes the columns once.
  const cap = Math.ceil(bytes.length / 20) + 1;
  const hiA = new Uint32Array(cap), loA = new Uint32Array(cap);
  const ns = new Uint32Array(cap), ne = new Uint32Array(cap), mod = new Uint16Array(cap);
  const modules: (string | undefined)[] = [undefined];
  const moduleIndex = new Map<string, number>();
  let n = 0, zeros = 0, lines = 0;
  const len = bytes.length;
  let nextTab = bytes.indexOf(0x09);
  if (nextTab < 0) nextTab = len;
  for (let p = 0; p < len && n < cap;) {
    let eol = bytes.indexOf(0x0a, p);
    if (eol < 0) eol = len;
    const line = p;
    p = eol + 1;
    // ADDRESS TYPE NAME: 16 hex digits on 64-bit kernels, the high half first.
    if (eol - line < 20 || bytes[line + 16] !== 0x20) continue;
    const hi = hex8(bytes, line), lo = hex8(bytes, line + 8);
    lines++;
    if (hi === 0 && lo === 0) {
      zeros++;
      continue;
    }
    const type = bytes[line + 17] | 0x20;
    if (type !== 0x74 && type !== 0x77) continue; // t T w W: code
    const nameStart = line + 19;
    if (nextTab < nameStart) {
      nextTab = bytes.indexOf(0x09, nameStart);
      if (nextTab < 0) nextTab = len;
    }
    let nameEnd = eol, m = 0;
    if (nextTab < eol) {
      // NAME\t[MODULE]
      nameEnd = nextTab;
      let ms = nextTab + 1, me = eol;
      if (bytes[ms] === 0x5b) ms++;
      if (bytes[me - 1] === 0x5d) me--;
      const key = latin1(bytes, ms, me);
      let idx = moduleIndex.get(key);
      if (idx === undefined) {
        idx = modules.length;
        modules.push(key);
        moduleIndex.set(key, idx);
      }
      m = idx;
    }
    hiA[n] = hi, loA[n] = lo, ns[n] = nameStart, ne[n] = nameEnd, mod[n] = m;
    n++;
  }
  const hidden = lines > 0 && zeros === lines;
  // Keys are addresses relative to the lowest high half, exact as doubles while the span
  // is below 2^53 (kernel code spans far less); symbols beyond that are dropped.
  let minHi = 0xffffffff;
  for (let i = 0; i < n; i++) if (hiA[i] >>> 0 < minHi) minHi = hiA[i] >>> 0;
  const base = BigInt(minHi) << 32n;
  const keys = new Float64Array(n);
  let kept = 0, sorted = true;
  for (let i = 0; i < n; i++) {
    const dh = (hiA[i] >>> 0) - minHi;
    if (dh >= 1 << 21) continue;
    const key = dh * 4294967296 + (loA[i] >>> 0);
    if (kept && key < keys[kept - 1]) sorted = false;
    keys[kept] = key;
    ns[kept] = ns[i], ne[kept] = ne[i], mod[kept] = mod[i];
    kept++;
  }
  let k = keys.subarray(0, kept);
  let nameStart = ns.subarray(0, kept), nameEnd = ne.subarray(0, kept);
  let module = mod.subarray(0, kept);
  if (!sorted) {
    // Modules and BPF programs may follow the image out of order: sort by key, stable.
    const order = Array.from({ length: kept }, (_, j) => j).sort((a, b) => k[a] - k[b] || a - b);
    k = Float64Array.from(order, (j) => k[j]);
    nameStart = Uint32Array.from(order, (j) => ns[j]);
    nameEnd = Uint32Array.from(order, (j) => ne[j]);
    module = Uint16Array.from(order, (j) => mod[j]);
  }
  return { hidden, base, keys: k, nameStart, nameEnd, module, modules };
}
