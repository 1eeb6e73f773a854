/**
 * A tiny ELF64 little-endian reader: section headers by name and the symbol table.
 *
 * Enough to take `.BTF` out of a compiled BPF object (and fix up its data sections)
 * without libbpf, so BTF tests run without root or FFI.
 *
 * @module
 */

import { ERRNO } from "../../ffi/abi.ts";
import { BpfError } from "../../ffi/errors.ts";

/**
 * Section type of a section with no file data (`.bss`).
 *
 * @example
 * ```ts
 * elfSections(bytes).filter((s) => s.type === SHT_NOBITS);
 * ```
 */
export const SHT_NOBITS = 8;
/**
 * Section type of the symbol table.
 *
 * @example
 * ```ts
 * elfSections(bytes).find((s) => s.type === SHT_SYMTAB);
 * ```
 */
export const SHT_SYMTAB = 2;

/** One section header. */
export interface ElfSection {
  /** Section name, e.g. `".BTF"`. */
  readonly name: string;
  /** Section index. */
  readonly index: number;
  /** `sh_type` (1 PROGBITS, 2 SYMTAB, 8 NOBITS, ...). */
  readonly type: number;
  /** `sh_flags`. */
  readonly flags: number;
  /** `sh_addr`: the section's address when loaded (0 in relocatable objects). */
  readonly addr: number;
  /** File offset of the data. */
  readonly offset: number;
  /** Size in bytes (in memory, for NOBITS). */
  readonly size: number;
  /** `sh_link`. */
  readonly link: number;
  /** `sh_info`. */
  readonly info: number;
  /** `sh_entsize`. */
  readonly entsize: number;
}

/** One symbol of `.symtab`. */
export interface ElfSymbol {
  /** Symbol name. */
  readonly name: string;
  /** `st_value` (the offset inside its section, in a relocatable object). */
  readonly value: number;
  /** `st_size`. */
  readonly size: number;
  /** Index of the section it is defined in (0: undefined). */
  readonly section: number;
  /** `STT_*` type (0 NOTYPE, 1 OBJECT, 2 FUNC, 3 SECTION, ...). */
  readonly type: number;
  /** `STB_*` binding (0 LOCAL, 1 GLOBAL, 2 WEAK). */
  readonly bind: number;
}

/**
 * Throw an ELF format error.
 *
 * @param message What is wrong.
 * @returns Never.
 * @example
 * ```ts
 * if (phentsize < 56) malformed(`program header size ${phentsize} is too small`);
 * ```
 */
export function malformed(message: string): never {
  throw new BpfError({ op: "elf parse", errno: ERRNO.ENOEXEC, message });
}

/**
 * Read a little-endian u64 that must fit a JS number (file offsets and sizes do).
 *
 * @param dv The view.
 * @param at The byte offset.
 * @returns The value.
 * @throws {BpfError} When it is 2^53 or more.
 * @example
 * ```ts
 * u64(new DataView(header.buffer), 0x28); // e_shoff
 * ```
 */
export function u64(dv: DataView, at: number): number {
  // Two words, not getBigUint64: this runs for every section header of every open, and
  // BigInt arithmetic is slow before V8 compiles the code.
  const lo = dv.getUint32(at, true);
  const hi = dv.getUint32(at + 4, true);
  if (hi > 0x1fffff) {
    malformed(`value 0x${dv.getBigUint64(at, true).toString(16)} at ${at} is too large`);
  }
  return hi * 0x100000000 + lo;
}

/**
 * A NUL-terminated string at `at`.
 *
 * @param bytes A string table.
 * @param at The string's offset in it.
 * @param what What the string names, for the error message.
 * @returns The string.
 * @throws {BpfError} When the offset is out of range.
 * @example
 * ```ts
 * cstr(strtab, sym.nameOffset, "symbol");
 * ```
 */
export function cstr(bytes: Uint8Array, at: number, what: string): string {
  if (at >= bytes.length) {
    if (at === 0) return "";
    malformed(`${what} name offset ${at} is out of range`);
  }
  let end = at;
  while (end < bytes.length && bytes[end] !== 0) end++;
  return decoder.decode(bytes.subarray(at, end));
}

/** One decoder for every name (an open reads a few dozen). */
const decoder = new TextDecoder();

/** The fields of an ELF64 file header that the readers use. */
export interface ElfHeader {
  /** `e_type`: 1 REL (object), 2 EXEC, 3 DYN (shared object or PIE), 4 CORE. */
  readonly type: number;
  /** `e_machine` (62 x86-64, 183 aarch64, 247 BPF). */
  readonly machine: number;
  /** Program header table offset (0: none). */
  readonly phoff: number;
  /** Size of one program header. */
  readonly phentsize: number;
  /** Number of program headers. */
  readonly phnum: number;
  /** Section header table offset (0: none). */
  readonly shoff: number;
  /** Size of one section header. */
  readonly shentsize: number;
  /** Number of section headers (0 with extended numbering: see section 0). */
  readonly shnum: number;
  /** Index of the section name table (0xffff with extended numbering). */
  readonly shstrndx: number;
}

/**
 * Parse and check the 64-byte ELF64 little-endian file header.
 *
 * @param bytes At least the file's first 64 bytes.
 * @returns The header fields.
 * @throws {BpfError} When the bytes are not an ELF64 LE header.
 * @example
 * ```ts
 * elfHeader(Deno.readFileSync("/bin/true")).type; // 3 (a PIE)
 * ```
 */
export function elfHeader(bytes: Uint8Array): ElfHeader {
  if (
    bytes.length < 64 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c ||
    bytes[3] !== 0x46
  ) {
    malformed("not an ELF file (bad magic)");
  }
  if (bytes[4] !== 2) malformed("not a 64-bit ELF file");
  if (bytes[5] !== 1) malformed("not a little-endian ELF file");
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    type: dv.getUint16(0x10, true),
    machine: dv.getUint16(0x12, true),
    phoff: u64(dv, 0x20),
    phentsize: dv.getUint16(0x36, true),
    phnum: dv.getUint16(0x38, true),
    shoff: u64(dv, 0x28),
    shentsize: dv.getUint16(0x3a, true),
    shnum: dv.getUint16(0x3c, true),
    shstrndx: dv.getUint16(0x3e, true),
  };
}

/**
 * Where a file's section header table lies, with extended numbering resolved.
 *
 * @param h The file header.
 * @param first The first section header (section 0), which holds the real counts when
 *   the header's own do not fit; only read when needed.
 * @param fileSize The file's size, to check the table against.
 * @returns The table's offset, entry size and count, and the name table's index.
 * @throws {BpfError} When the table does not fit the file.
 * @example
 * ```ts
 * const t = sectionTable(h, () => bytes.subarray(h.shoff, h.shoff + 64), bytes.length);
 * ```
 */
export function sectionTable(
  h: ElfHeader,
  first: () => Uint8Array,
  fileSize: number,
): { offset: number; entsize: number; count: number; names: number } {
  if (h.shoff === 0) return { offset: 0, entsize: 64, count: 0, names: 0 };
  if (h.shentsize < 64) malformed(`section header size ${h.shentsize} is too small`);
  if (h.shoff + h.shentsize > fileSize) malformed("section headers run past the end of the file");
  let count = h.shnum, names = h.shstrndx;
  if (count === 0 || names === 0xffff) {
    const s0 = first();
    const dv = new DataView(s0.buffer, s0.byteOffset, s0.byteLength);
    if (count === 0) count = u64(dv, 32);
    if (names === 0xffff) names = dv.getUint32(40, true);
  }
  if (h.shoff + count * h.shentsize > fileSize) {
    malformed("section headers run past the end of the file");
  }
  return { offset: h.shoff, entsize: h.shentsize, count, names };
}

/**
 * Parse a section header table (already read) and name its sections.
 *
 * @param table The table's bytes: `count` entries of `entsize` bytes.
 * @param count The number of sections.
 * @param entsize The size of one entry.
 * @param namesIndex The index of the section name table.
 * @param fileSize The file's size, to check each section against.
 * @param readNames Reads the name table's bytes, given its header.
 * @returns The sections, in index order.
 * @throws {BpfError} When a section does not fit the file.
 * @example
 * ```ts
 * const sections = parseSections(table, t.count, t.entsize, t.names, size, (s) => read(s));
 * ```
 */
export function parseSections(
  table: Uint8Array,
  count: number,
  entsize: number,
  namesIndex: number,
  fileSize: number,
  readNames: (s: Omit<ElfSection, "name">) => Uint8Array,
): ElfSection[] {
  const dv = new DataView(table.buffer, table.byteOffset, table.byteLength);
  const raw = [];
  for (let i = 0; i < count; i++) {
    const at = i * entsize;
    const type = dv.getUint32(at + 4, true);
    const offset = u64(dv, at + 24);
    const size = u64(dv, at + 32);
    if (type !== SHT_NOBITS && type !== 0 && offset + size > fileSize) {
      malformed(`section ${i} runs past the end of the file`);
    }
    raw.push({
      nameOff: dv.getUint32(at, true),
      index: i,
      type,
      flags: u64(dv, at + 8),
      addr: u64(dv, at + 16),
      offset,
      size,
      link: dv.getUint32(at + 40, true),
      info: dv.getUint32(at + 44, true),
      entsize: u64(dv, at + 56),
    });
  }
  if (!raw.length) return [];
  if (namesIndex >= raw.length) malformed(`section name table index ${namesIndex} is out of range`);
  const names = readNames(raw[namesIndex]);
  // Plain field copies, not rest and spread: this runs on every open, before V8 compiles it.
  return raw.map((s) => ({
    name: cstr(names, s.nameOff, "section"),
    index: s.index,
    type: s.type,
    flags: s.flags,
    addr: s.addr,
    offset: s.offset,
    size: s.size,
    link: s.link,
    info: s.info,
    entsize: s.entsize,
  }));
}

/**
 * List the sections of an ELF64 little-endian file.
 *
 * @param bytes The whole file.
 * @returns The section headers, in index order.
 * @throws {BpfError} When the bytes are not a well-formed ELF64 LE file.
 * @example
 * ```ts
 * elfSections(Deno.readFileSync("build/tests/btf_types.bpf.o")).map((s) => s.name);
 * ```
 */
export function elfSections(bytes: Uint8Array): ElfSection[] {
  const h = elfHeader(bytes);
  const t = sectionTable(h, () => bytes.subarray(h.shoff, h.shoff + 64), bytes.length);
  const table = bytes.subarray(t.offset, t.offset + t.count * t.entsize);
  return parseSections(
    table,
    t.count,
    t.entsize,
    t.names,
    bytes.length,
    (s) => bytes.subarray(s.offset, s.offset + s.size),
  );
}

/**
 * The data of the first section with a given name.
 *
 * @param bytes The whole ELF file.
 * @param name The section name, e.g. `".BTF"`.
 * @returns A view of the section data (zeros for NOBITS such as `.bss`), or undefined.
 * @throws {BpfError} When the bytes are not a well-formed ELF64 LE file.
 * @example
 * ```ts
 * const raw = elfSection(Deno.readFileSync("build/tests/btf_types.bpf.o"), ".BTF");
 * ```
 */
export function elfSection(bytes: Uint8Array, name: string): Uint8Array | undefined {
  const s = elfSections(bytes).find((x) => x.name === name);
  if (!s) return undefined;
  if (s.type === SHT_NOBITS) return new Uint8Array(s.size);
  return bytes.subarray(s.offset, s.offset + s.size);
}

/**
 * The symbols of `.symtab`.
 *
 * @param bytes The whole ELF file.
 * @param sections The file's sections, when already parsed.
 * @returns The symbols (empty when there is no symbol table).
 * @throws {BpfError} When the bytes are not a well-formed ELF64 LE file.
 * @example
 * ```ts
 * elfSymbols(bytes).filter((s) => s.type === 1).map((s) => s.name); // data objects
 * ```
 */
export function elfSymbols(bytes: Uint8Array, sections = elfSections(bytes)): ElfSymbol[] {
  const symtab = sections.find((s) => s.type === SHT_SYMTAB);
  if (!symtab) return [];
  const strtab = sections[symtab.link];
  if (!strtab) malformed(`symbol string table index ${symtab.link} is out of range`);
  const names = bytes.subarray(strtab.offset, strtab.offset + strtab.size);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ent = symtab.entsize || 24;
  const out: ElfSymbol[] = [];
  for (let at = symtab.offset; at + 24 <= symtab.offset + symtab.size; at += ent) {
    const info = dv.getUint8(at + 4);
    out.push({
      name: cstr(names, dv.getUint32(at, true), "symbol"),
      type: info & 0xf,
      bind: info >> 4,
      section: dv.getUint16(at + 6, true),
      value: u64(dv, at + 8),
      size: u64(dv, at + 16),
    });
  }
  return out;
}

/**
 * A part of the file as little-endian 32-bit words: a view when it is 4-byte aligned in
 * memory (it is in any file clang wrote), else an aligned copy.
 *
 * @param bytes The whole file.
 * @param offset Where the part starts (in bounds, as {@link elfSections} checked).
 * @param size Its length in bytes; a trailing partial word is left out.
 * @returns The words.
 * @example
 * ```ts
 * const sym = elfSections(bytes).find((s) => s.type === SHT_SYMTAB)!;
 * elfWords(bytes, sym.offset, sym.size)[0]; // st_name of symbol 0
 * ```
 */
export function elfWords(bytes: Uint8Array, offset: number, size: number): Uint32Array {
  const n = size >>> 2;
  const at = bytes.byteOffset + offset;
  if (at % 4 === 0) return new Uint32Array(bytes.buffer, at, n);
  return new Uint32Array(bytes.slice(offset, offset + n * 4).buffer);
}
