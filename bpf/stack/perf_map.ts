/**
 * JIT symbols from `/tmp/perf-PID.map`, the file V8 (`--perf-basic-prof`), the JVM's
 * perf-map-agent, LuaJIT and others write: one `START SIZE NAME` line (hex) per compiled
 * function, appended as code is compiled.
 *
 * @module
 */

import { SymbolIndex } from "./symtab.ts";

/**
 * Parse the text of a perf map file.
 *
 * @param text Lines `START SIZE NAME`, addresses and sizes in hex (with or without `0x`).
 * @returns The functions as a sorted index; a later entry at the same address (code that
 *   was compiled again) replaces an earlier one.
 * @example
 * ```ts
 * parsePerfMap("7f00a000 40 JS:*gamma file:///x.js:3:1\n").lookup(0x7f00a010)?.name;
 * // "JS:*gamma file:///x.js:3:1"
 * ```
 */
export function parsePerfMap(text: string): SymbolIndex {
  const byStart = new Map<number, [number, string]>();
  for (const line of text.split("\n")) {
    const m = /^(?:0x)?([0-9a-fA-F]+) (?:0x)?([0-9a-fA-F]+) (.+)$/.exec(line);
    if (!m) continue;
    const start = parseInt(m[1], 16);
    const size = parseInt(m[2], 16);
    if (!Number.isSafeInteger(start) || !(size > 0)) continue;
    byStart.set(start, [size, m[3]]);
  }
  const starts = [...byStart.keys()].sort((a, b) => a - b);
  const start = new Float64Array(starts);
  const end = new Float64Array(starts.length);
  const names: string[] = [];
  starts.forEach((s, i) => {
    const [size, name] = byStart.get(s)!;
    end[i] = s + size;
    names.push(name);
  });
  return new SymbolIndex(start, end, (i) => names[i]);
}

/**
 * A process's perf map, read again when it has grown (new code was compiled) and a lookup
 * missed.
 *
 * @example
 * ```ts
 * const jit = new PerfMap(`/tmp/perf-${pid}.map`);
 * jit.lookup(0x7f00a010); // { name: "JS:*gamma ...", offset: 16 }
 * ```
 */
export class PerfMap {
  /** The file. */
  readonly path: string;
  #index?: SymbolIndex;
  #size = -1;

  /**
   * @param path The perf map file (e.g. `/tmp/perf-1234.map`).
   */
  constructor(path: string) {
    this.path = path;
  }

  /**
   * Whether the file exists.
   *
   * @returns True when it can be read.
   * @example
   * ```ts
   * if (!jit.exists()) console.log("no perf map");
   * ```
   */
  exists(): boolean {
    try {
      return Deno.statSync(this.path).isFile;
    } catch {
      return false;
    }
  }

  /**
   * Read the file now (a process that is about to exit keeps its map only while the file
   * stays; a copy in memory outlives both).
   *
   * @returns Whether there was a file to read.
   * @example
   * ```ts
   * jit.refresh();
   * ```
   */
  refresh(): boolean {
    let size: number;
    try {
      size = Deno.statSync(this.path).size;
    } catch {
      return false;
    }
    if (size === this.#size && this.#index) return true;
    try {
      this.#index = parsePerfMap(Deno.readTextFileSync(this.path));
      this.#size = size;
      return true;
    } catch {
      return false;
    }
  }

  /**
   * The JIT function an address is in.
   *
   * @param address A code address.
   * @returns The name and offset, or undefined.
   * @example
   * ```ts
   * jit.lookup(addr)?.name;
   * ```
   */
  lookup(address: number): { name: string; offset: number } | undefined {
    if (!this.#index) this.refresh();
    let hit = this.#index?.lookup(address);
    if (!hit && this.refreshIfGrown()) hit = this.#index?.lookup(address);
    return hit;
  }

  /** Re-read when the file grew since the last read; returns whether it did. */
  refreshIfGrown(): boolean {
    try {
      if (Deno.statSync(this.path).size === this.#size) return false;
    } catch {
      return false;
    }
    return this.refresh();
  }
}
