/**
 * The symbols of one process: snapshots of its memory map, each mapping of code tied to
 * the binary it maps, and its JIT perf map. Snapshots are taken while the process lives,
 * so its stacks are still named after it exits; an older snapshot stays as a fallback
 * after an exec or a new mapping.
 *
 * @module
 */

import type { Frame } from "./frame.ts";
import type { BinarySymbols } from "./binary.ts";
import { PerfMap } from "./perf_map.ts";
import { findMapping, isExecutable, type Mapping, parseProcMaps } from "./proc_maps.ts";

/** Where a process's mappings get their binaries (shared between processes). */
export interface BinaryProvider {
  /**
   * The binary a mapping maps, opened now (while the process lives).
   *
   * @param pid The process.
   * @param m The mapping.
   * @returns The binary, or why it cannot be had.
   */
  binary(pid: number, m: Mapping): BinarySymbols | string;
  /**
   * The vDSO's symbols (the same image in every process of this kernel).
   *
   * @returns The vDSO, or undefined when it cannot be read.
   */
  vdso(): BinarySymbols | undefined;
}

/** One reading of `/proc/PID/maps`, with the binaries of its code mappings. */
interface Snapshot {
  maps: Mapping[];
  binaries: Map<Mapping, BinarySymbols | string>;
}

/** How many snapshots a process keeps (the newest first). */
const KEEP_SNAPSHOTS = 4;
/** The shortest gap between two reads of a live process's map after a miss. */
const REREAD_MS = 50;

/**
 * A process's memory map and the symbols behind it.
 *
 * @example
 * ```ts
 * using sym = new Symbolizer();
 * const p = new ProcessSymbols(Deno.pid, sym);
 * p.refresh(); // read /proc/PID/maps now, while it lives
 * p.frame(0x10n).unknown; // "not in any mapping of process 1234"
 * ```
 */
export class ProcessSymbols {
  /** The process id (tgid). */
  readonly pid: number;
  readonly #provider: BinaryProvider;
  #snapshots: Snapshot[] = [];
  #stale = true;
  #lastRead = -Infinity;
  #gone = false;
  #why?: string;
  #perf?: PerfMap;
  /** Binaries that named at least one frame (for frame-pointer notes). */
  readonly used: Set<BinarySymbols> = new Set();

  /**
   * A process not read yet: the first lookup (or {@link refresh}) reads its map.
   *
   * @param pid The process id.
   * @param provider Opens (and shares) binaries.
   */
  constructor(pid: number, provider: BinaryProvider) {
    this.pid = pid;
    this.#provider = provider;
  }

  /** Whether the process was found gone at the last read. */
  get gone(): boolean {
    return this.#gone;
  }

  /** Whether a snapshot of the map was ever taken. */
  get known(): boolean {
    return this.#snapshots.length > 0;
  }

  /**
   * The map changed (an exec or a new mapping of code): read it again before the next
   * lookup, keeping the current snapshot as a fallback.
   *
   * @example
   * ```ts
   * using sym = new Symbolizer();
   * sym.process(Deno.pid).markStale(); // read again at the next lookup
   * ```
   */
  markStale(): void {
    this.#stale = true;
  }

  /**
   * Read `/proc/PID/maps` now and open the binaries of its code mappings.
   *
   * @returns Whether the process was there to read.
   * @example
   * ```ts
   * using sym = new Symbolizer();
   * if (!sym.process(Deno.pid).refresh()) console.log("gone");
   * ```
   */
  refresh(): boolean {
    this.#lastRead = performance.now();
    let text: string;
    try {
      text = Deno.readTextFileSync(`/proc/${this.pid}/maps`);
    } catch (e) {
      this.#gone = e instanceof Deno.errors.NotFound || /ESRCH|No such process/.test(String(e));
      this.#why = this.#gone
        ? `process ${this.pid} exited before its memory map was read`
        : `cannot read /proc/${this.pid}/maps: ${(e as Error).message}`;
      return false;
    }
    const maps = parseProcMaps(text);
    if (!maps.length) {
      // A zombie: its memory is gone, only the exit status waits to be read.
      this.#gone = true;
      this.#why = `process ${this.pid} exited before its memory map was read`;
      return false;
    }
    this.#stale = false;
    const binaries = new Map<Mapping, BinarySymbols | string>();
    let anonymousCode = false;
    for (const m of maps) {
      if (!isExecutable(m)) continue;
      if (m.path.startsWith("/")) {
        binaries.set(m, this.#provider.binary(this.pid, m));
      } else if (m.path === "[vdso]") {
        binaries.set(m, this.#provider.vdso() ?? "the vDSO could not be read");
      } else {
        anonymousCode = true;
      }
    }
    if (anonymousCode) {
      this.#perf ??= new PerfMap(`/tmp/perf-${this.pid}.map`);
      // Read it while the process lives: it may be cleaned up with it.
      this.#perf.refresh();
    }
    this.#snapshots.unshift({ maps, binaries });
    if (this.#snapshots.length > KEEP_SNAPSHOTS) this.#snapshots.length = KEEP_SNAPSHOTS;
    return true;
  }

  /**
   * Name a user address of this process.
   *
   * @param address The address.
   * @param caller Whether it is a return address (every frame but a stack's first): the
   *   byte before it is looked up, so a call that ends its function names that function.
   * @returns The frame, with the reason when there is no symbol.
   * @example
   * ```ts
   * using sym = new Symbolizer();
   * formatFrame(sym.process(Deno.pid).frame(0x10n, true));
   * // "0x10 [unknown: not in any mapping of process 1234]"
   * ```
   */
  frame(address: bigint, caller = false): Frame {
    const a = Number(address);
    const at = caller && a > 0 ? a - 1 : a;
    if (this.#stale && !this.#gone) this.refresh();
    let found = this.#find(at);
    if (!found && !this.#gone && performance.now() - this.#lastRead > REREAD_MS) {
      // Mapped since the last read (dlopen, a new JIT region)?
      if (this.refresh()) found = this.#find(at);
    }
    if (!found) {
      const why = this.#snapshots.length
        ? `not in any mapping of process ${this.pid}`
        : this.#why ?? `process ${this.pid} has no memory map`;
      return { address, kernel: false, unknown: why };
    }
    const [m, snap] = found;
    const module = m.path || "[anon]";
    if (!isExecutable(m)) {
      return { address, kernel: false, module, unknown: `not code (a ${m.perms} mapping)` };
    }
    const bin = snap.binaries.get(m);
    if (bin === undefined) {
      const hit = this.#perf?.lookup(at);
      if (hit) {
        return {
          address,
          kernel: false,
          symbol: hit.name,
          offset: a - (at - hit.offset),
          module: "[perf-map]",
        };
      }
      const why = this.#perf?.exists()
        ? `anonymous code not listed in ${this.#perf.path}`
        : `anonymous code (JIT?) and no /tmp/perf-${this.pid}.map`;
      return { address, kernel: false, module, unknown: why };
    }
    if (typeof bin === "string") return { address, kernel: false, module, unknown: bin };
    const hit = bin.lookupOffset(at - m.start + m.offset);
    if ("unknown" in hit) return { address, kernel: false, module, unknown: hit.unknown };
    this.used.add(bin);
    return {
      address,
      kernel: false,
      symbol: hit.symbol,
      offset: a - (at - hit.offset),
      module,
    };
  }

  #find(address: number): [Mapping, Snapshot] | undefined {
    for (const snap of this.#snapshots) {
      const m = findMapping(snap.maps, address);
      if (m) return [m, snap];
    }
    return undefined;
  }
}
