/**
 * Executables and shared libraries on disk, read the way uprobes and USDT need them: the
 * program headers (to turn a symbol's address into the file offset the kernel probes),
 * the dynamic and static symbol tables, and notes (`.note.stapsdt`).
 *
 * Only the parts asked for are read, so a 200 MB binary costs a few reads, and only
 * regular files are opened: a FIFO or a device never blocks the caller.
 *
 * @module
 */

import { ERRNO } from "../../ffi/abi.ts";
import { BpfError } from "../../ffi/errors.ts";

/** `e_type` of an executable linked at a fixed address. */
export const ET_EXEC = 2;
/** `e_type` of a shared library or a position-independent executable. */
export const ET_DYN = 3;
/** `p_type` of a loadable segment. */
export const PT_LOAD = 1;
/** `p_flags` bit: the segment is executable. */
export const PF_X = 1;
/** `st_info` type of a function. */
export const STT_FUNC = 2;
/** `st_info` type of an indirect function (its value is the resolver, not the code). */
export const STT_GNU_IFUNC = 10;

/** The largest section read whole (symbol tables of huge binaries stay below it). */
const MAX_SECTION_BYTES = 512 * 1024 * 1024;

/** One program header. */
export interface ElfSegment {
  /** `p_type` (1: PT_LOAD). */
  readonly type: number;
  /** `p_flags` (1: X, 2: W, 4: R). */
  readonly flags: number;
  /** Where the segment starts in the file. */
  readonly offset: number;
  /** Where it is mapped. */
  readonly vaddr: number;
  /** Bytes in the file. */
  readonly filesz: number;
  /** Bytes in memory. */
  readonly memsz: number;
}

/** One section header of a file on disk. */
export interface ElfFileSection {
  /** Its name, e.g. `".dynsym"`. */
  readonly name: string;
  /** `sh_type`. */
  readonly type: number;
  /** `sh_addr`: where it is mapped (0 when it is not). */
  readonly addr: number;
  /** File offset of the data. */
  readonly offset: number;
  /** Size in bytes. */
  readonly size: number;
  /** `sh_link`. */
  readonly link: number;
  /** `sh_entsize`. */
  readonly entsize: number;
}

/** A defined symbol of `.symtab` or `.dynsym`. */
export interface ElfFileSymbol {
  /** Its name (without a version). */
  readonly name: string;
  /** Its address (`st_value`). */
  readonly value: number;
  /** `st_size`. */
  readonly size: number;
  /** `STT_*` (2: FUNC, 10: GNU_IFUNC). */
  readonly type: number;
  /** `STB_*` (0: LOCAL, 1: GLOBAL, 2: WEAK). */
  readonly bind: number;
}

/** One note of a note section. */
export interface ElfNote {
  /** The owner, e.g. `"stapsdt"`. */
  readonly owner: string;
  /** `n_type`. */
  readonly type: number;
  /** The descriptor bytes. */
  readonly desc: Uint8Array;
}

const SHT_SYMTAB = 2;
const SHT_NOTE = 7;
const SHT_NOBITS = 8;
const SHT_DYNSYM = 11;

/**
 * An ELF64 little-endian file on disk, read in parts.
 *
 * @example
 * ```ts
 * using elf = ElfFile.open("/lib/x86_64-linux-gnu/libc.so.6");
 * const malloc = elf.symbol("malloc");
 * elf.fileOffset(malloc!.value); // the offset a uprobe on malloc uses
 * ```
 */
export class ElfFile {
  /** The path it was opened from. */
  readonly path: string;
  /** `e_type`: {@link ET_EXEC}, {@link ET_DYN}, … */
  readonly type: number;
  /** The program headers. */
  readonly segments: readonly ElfSegment[];
  /** The section headers (empty for a stripped-of-sections file). */
  readonly sections: readonly ElfFileSection[];
  readonly #file: Deno.FsFile;
  readonly #size: number;
  #symbols?: ElfFileSymbol[];

  private constructor(path: string, file: Deno.FsFile, size: number) {
    this.path = path;
    this.#file = file;
    this.#size = size;
    const head = this.read(0, Math.min(64, size));
    if (
      head.length < 64 || head[0] !== 0x7f || head[1] !== 0x45 || head[2] !== 0x4c ||
      head[3] !== 0x46
    ) {
      this.#fail("not an ELF file");
    }
    if (head[4] !== 2 || head[5] !== 1) this.#fail("not a 64-bit little-endian ELF file");
    const dv = view(head);
    this.type = dv.getUint16(16, true);
    this.segments = this.#readSegments(dv);
    this.sections = this.#readSections(dv);
  }

  /**
   * Open a file, refusing anything but a regular ELF64 little-endian file.
   *
   * @param path The file (symlinks are followed).
   * @param op The operation, for errors (default `"read ELF"`).
   * @returns The open file; close it (or `using`).
   * @throws {BpfError} ENOENT, or ENOEXEC "not an ELF file", or EINVAL for a FIFO, device
   *   or directory.
   * @example
   * ```ts
   * using bash = ElfFile.open("/bin/bash");
   * ```
   */
  static open(path: string, op = "read ELF"): ElfFile {
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(path);
    } catch (e) {
      throw new BpfError({
        op,
        errno: e instanceof Deno.errors.PermissionDenied ? ERRNO.EACCES : ERRNO.ENOENT,
        message: `cannot read '${path}'`,
      });
    }
    if (!info.isFile) {
      const what = info.isDirectory
        ? "a directory"
        : info.isFifo
        ? "a FIFO"
        : info.isSocket
        ? "a socket"
        : "a device or special file";
      throw new BpfError({
        op,
        errno: ERRNO.EINVAL,
        message: `'${path}' is ${what}, not a regular file`,
        hint: "give an executable or a shared library",
      });
    }
    const file = Deno.openSync(path, { read: true });
    try {
      return new ElfFile(path, file, info.size);
    } catch (e) {
      file.close();
      if (e instanceof BpfError) {
        throw new BpfError({ op, errno: e.errno, message: `'${path}': ${e.message}` });
      }
      throw e;
    }
  }

  /**
   * Read bytes of the file.
   *
   * @param offset Where to start.
   * @param length How many bytes.
   * @returns The bytes.
   * @example
   * ```ts
   * elf.read(0, 4); // 7f 45 4c 46
   * ```
   */
  read(offset: number, length: number): Uint8Array<ArrayBuffer> {
    if (offset < 0 || length < 0 || offset + length > this.#size) {
      this.#fail(`range ${offset}+${length} runs past the end of the file (${this.#size} bytes)`);
    }
    const out = new Uint8Array(length);
    this.#file.seekSync(offset, Deno.SeekMode.Start);
    let got = 0;
    while (got < length) {
      const n = this.#file.readSync(out.subarray(got));
      if (n === null || n === 0) this.#fail("the file ended early (truncated?)");
      got += n;
    }
    return out;
  }

  /**
   * The file offset of a virtual address: what the kernel needs for a uprobe. Found through
   * the loadable segment that maps the address, never assumed equal to it.
   *
   * @param vaddr An address as the symbol table (or `nm`) shows it.
   * @returns The offset, or undefined when no executable segment maps it.
   * @example
   * ```ts
   * elf.fileOffset(0x401126); // 0x1126 for a non-PIE executable linked at 0x400000
   * ```
   */
  fileOffset(vaddr: number): number | undefined {
    for (const s of this.segments) {
      if (s.type !== PT_LOAD || !(s.flags & PF_X)) continue;
      if (vaddr >= s.vaddr && vaddr < s.vaddr + s.filesz) return vaddr - s.vaddr + s.offset;
    }
    return undefined;
  }

  /**
   * The defined symbols of `.symtab` and `.dynsym` (names without their `@VERSION`).
   *
   * @returns Symbols with a non-zero address.
   * @example
   * ```ts
   * elf.symbols().filter((s) => s.type === STT_FUNC).length;
   * ```
   */
  symbols(): readonly ElfFileSymbol[] {
    if (this.#symbols) return this.#symbols;
    const out: ElfFileSymbol[] = [];
    const seen = new Set<string>();
    for (const table of this.sections) {
      if (table.type !== SHT_SYMTAB && table.type !== SHT_DYNSYM) continue;
      const strs = this.sections[table.link];
      if (!strs) this.#fail(`symbol table '${table.name}' links to no string table`);
      const names = this.#data(strs);
      const bytes = this.#data(table);
      const dv = view(bytes);
      const ent = table.entsize || 24;
      if (ent < 24) this.#fail(`symbol entry size ${ent} is too small`);
      for (let at = ent; at + 24 <= bytes.length; at += ent) {
        const info = bytes[at + 4];
        const shndx = dv.getUint16(at + 6, true);
        const value = safe(dv.getBigUint64(at + 8, true));
        if (shndx === 0 || value === 0) continue;
        const name = cstring(names, dv.getUint32(at, true)).replace(/@.*$/, "");
        if (!name) continue;
        const key = `${name}\0${value}`;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push({
          name,
          value,
          size: safe(dv.getBigUint64(at + 16, true)),
          type: info & 0xf,
          bind: info >> 4,
        });
      }
    }
    this.#symbols = out;
    return out;
  }

  /**
   * Find a function symbol by name.
   *
   * @param name The symbol, e.g. `"malloc"`.
   * @returns Every definition with that name (usually one; local symbols may repeat).
   * @example
   * ```ts
   * elf.functions("malloc")[0].value;
   * ```
   */
  functions(name: string): ElfFileSymbol[] {
    return this.symbols().filter((s) =>
      s.name === name && (s.type === STT_FUNC || s.type === STT_GNU_IFUNC)
    );
  }

  /**
   * Find one symbol by name (a global definition before a local one).
   *
   * @param name The symbol.
   * @returns The symbol, or undefined.
   * @example
   * ```ts
   * elf.symbol("main")?.value;
   * ```
   */
  symbol(name: string): ElfFileSymbol | undefined {
    const all = this.symbols().filter((s) => s.name === name);
    return all.find((s) => s.bind !== 0) ?? all[0];
  }

  /**
   * The notes of a note section.
   *
   * @param section The section, e.g. `".note.stapsdt"`.
   * @returns Its notes (empty when the section is absent).
   * @example
   * ```ts
   * elf.notes(".note.stapsdt").filter((n) => n.owner === "stapsdt");
   * ```
   */
  notes(section: string): ElfNote[] {
    const s = this.sections.find((x) => x.name === section && x.type === SHT_NOTE);
    if (!s) return [];
    const bytes = this.#data(s);
    const dv = view(bytes);
    const out: ElfNote[] = [];
    let at = 0;
    while (at + 12 <= bytes.length) {
      const namesz = dv.getUint32(at, true);
      const descsz = dv.getUint32(at + 4, true);
      const type = dv.getUint32(at + 8, true);
      const nameAt = at + 12;
      const descAt = nameAt + align4(namesz);
      const end = descAt + align4(descsz);
      if (descAt + descsz > bytes.length) this.#fail(`a note in '${section}' runs past its end`);
      out.push({
        owner: cstring(bytes.subarray(nameAt, nameAt + namesz), 0),
        type,
        desc: bytes.subarray(descAt, descAt + descsz),
      });
      at = end;
    }
    return out;
  }

  /** Close the file. */
  close(): void {
    try {
      this.#file.close();
    } catch {
      // Already closed.
    }
  }

  /** Same as close(), for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #readSegments(dv: DataView): ElfSegment[] {
    const phoff = safe(dv.getBigUint64(32, true));
    const phentsize = dv.getUint16(54, true);
    const phnum = dv.getUint16(56, true);
    if (!phoff || !phnum) return [];
    if (phentsize < 56) this.#fail(`program header size ${phentsize} is too small`);
    const bytes = this.read(phoff, phentsize * phnum);
    const p = view(bytes);
    const out: ElfSegment[] = [];
    for (let i = 0; i < phnum; i++) {
      const at = i * phentsize;
      out.push({
        type: p.getUint32(at, true),
        flags: p.getUint32(at + 4, true),
        offset: safe(p.getBigUint64(at + 8, true)),
        vaddr: safe(p.getBigUint64(at + 16, true)),
        filesz: safe(p.getBigUint64(at + 32, true)),
        memsz: safe(p.getBigUint64(at + 40, true)),
      });
    }
    return out;
  }

  #readSections(dv: DataView): ElfFileSection[] {
    const shoff = safe(dv.getBigUint64(40, true));
    const shentsize = dv.getUint16(58, true);
    let shnum = dv.getUint16(60, true);
    let shstrndx = dv.getUint16(62, true);
    if (!shoff) return [];
    if (shentsize < 64) this.#fail(`section header size ${shentsize} is too small`);
    if (shnum === 0 || shstrndx === 0xffff) {
      // Extended numbering: the real values live in section 0.
      const zero = view(this.read(shoff, 64));
      if (shnum === 0) shnum = safe(zero.getBigUint64(32, true));
      if (shstrndx === 0xffff) shstrndx = zero.getUint32(40, true);
    }
    if (shnum * shentsize > this.#size) this.#fail(`${shnum} section headers cannot fit`);
    const bytes = this.read(shoff, shnum * shentsize);
    const h = view(bytes);
    const raw = [];
    for (let i = 0; i < shnum; i++) {
      const at = i * shentsize;
      const type = h.getUint32(at + 4, true);
      const offset = safe(h.getBigUint64(at + 24, true));
      const size = safe(h.getBigUint64(at + 32, true));
      if (type !== SHT_NOBITS && type !== 0 && offset + size > this.#size) {
        this.#fail(`section ${i} runs past the end of the file`);
      }
      raw.push({
        nameOff: h.getUint32(at, true),
        type,
        addr: safe(h.getBigUint64(at + 16, true)),
        offset,
        size: type === SHT_NOBITS ? 0 : size,
        link: h.getUint32(at + 40, true),
        entsize: safe(h.getBigUint64(at + 56, true)),
      });
    }
    const strs = raw[shstrndx];
    const names = strs ? this.#data(strs) : new Uint8Array();
    return raw.map(({ nameOff, ...s }) => ({ name: cstring(names, nameOff), ...s }));
  }

  #data(s: { offset: number; size: number }): Uint8Array {
    if (s.size > MAX_SECTION_BYTES) this.#fail(`a section of ${s.size} bytes is too large`);
    return this.read(s.offset, s.size);
  }

  #fail(message: string): never {
    throw new BpfError({ op: "read ELF", errno: ERRNO.ENOEXEC, message });
  }
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function safe(v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new BpfError({
      op: "read ELF",
      errno: ERRNO.ENOEXEC,
      message: `value 0x${v.toString(16)} is too large`,
    });
  }
  return Number(v);
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

function cstring(bytes: Uint8Array, at: number): string {
  if (at >= bytes.length) return "";
  let end = at;
  while (end < bytes.length && bytes[end] !== 0) end++;
  return new TextDecoder().decode(bytes.subarray(at, end));
}
