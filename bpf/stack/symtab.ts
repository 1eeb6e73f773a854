/**
 * A sorted index of function symbols for bisection: addresses and sizes in typed arrays,
 * names decoded from the string table on first lookup. Built once per binary (from an
 * ELF symbol table) or per JIT map (`/tmp/perf-PID.map`).
 *
 * @module
 */

import type { FunctionSymbols } from "../elf/image.ts";

/** A symbol found for an address. */
export interface SymbolHit {
  /** The symbol's name. */
  readonly name: string;
  /** The distance from its start. */
  readonly offset: number;
}

/**
 * Function symbols sorted by address. When several share an address (aliases such as
 * `__getppid` and `getppid`), the global one is kept, then the weak one, then the name
 * with the fewest leading underscores.
 *
 * @example
 * ```ts
 * const index = SymbolIndex.fromElf(elf.functionSymbols()!);
 * index.lookup(0x1160); // { name: "gamma", offset: 23 }
 * ```
 */
export class SymbolIndex {
  /** Start addresses, ascending. */
  readonly #start: Float64Array;
  /** End addresses (start + size; the next start when the size is 0). */
  readonly #end: Float64Array;
  readonly #name: (i: number) => string;
  readonly #names = new Map<number, string>();

  /**
   * @param start Start addresses, ascending.
   * @param end End addresses, one per start.
   * @param name Makes the name of symbol i.
   */
  constructor(start: Float64Array, end: Float64Array, name: (i: number) => string) {
    this.#start = start;
    this.#end = end;
    this.#name = name;
  }

  /**
   * Index the function symbols of an ELF symbol table.
   *
   * @param syms The symbols, as {@link ElfImage.functionSymbols} reads them.
   * @returns The index.
   * @example
   * ```ts
   * SymbolIndex.fromElf(elf.functionSymbols()!).size;
   * ```
   */
  static fromElf(syms: FunctionSymbols): SymbolIndex {
    const n = syms.value.length;
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    const v = syms.value, b = syms.bind;
    const rank = (i: number) => (b[i] === 1 ? 0 : b[i] === 2 ? 1 : 2);
    const underscores = (i: number) => {
      let k = 0;
      while (syms.strings[syms.nameOffset[i] + k] === 0x5f) k++;
      return k;
    };
    order.sort((x, y) =>
      v[x] - v[y] || rank(x) - rank(y) || underscores(x) - underscores(y) || x - y
    );
    // Keep the first (preferred) of each address.
    let kept = 0;
    const pick = new Uint32Array(n);
    for (let j = 0; j < n; j++) {
      const i = order[j];
      if (kept && v[pick[kept - 1]] === v[i]) continue;
      pick[kept++] = i;
    }
    const start = new Float64Array(kept), end = new Float64Array(kept);
    for (let j = 0; j < kept; j++) {
      const i = pick[j];
      start[j] = v[i];
      const size = syms.size[i];
      end[j] = size > 0 ? v[i] + size : j + 1 < kept ? v[pick[j + 1]] : v[i] + 1;
    }
    const decoder = new TextDecoder();
    return new SymbolIndex(start, end, (j) => {
      const at = syms.nameOffset[pick[j]];
      let stop = at;
      while (stop < syms.strings.length && syms.strings[stop] !== 0) stop++;
      return withoutVersion(decoder.decode(syms.strings.subarray(at, stop)));
    });
  }

  /** How many symbols the index holds. */
  get size(): number {
    return this.#start.length;
  }

  /**
   * The symbol an address is in.
   *
   * @param address A linked address (or a JIT code address).
   * @returns The symbol and the offset into it, or undefined when the address is before
   *   the first symbol or past the end of the nearest one.
   * @example
   * ```ts
   * index.lookup(0x1160)?.name; // "gamma"
   * ```
   */
  lookup(address: number): SymbolHit | undefined {
    const i = this.find(address);
    return i < 0 ? undefined : { name: this.name(i), offset: address - this.#start[i] };
  }

  /**
   * The index of the symbol an address is in, or -1.
   *
   * @param address A linked address.
   * @returns The symbol's index.
   * @example
   * ```ts
   * const i = index.find(addr);
   * if (i >= 0) index.name(i);
   * ```
   */
  find(address: number): number {
    const s = this.#start;
    let lo = 0, hi = s.length - 1;
    if (hi < 0 || address < s[0]) return -1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (s[mid] <= address) lo = mid;
      else hi = mid - 1;
    }
    return address < this.#end[lo] ? lo : -1;
  }

  /**
   * The start address of symbol i.
   *
   * @param i A symbol index.
   * @returns Its address.
   * @example
   * ```ts
   * index.start(index.find(addr));
   * ```
   */
  start(i: number): number {
    return this.#start[i];
  }

  /**
   * The name of symbol i (decoded once).
   *
   * @param i A symbol index.
   * @returns The name.
   * @example
   * ```ts
   * index.name(0);
   * ```
   */
  name(i: number): string {
    let s = this.#names.get(i);
    if (s === undefined) {
      s = this.#name(i);
      this.#names.set(i, s);
    }
    return s;
  }
}

/**
 * A symbol name without its ELF symbol version (`clock_nanosleep@GLIBC_2.2.5` is
 * `clock_nanosleep`), as stacks and flame graphs show functions.
 *
 * @param name A symbol name.
 * @returns The name before `@VERSION` or `@@VERSION`.
 * @example
 * ```ts
 * withoutVersion("memcpy@@GLIBC_2.14"); // "memcpy"
 * ```
 */
export function withoutVersion(name: string): string {
  const at = name.indexOf("@");
  return at > 0 && /^@@?[A-Za-z_][\w.]*$/.test(name.slice(at)) ? name.slice(0, at) : name;
}
