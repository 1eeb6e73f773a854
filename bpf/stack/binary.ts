/**
 * The symbols of one mapped file (an executable or a shared library): its PT_LOAD segments
 * turn a file offset into a linked address, and its function symbols name it. A stripped
 * file gets its symbols from a separate debug file: `/usr/lib/debug/.build-id/xx/yyyy.debug`
 * (what Debian's `-dbgsym` packages install) by build-id, else by `.gnu_debuglink`.
 *
 * @module
 */

import { BpfError } from "../../ffi/errors.ts";
import { ElfImage, type ElfSegment, PT_LOAD } from "../elf/image.ts";
import { SymbolIndex } from "./symtab.ts";

/** Where debug files are looked for unless told otherwise. */
export const DEFAULT_DEBUG_DIRS: readonly string[] = ["/usr/lib/debug"];

/** Options for finding a binary's symbols. */
export interface BinaryOptions {
  /** Directories holding `.build-id/` trees and debug-link copies (default `/usr/lib/debug`). */
  debugDirs?: readonly string[];
  /** The file's path as the process names it, for messages and debug links (default: the
   * path opened). */
  name?: string;
}

/** What a lookup in a binary found. */
export type BinaryHit =
  | { symbol: string; offset: number }
  | { unknown: string };

/** Functions sampled to tell whether a binary keeps frame pointers. */
const PROLOGUE_SAMPLES = 48;
/** Start-up code the C runtime links into every program, built without frame pointers. */
const CRT_FUNCTIONS = new Set([
  "_start",
  "_init",
  "_fini",
  "deregister_tm_clones",
  "register_tm_clones",
  "__do_global_dtors_aux",
  "frame_dummy",
  "__libc_csu_init",
  "__libc_csu_fini",
  "_dl_relocate_static_pie",
]);

/**
 * The symbols of one ELF file, read when first needed and kept while the file is open.
 *
 * @example
 * ```ts
 * using bin = BinarySymbols.open("build/tests/stack_chain");
 * bin.lookupOffset(0x1160); // { symbol: "gamma", offset: 23 }
 * bin.framePointers(); // true: built with -fno-omit-frame-pointer
 * ```
 */
export class BinarySymbols implements Disposable {
  /** The file's name as its process maps it. */
  readonly name: string;
  /** The GNU build-id in hex, when the file has one. */
  readonly buildId?: string;
  readonly #elf: ElfImage;
  readonly #debugDirs: readonly string[];
  readonly #loads: ElfSegment[];
  #index?: SymbolIndex | null;
  #source?: string;
  #why?: string;
  #framePointers?: boolean | null;

  private constructor(elf: ElfImage, opts: BinaryOptions) {
    this.#elf = elf;
    this.name = opts.name ?? elf.path;
    this.#debugDirs = opts.debugDirs ?? DEFAULT_DEBUG_DIRS;
    this.#loads = elf.segments.filter((s) => s.type === PT_LOAD);
    this.buildId = elf.buildId();
  }

  /**
   * Open a file's headers; its symbols are read on the first lookup.
   *
   * @param path The file to open (e.g. `/proc/PID/map_files/START-END`).
   * @param opts Debug directories; the name to report.
   * @returns The binary; close it (or `using`) when done.
   * @throws {BpfError} When the file cannot be opened or is not ELF64.
   * @example
   * ```ts
   * using bin = BinarySymbols.open("/proc/self/exe", { debugDirs: ["/usr/lib/debug"] });
   * bin.buildId; // "e2782821a8acc2d756b03c634ba77d6b84e193ac"
   * ```
   */
  static open(path: string, opts: BinaryOptions = {}): BinarySymbols {
    return new BinarySymbols(ElfImage.open(path), opts);
  }

  /**
   * Symbols of an image already read (the vDSO).
   *
   * @param elf The image.
   * @param opts Debug directories; the name to report.
   * @returns The binary.
   * @example
   * ```ts
   * // What the Symbolizer does with the vDSO it copies out of memory.
   * using sym = new Symbolizer();
   * sym.vdso()?.name; // "[vdso]"
   * ```
   */
  static fromImage(elf: ElfImage, opts: BinaryOptions = {}): BinarySymbols {
    return new BinarySymbols(elf, opts);
  }

  /**
   * Where the symbols came from: `".symtab"`, `".dynsym"`, or a debug file's path; undefined
   * before the first lookup or when there are none.
   */
  get symbolSource(): string | undefined {
    this.#symbols();
    return this.#source;
  }

  /**
   * The symbol at a file offset.
   *
   * @param fileOffset An address minus its mapping's start plus the mapping's offset.
   * @returns The symbol and offset, or why there is none.
   * @example
   * ```ts
   * using bin = BinarySymbols.open("build/tests/stack_chain");
   * bin.lookupOffset(0x1160); // { symbol: "gamma", offset: 23 }
   * bin.lookupOffset(0x10); // { unknown: "no symbol covers 0x10 in build/tests/stack_chain (.symtab)" }
   * ```
   */
  lookupOffset(fileOffset: number): BinaryHit {
    const index = this.#symbols();
    if (!index) return { unknown: this.#why ?? `no symbols in ${this.name}` };
    const vaddr = this.#addressOf(fileOffset);
    if (vaddr === undefined) {
      return { unknown: `offset 0x${fileOffset.toString(16)} is in no segment of ${this.name}` };
    }
    const i = index.find(vaddr);
    if (i < 0) {
      const why = this.#source === ".dynsym"
        ? `only exported functions in .dynsym: ${this.#noDebugFile()}`
        : this.#source;
      return { unknown: `no symbol covers 0x${vaddr.toString(16)} in ${this.name} (${why})` };
    }
    return { symbol: index.name(i), offset: vaddr - index.start(i) };
  }

  /**
   * Whether the binary's functions keep a frame pointer (`push %rbp; mov %rsp,%rbp` at their
   * start, as `-fno-omit-frame-pointer` makes them): without it, a user stack walked through
   * its code skips frames or ends early. x86-64 only; judged from a sample of its larger
   * functions.
   *
   * @returns True or false, or undefined when it cannot be told (no symbols, other arch).
   * @example
   * ```ts
   * using bin = BinarySymbols.open("build/tests/stack_chain");
   * if (bin.framePointers() === false) console.log(`${bin.name}: no frame pointers`);
   * ```
   */
  framePointers(): boolean | undefined {
    if (this.#framePointers !== undefined) return this.#framePointers ?? undefined;
    this.#framePointers = null;
    const index = this.#symbols();
    if (!index || this.#elf.header.machine !== 62 || !index.size) return undefined;
    let sampled = 0, framed = 0;
    const step = Math.max(1, Math.floor(index.size / (PROLOGUE_SAMPLES * 4)));
    for (let i = 0; i < index.size && sampled < PROLOGUE_SAMPLES; i += step) {
      if (CRT_FUNCTIONS.has(index.name(i))) continue;
      const at = this.#elf.offsetOf(index.start(i));
      if (at === undefined || at + 12 > this.#elf.size) continue;
      const code = this.#elf.read(at, 12);
      sampled++;
      if (hasFramePrologue(code)) framed++;
    }
    if (sampled < 3) return undefined;
    this.#framePointers = framed * 2 >= sampled;
    return this.#framePointers;
  }

  /** Close the file. */
  close(): void {
    this.#elf.close();
  }

  /** Close the file. */
  [Symbol.dispose](): void {
    this.close();
  }

  #addressOf(offset: number): number | undefined {
    for (const s of this.#loads) {
      if (offset >= s.offset && offset < s.offset + s.filesz) return offset - s.offset + s.vaddr;
    }
    return undefined;
  }

  #symbols(): SymbolIndex | undefined {
    if (this.#index !== undefined) return this.#index ?? undefined;
    this.#index = null;
    try {
      if (this.#elf.hasSymtab()) {
        this.#use(this.#elf, ".symtab");
      } else {
        const debug = this.#debugFile();
        if (debug) {
          try {
            this.#use(debug, debug.path);
          } finally {
            debug.close();
          }
        }
        if (!this.#index) this.#use(this.#elf, ".dynsym");
      }
    } catch (e) {
      this.#why = `cannot read symbols of ${this.name}: ${
        e instanceof BpfError ? e.message : String(e)
      }`;
    }
    if (!this.#index && !this.#why) {
      this.#why = `no symbols in ${this.name} (${this.#noDebugFile()})`;
    }
    return this.#index ?? undefined;
  }

  #noDebugFile(): string {
    const id = this.buildId ? `for build-id ${this.buildId}` : "and no build-id";
    return `stripped; no debug file ${id} in ${this.#debugDirs.join(", ")}`;
  }

  #use(elf: ElfImage, source: string): void {
    const syms = elf.functionSymbols();
    if (!syms || !syms.value.length) return;
    this.#index = SymbolIndex.fromElf(syms);
    this.#source = source;
  }

  /** The separate debug file with a full .symtab, by build-id, then by debug link. */
  #debugFile(): ElfImage | undefined {
    const candidates: string[] = [];
    const id = this.buildId;
    if (id && id.length > 2) {
      for (const dir of this.#debugDirs) {
        candidates.push(`${dir}/.build-id/${id.slice(0, 2)}/${id.slice(2)}.debug`);
      }
    }
    const link = safe(() => this.#elf.debugLink());
    if (link && !link.includes("/")) {
      const dir = this.name.startsWith("/") ? this.name.slice(0, this.name.lastIndexOf("/")) : "";
      for (const d of this.#debugDirs) candidates.push(`${d}${dir}/${link}`);
      if (dir) candidates.push(`${dir}/${link}`, `${dir}/.debug/${link}`);
    }
    for (const path of candidates) {
      let elf: ElfImage;
      try {
        elf = ElfImage.open(path);
      } catch {
        continue;
      }
      // A debug file of another build would name the wrong functions.
      if (id && safe(() => elf.buildId()) !== id) {
        elf.close();
        continue;
      }
      if (elf.hasSymtab()) return elf;
      elf.close();
    }
    return undefined;
  }
}

/**
 * Whether machine code starts with the x86-64 frame set-up: `push %rbp; mov %rsp,%rbp`,
 * after an optional `endbr64`.
 *
 * @param code The first bytes of a function.
 * @returns True when it sets up a frame pointer.
 * @example
 * ```ts
 * hasFramePrologue(new Uint8Array([0x55, 0x48, 0x89, 0xe5])); // true
 * ```
 */
export function hasFramePrologue(code: Uint8Array): boolean {
  let i = 0;
  if (code[0] === 0xf3 && code[1] === 0x0f && code[2] === 0x1e && code[3] === 0xfa) i = 4;
  return code[i] === 0x55 && code[i + 1] === 0x48 && code[i + 2] === 0x89 && code[i + 3] === 0xe5;
}

function safe<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}
