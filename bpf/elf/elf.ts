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

/** Throw an ELF format error. */
function bad(message: string): never {
  throw new BpfError({ op: "elf parse", errno: ERRNO.ENOEXEC, message });
}

/** Read a u64 that must fit a JS number (file offsets and sizes do). */
function u64(dv: DataView, at: number): number {
  const v = dv.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) bad(`value 0x${v.toString(16)} at ${at} is too large`);
  return Number(v);
}

/** A NUL-terminated string at `at`. */
function cstr(bytes: Uint8Array, at: number, what: string): string {
  if (at >= bytes.length) {
    if (at === 0) return "";
    bad(`${what} name offset ${at} is out of range`);
  }
  let end = at;
  while (end < bytes.length && bytes[end] !== 0) end++;
  return new TextDecoder().decode(bytes.subarray(at, end));
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
  if (
    bytes.length < 64 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c ||
    bytes[3] !== 0x46
  ) {
    bad("not an ELF file (bad magic)");
  }
  if (bytes[4] !== 2) bad("not a 64-bit ELF file");
  if (bytes[5] !== 1) bad("not a little-endian ELF file");
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shoff = u64(dv, 0x28);
  const shentsize = dv.getUint16(0x3a, true);
  let shnum = dv.getUint16(0x3c, true);
  let shstrndx = dv.getUint16(0x3e, true);
  if (shoff === 0) return [];
  if (shentsize < 64) bad(`section header size ${shentsize} is too small`);
  if (shoff + shentsize > bytes.length) bad("section headers run past the end of the file");
  // Extended numbering: the real counts live in section 0.
  if (shnum === 0) shnum = u64(dv, shoff + 32);
  if (shstrndx === 0xffff) shstrndx = dv.getUint32(shoff + 40, true);
  if (shoff + shnum * shentsize > bytes.length) {
    bad("section headers run past the end of the file");
  }
  const raw = [];
  for (let i = 0; i < shnum; i++) {
    const at = shoff + i * shentsize;
    const type = dv.getUint32(at + 4, true);
    const offset = u64(dv, at + 24);
    const size = u64(dv, at + 32);
    if (type !== SHT_NOBITS && type !== 0 && offset + size > bytes.length) {
      bad(`section ${i} runs past the end of the file`);
    }
    raw.push({
      nameOff: dv.getUint32(at, true),
      index: i,
      type,
      flags: u64(dv, at + 8),
      offset,
      size,
      link: dv.getUint32(at + 40, true),
      info: dv.getUint32(at + 44, true),
      entsize: u64(dv, at + 56),
    });
  }
  if (shstrndx >= raw.length) bad(`section name table index ${shstrndx} is out of range`);
  const strs = raw[shstrndx];
  const names = bytes.subarray(strs.offset, strs.offset + strs.size);
  return raw.map(({ nameOff, ...s }) => ({ name: cstr(names, nameOff, "section"), ...s }));
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
  if (!strtab) bad(`symbol string table index ${symtab.link} is out of range`);
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
