/**
 * The gate an untrusted BPF object passes before libbpf sees its bytes.
 *
 * libbpf 1.1.2 parses objects as a compiler's output, not as hostile input: it trusts
 * symbol offsets (an overflowing `st_value` points a program before its section),
 * relocation targets (a relocation of section 0 dereferences NULL), the second half of a
 * 64-bit load at the end of a program, and everything in `.BTF` and `.BTF.ext` (see
 * {@link checkBtf}, {@link checkBtfExt}). One bad byte there kills the process. This
 * module checks, in one pass over headers and tables, every such property libbpf relies
 * on, and refuses the object with a {@link BpfError} naming the first broken one.
 *
 * It refuses nothing clang emits: each rule holds for any object the kernel would load.
 *
 * @module
 */

import { BpfError } from "../../ffi/errors.ts";
import type { BtfData } from "../btf/raw.ts";
import { BTF_KIND } from "../btf/types.ts";
import { checkBtf } from "./btf_check.ts";
import { checkBtfExt } from "./btf_ext_check.ts";
import { reason, refuse } from "./corrupt.ts";
import { checkMapDefs } from "./maps_check.ts";
import { type ElfSection, elfSections, elfWords, SHT_NOBITS, SHT_SYMTAB } from "./elf.ts";

const SHT_NULL = 0;
const SHT_PROGBITS = 1;
const SHT_STRTAB = 3;
const SHT_REL = 9;
const SHF_EXECINSTR = 4;
const ET_REL = 1;
const EM_BPF = 247;
const SHN_LORESERVE = 0xff00;
const SHN_ABS = 0xfff1;
const SHN_COMMON = 0xfff2;
const STT_OBJECT = 1;
const STT_FUNC = 2;
const STB_GLOBAL = 1;
const STB_WEAK = 2;
/** `BPF_LD | BPF_IMM | BPF_DW`: the first half of a two-slot 64-bit load. */
const LD_IMM64 = 0x18;

const decoder = new TextDecoder();

/** The symbol table as columns (no object per symbol: this runs on every open). */
interface Symbols {
  count: number;
  nameOff: Uint32Array;
  /** `st_info`: type in the low nibble, binding in the high one. */
  info: Uint8Array;
  section: Uint16Array;
  /** `st_value` and `st_size`, 0 for symbols outside a section. */
  value: Float64Array;
  size: Float64Array;
}

/**
 * Check that libbpf can parse an object without trusting anything in it.
 *
 * @param bytes The object file.
 * @param op The operation, for errors (e.g. `"open 'x.bpf.o'"`).
 * @throws {BpfError} ENOEXEC (ELF structure) or EILSEQ (BTF) naming what is broken.
 * @example
 * ```ts
 * checkObject(Deno.readFileSync("build/tests/minimal.bpf.o"), "open 'minimal'");
 * ```
 */
export function checkObject(bytes: Uint8Array, op = "check object"): void {
  const bad = (message: string): never => refuse(op, "object", message);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let sections: ElfSection[];
  try {
    sections = elfSections(bytes);
  } catch (e) {
    if (e instanceof BpfError) bad(reason(e));
    throw e;
  }
  // ELF header: a relocatable BPF object (e_machine 0 from old LLVM).
  if (dv.getUint16(0x10, true) !== ET_REL) bad("not a relocatable object (e_type)");
  const machine = dv.getUint16(0x12, true);
  if (machine !== 0 && machine !== EM_BPF) bad(`not a BPF object (e_machine ${machine})`);
  if (dv.getUint16(0x3a, true) !== 64) bad(`section header size ${dv.getUint16(0x3a, true)}`);
  if (sections.length === 0) bad("no section headers");

  let symtab: ElfSection | undefined;
  const btfs: ElfSection[] = [];
  const exts: ElfSection[] = [];
  for (const s of sections) {
    if (s.type === SHT_NULL && s.index > 0) bad(`section ${s.index} has no type`);
    if (s.type === SHT_PROGBITS && s.flags & SHF_EXECINSTR && s.size % 8) {
      bad(`code section ${s.index} (${s.name}) is ${s.size} bytes, not whole instructions`);
    }
    if (s.type === SHT_SYMTAB) {
      if (symtab) bad("more than one symbol table");
      symtab = s;
    }
    if (s.type !== SHT_NOBITS && s.name === ".BTF") btfs.push(s);
    if (s.type !== SHT_NOBITS && s.name === ".BTF.ext") exts.push(s);
  }
  if (sections[0].type !== SHT_NULL) bad("section 0 is not the null section");
  const shstrndx = nameTableIndex(dv, sections);
  const names = sections[shstrndx];
  if (names.type !== SHT_STRTAB || !nulTerminated(bytes, names)) {
    bad(`section ${shstrndx} holds the section names but is not a string table`);
  }
  if (!symtab) return bad("no symbol table (a stripped object?)");
  if (symtab.entsize !== 24 || symtab.size % 24) bad("symbol table entries are not 24 bytes");
  const strtab = sections[symtab.link];
  if (!strtab || strtab.type !== SHT_STRTAB || !nulTerminated(bytes, strtab)) {
    bad(`symbol string table (section ${symtab.link}) is not a string table`);
  }

  const symbols = readSymbols(bytes, symtab, strtab, sections, bad);
  for (const s of sections) {
    if (s.type === SHT_REL) checkRelocations(bytes, s, sections, symbols.count, bad);
  }
  checkPrograms(bytes, sections, symbols, bad);

  let btf: BtfData | undefined;
  for (const s of btfs) btf = checkBtf(bytes.subarray(s.offset, s.offset + s.size), op);
  if (!btf) return;
  for (const s of exts) checkBtfExt(bytes.subarray(s.offset, s.offset + s.size), btf, op);
  const datasecs = idsOfKind(btf, BTF_KIND.DATASEC);
  checkDatasecs(btf, datasecs, bytes, sections, symbols, strtab, bad);
  checkMapDefs(btf, datasecs, op);
}

/** The index of the section-name table, from e_shstrndx or, extended, section 0's sh_link. */
function nameTableIndex(dv: DataView, sections: ElfSection[]): number {
  const raw = dv.getUint16(0x3e, true);
  return raw === 0xffff ? sections[0].link : raw;
}

/** Whether a string table's last byte is NUL, so no string runs past its end. */
function nulTerminated(bytes: Uint8Array, s: ElfSection): boolean {
  return s.size > 0 && bytes[s.offset + s.size - 1] === 0;
}

/** A u64 of two words as a number (exact below 2^53; larger values fail every bound). */
function u64(lo: number, hi: number): number {
  return hi * 0x100000000 + lo;
}

/** Read and check every symbol: names, sections, and offsets inside their section. */
function readSymbols(
  bytes: Uint8Array,
  symtab: ElfSection,
  strtab: ElfSection,
  sections: ElfSection[],
  bad: (m: string) => never,
): Symbols {
  const w = elfWords(bytes, symtab.offset, symtab.size);
  const count = symtab.size / 24;
  const out: Symbols = {
    count,
    nameOff: new Uint32Array(count),
    info: new Uint8Array(count),
    section: new Uint16Array(count),
    value: new Float64Array(count),
    size: new Float64Array(count),
  };
  for (let i = 0, q = 0; i < count; i++, q += 6) {
    const nameOff = w[q];
    const section = w[q + 1] >>> 16;
    if (nameOff >= strtab.size) bad(`symbol ${i}: name offset ${nameOff} is past its table`);
    out.nameOff[i] = nameOff;
    out.info[i] = w[q + 1] & 0xff;
    out.section[i] = section;
    if (section === 0 || section >= SHN_LORESERVE) {
      if (section >= sections.length && section !== SHN_ABS && section !== SHN_COMMON) {
        bad(`symbol ${i}: section ${section} does not exist`);
      }
      continue;
    }
    if (section >= sections.length) bad(`symbol ${i}: section ${section} does not exist`);
    // Offsets are section-relative in a relocatable object: the symbol lies inside.
    const s = sections[section];
    const value = u64(w[q + 2], w[q + 3]);
    const size = u64(w[q + 4], w[q + 5]);
    if (value + size > s.size) {
      bad(`symbol ${i}: ${value} + ${size} bytes runs past section ${section} (${s.size} bytes)`);
    }
    if ((out.info[i] & 0xf) === STT_FUNC && s.flags & SHF_EXECINSTR && (value % 8 || size % 8)) {
      bad(`function symbol ${i} is not aligned to instructions`);
    }
    out.value[i] = value;
    out.size[i] = size;
  }
  return out;
}

/** Check one relocation section: its target, symbol indexes and offsets. */
function checkRelocations(
  bytes: Uint8Array,
  rel: ElfSection,
  sections: ElfSection[],
  symbolCount: number,
  bad: (m: string) => never,
): void {
  const where = `relocation section ${rel.index} (${rel.name})`;
  if (rel.entsize !== 16 || rel.size % 16) bad(`${where}: entries are not 16 bytes`);
  const target = sections[rel.info];
  if (rel.info === 0 || !target || target.type === SHT_NULL || target.type === SHT_NOBITS) {
    bad(`${where}: applies to section ${rel.info}, which has no data`);
  }
  const code = target.type === SHT_PROGBITS && (target.flags & SHF_EXECINSTR) !== 0;
  const w = elfWords(bytes, rel.offset, rel.size);
  for (let i = 0, q = 0; q < w.length; i++, q += 4) {
    const offset = u64(w[q], w[q + 1]);
    const sym = w[q + 3];
    if (sym >= symbolCount) bad(`${where}: entry ${i} names symbol ${sym} of ${symbolCount}`);
    if (offset >= target.size) bad(`${where}: entry ${i} is past its section`);
    if (code && offset % 8) bad(`${where}: entry ${i} (offset ${offset}) is not an instruction`);
  }
}

/**
 * No program ends in the first half of a 64-bit load: libbpf reads and writes the second
 * half of every such load (relocations, CO-RE) past the program's end. Only the last slot
 * can be one: a first half anywhere else has its second half inside the program.
 */
function checkPrograms(
  bytes: Uint8Array,
  sections: ElfSection[],
  symbols: Symbols,
  bad: (m: string) => never,
): void {
  for (let i = 0; i < symbols.count; i++) {
    if ((symbols.info[i] & 0xf) !== STT_FUNC || symbols.size[i] === 0) continue;
    const s = sections[symbols.section[i]];
    if (!s || s.type !== SHT_PROGBITS || !(s.flags & SHF_EXECINSTR)) continue;
    if (bytes[s.offset + symbols.value[i] + symbols.size[i] - 8] === LD_IMM64) {
      bad(`function symbol ${i} ends inside a 64-bit load`);
    }
  }
}

/**
 * Variables of data sections stay inside their ELF section, wherever libbpf places them:
 * at the DATASEC's offsets in linked objects, at their symbols' values in clang's output
 * (whose DATASEC sizes are zero until libbpf fills them in).
 */
function checkDatasecs(
  btf: BtfData,
  datasecs: number[],
  bytes: Uint8Array,
  sections: ElfSection[],
  symbols: Symbols,
  strtab: ElfSection,
  bad: (m: string) => never,
): void {
  const byName = new Map(sections.map((s) => [s.name, s]));
  let objectSyms: Map<string, number> | undefined;
  for (const id of datasecs) {
    const t = btf.decode(id);
    if (t.kind !== "datasec") continue;
    const sec = byName.get(t.name);
    if (!sec) continue; // .kconfig, .ksyms: placed by libbpf itself.
    if (t.size > sec.size) {
      bad(`BTF says section ${t.name} has ${t.size} bytes, it has ${sec.size}`);
    }
    for (const v of t.vars) {
      const name = btf.str(btf.nameOff(v.type));
      const vt = btf.decode(v.type);
      const linkage = vt.kind === "var" ? vt.linkage : 0;
      if (linkage === 2) continue; // extern: no storage here
      let offset = v.offset;
      // libbpf moves global variables to their symbols' offsets (static ones stay).
      if (t.size === 0 && vt.kind === "var" && linkage !== 0) {
        objectSyms ??= symbolsByName(bytes, symbols, strtab);
        const sym = objectSyms.get(name);
        if (sym === undefined) continue; // libbpf refuses the object: no symbol for it.
        offset = symbols.value[sym];
      }
      if (offset + v.size > sec.size) {
        bad(`variable '${name}' (${offset} + ${v.size} bytes) runs past section ${t.name}`);
      }
    }
  }
}

/** The ids of the types of one kind, read straight from the records. */
function idsOfKind(btf: BtfData, kind: number): number[] {
  const { words, offsets, count } = btf;
  const out: number[] = [];
  for (let id = 1; id < count; id++) {
    if (((words[offsets[id - 1] + 1] >>> 24) & 0x1f) === kind) out.push(id);
  }
  return out;
}

/** Global data symbols by name, first of each name (as libbpf matches DATASEC variables). */
function symbolsByName(
  bytes: Uint8Array,
  symbols: Symbols,
  strtab: ElfSection,
): Map<string, number> {
  const out = new Map<string, number>();
  for (let i = 0; i < symbols.count; i++) {
    const info = symbols.info[i];
    const bind = info >> 4;
    if ((info & 0xf) !== STT_OBJECT || (bind !== STB_GLOBAL && bind !== STB_WEAK)) continue;
    const start = strtab.offset + symbols.nameOff[i];
    const name = decoder.decode(bytes.subarray(start, bytes.indexOf(0, start)));
    if (!out.has(name)) out.set(name, i);
  }
  return out;
}
