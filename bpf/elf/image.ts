/**
 * An ELF64 executable or shared object read from its file in pieces: the program headers
 * (PT_LOAD segments), the section headers, notes (the GNU build-id), `.gnu_debuglink`,
 * and the function symbols of `.symtab` or `.dynsym` as columns of typed arrays.
 *
 * Only what is asked for is read (positioned reads), so naming a frame in a 100 MB binary
 * reads its headers and symbol table, not the whole file.
 *
 * @module
 */

import { ERRNO } from "../../ffi/abi.ts";
import { BpfError } from "../../ffi/errors.ts";
import { nonRegularKind } from "../system/files.ts";
import {
  cstr,
  type ElfHeader,
  elfHeader,
  type ElfSection,
  malformed,
  parseSections,
  sectionTable,
  SHT_NOBITS,
  SHT_SYMTAB,
  u64,
} from "./elf.ts";
import { buildIdOf, type ElfNote, parseNotes } from "./notes.ts";

// Where they were defined first: importers of image.ts keep finding them here.
export { buildIdOf, type ElfNote, NT_GNU_BUILD_ID, parseNotes } from "./notes.ts";

/** Program header type of a loadable segment. */
export const PT_LOAD = 1;
/** Program header type of a note segment. */
export const PT_NOTE = 4;
/** Segment flag: executable. */
export const PF_X = 1;
/** Section type of the dynamic symbol table. */
export const SHT_DYNSYM = 11;
/** Section type of notes. */
export const SHT_NOTE = 7;

/** One program header. */
export interface ElfSegment {
  /** `p_type` (1 LOAD, 2 DYNAMIC, 4 NOTE, ...). */
  readonly type: number;
  /** `p_flags` (1 X, 2 W, 4 R). */
  readonly flags: number;
  /** File offset of the segment's bytes. */
  readonly offset: number;
  /** Address the segment is linked at. */
  readonly vaddr: number;
  /** Bytes in the file. */
  readonly filesz: number;
  /** Bytes in memory. */
  readonly memsz: number;
}

/**
 * The function symbols of a symbol table as columns: `value[i]`, `size[i]`, and the name
 * at `nameOffset[i]` in `strings`. Unsorted, in table order.
 */
export interface FunctionSymbols {
  /** Which table they came from. */
  readonly table: ".symtab" | ".dynsym";
  /** `st_value`: the function's linked address. */
  readonly value: Float64Array;
  /** `st_size` (0 when unknown). */
  readonly size: Float64Array;
  /** `st_info >> 4`: 0 LOCAL, 1 GLOBAL, 2 WEAK. */
  readonly bind: Uint8Array;
  /** `st_info & 0xf`: 2 FUNC, 10 GNU_IFUNC (an IFUNC's address is its resolver's). */
  readonly type?: Uint8Array;
  /** Offsets of the names in `strings`. */
  readonly nameOffset: Uint32Array;
  /** The table's string table. */
  readonly strings: Uint8Array;
}

/** STT_FUNC and STT_GNU_IFUNC. */
const FUNCTION_TYPES = new Set([2, 10]);

/**
 * An ELF64 little-endian file opened for reading in pieces.
 *
 * @example
 * ```ts
 * using elf = ElfImage.open("/bin/true");
 * elf.buildId(); // "c8d1a6c4..."
 * elf.segments.filter((s) => s.type === PT_LOAD).length; // 4
 * elf.functionSymbols(); // .symtab, else .dynsym
 * ```
 */
export class ElfImage implements Disposable {
  /** The file's path. */
  readonly path: string;
  /** The file's size in bytes. */
  readonly size: number;
  /** The file header. */
  readonly header: ElfHeader;
  /** Every program header. */
  readonly segments: readonly ElfSegment[];
  /** Every section header (empty when the file has none). */
  readonly sections: readonly ElfSection[];
  #source: ByteSource | undefined;

  private constructor(path: string, source: ByteSource) {
    this.path = path;
    this.#source = source;
    this.size = source.size;
    const size = this.size;
    this.header = elfHeader(this.read(0, Math.min(64, size)));
    this.segments = this.#readSegments();
    const h = this.header;
    const t = sectionTable(h, () => this.read(h.shoff, 64), size);
    this.sections = parseSections(
      this.read(t.offset, t.count * t.entsize),
      t.count,
      t.entsize,
      t.names,
      size,
      (s) => this.read(s.offset, s.size),
    );
  }

  /**
   * Open an ELF file and read its headers.
   *
   * @param path The file (e.g. `/proc/PID/root/usr/lib/libc.so.6`).
   * @returns The image; close it (or `using`) when done.
   * @throws {BpfError} op `"elf open"` when the file cannot be read or is not a regular
   *   file (EINVAL), `"elf parse"` when it is not a well-formed ELF64 LE file.
   * @example
   * ```ts
   * using elf = ElfImage.open("/usr/bin/bash");
   * ```
   */
  static open(path: string): ElfImage {
    let file: Deno.FsFile;
    try {
      // Only a regular file is opened: the open of a FIFO would block, a device never ends.
      const kind = nonRegularKind(Deno.statSync(path));
      if (kind) {
        throw new BpfError({
          op: "elf open",
          errno: ERRNO.EINVAL,
          message: `'${path}' is ${kind}, not a regular file`,
        });
      }
      file = Deno.openSync(path, { read: true });
    } catch (e) {
      if (e instanceof BpfError) throw e;
      throw new BpfError({
        op: "elf open",
        message: `cannot open '${path}': ${(e as Error).message}`,
        cause: e,
      });
    }
    try {
      return new ElfImage(path, fileSource(file));
    } catch (e) {
      file.close();
      if (e instanceof BpfError) {
        throw new BpfError({ op: e.op, message: `${path}: ${e.message}`, cause: e });
      }
      throw e;
    }
  }

  /**
   * Read an ELF image held in memory (the vDSO, copied out of a process).
   *
   * @param bytes The image.
   * @param name What to call it in messages, e.g. `"[vdso]"`.
   * @returns The image.
   * @throws {BpfError} op `"elf parse"` when it is not a well-formed ELF64 LE image.
   * @example
   * ```ts
   * ElfImage.fromBytes(Deno.readFileSync("/bin/true"), "true").buildId();
   * ```
   */
  static fromBytes(bytes: Uint8Array, name: string): ElfImage {
    return new ElfImage(name, {
      size: bytes.length,
      read: (offset, length) => bytes.slice(offset, offset + length),
      close() {},
    });
  }

  /**
   * Read bytes of the file.
   *
   * @param offset Where to start.
   * @param length How many bytes.
   * @returns A new buffer of exactly `length` bytes.
   * @throws {BpfError} When the range runs past the end of the file, or it was closed.
   * @example
   * ```ts
   * elf.read(0, 4); // 7f 45 4c 46
   * ```
   */
  read(offset: number, length: number): Uint8Array {
    const src = this.#source;
    if (!src) throw new BpfError({ op: "elf read", message: `'${this.path}' is closed` });
    if (offset < 0 || length < 0 || offset + length > this.size) {
      malformed(`${length} bytes at ${offset} run past the end of the file (${this.size})`);
    }
    return src.read(offset, length);
  }

  /**
   * The data of the first section with a name.
   *
   * @param name E.g. `".gnu_debuglink"`.
   * @returns The bytes, or undefined when there is no such section (or it has no data).
   * @example
   * ```ts
   * elf.section(".comment");
   * ```
   */
  section(name: string): Uint8Array | undefined {
    const s = this.sections.find((x) => x.name === name);
    if (!s || s.type === SHT_NOBITS) return undefined;
    return this.read(s.offset, s.size);
  }

  /**
   * The notes of the file: from its PT_NOTE segments, else its SHT_NOTE sections (a
   * separate debug file keeps the sections).
   *
   * @returns The notes.
   * @example
   * ```ts
   * elf.notes().find((n) => n.name === "GNU" && n.type === NT_GNU_BUILD_ID);
   * ```
   */
  notes(): ElfNote[] {
    const out: ElfNote[] = [];
    let ranges = this.segments.filter((s) => s.type === PT_NOTE)
      .map((s) => [s.offset, s.filesz]);
    if (!ranges.length) {
      ranges = this.sections.filter((s) => s.type === SHT_NOTE).map((s) => [s.offset, s.size]);
    }
    for (const [offset, size] of ranges) {
      if (offset + size > this.size) continue;
      out.push(...parseNotes(this.read(offset, size)));
    }
    return out;
  }

  /**
   * The GNU build-id in hex, as `/usr/lib/debug/.build-id/` names debug files.
   *
   * @returns The build-id, or undefined when the file has none.
   * @example
   * ```ts
   * elf.buildId(); // "576700ba71addb8b0b88718611f7afb754d6617b"
   * ```
   */
  buildId(): string | undefined {
    return buildIdOf(this.notes());
  }

  /**
   * The `.gnu_debuglink` section: the file name of a separate debug file.
   *
   * @returns The name, or undefined.
   * @example
   * ```ts
   * elf.debugLink(); // "libfoo.so.1.debug"
   * ```
   */
  debugLink(): string | undefined {
    const bytes = this.section(".gnu_debuglink");
    if (!bytes?.length) return undefined;
    const name = cstr(bytes, 0, "debug link");
    return name || undefined;
  }

  /**
   * Whether the file has a `.symtab` with data (false for a stripped binary).
   *
   * @returns True when the full symbol table is there.
   * @example
   * ```ts
   * elf.hasSymtab(); // false after `strip`
   * ```
   */
  hasSymtab(): boolean {
    return this.sections.some((s) => s.type === SHT_SYMTAB && s.size > 0);
  }

  /**
   * The defined function symbols (FUNC and IFUNC, non-zero address) of `.symtab`, else of
   * `.dynsym`.
   *
   * @param table Which table to read (default: `.symtab` when present).
   * @returns The symbols as columns, or undefined when the file has neither table.
   * @throws {BpfError} When the table is malformed.
   * @example
   * ```ts
   * const syms = elf.functionSymbols();
   * syms && cstr(syms.strings, syms.nameOffset[0], "symbol");
   * ```
   */
  functionSymbols(table?: ".symtab" | ".dynsym"): FunctionSymbols | undefined {
    const type = table === ".dynsym" ? SHT_DYNSYM : table === ".symtab" ? SHT_SYMTAB : undefined;
    const sec =
      this.sections.find((s) =>
        s.size > 0 && (type === undefined ? s.type === SHT_SYMTAB : s.type === type)
      ) ?? (type === undefined
        ? this.sections.find((s) =>
          s.type === SHT_DYNSYM && s.size > 0
        )
        : undefined);
    if (!sec) return undefined;
    const strtab = this.sections[sec.link];
    if (!strtab) malformed(`symbol string table index ${sec.link} is out of range`);
    const ent = sec.entsize || 24;
    if (ent < 24) malformed(`symbol entry size ${ent} is too small`);
    const raw = this.read(sec.offset, sec.size);
    const strings = strtab.type === SHT_NOBITS
      ? new Uint8Array(0)
      : this.read(strtab.offset, strtab.size);
    const dv = new DataView(raw.buffer);
    const count = Math.floor(raw.length / ent);
    const value = new Float64Array(count), size = new Float64Array(count);
    const bind = new Uint8Array(count), nameOffset = new Uint32Array(count);
    const types = new Uint8Array(count);
    let n = 0;
    for (let at = 0; at + 24 <= raw.length; at += ent) {
      const info = raw[at + 4];
      const shndx = dv.getUint16(at + 6, true);
      if (!FUNCTION_TYPES.has(info & 0xf) || shndx === 0) continue;
      const v = u64(dv, at + 8);
      if (v === 0) continue;
      const nameAt = dv.getUint32(at, true);
      if (nameAt >= strings.length) continue;
      value[n] = v;
      size[n] = u64(dv, at + 16);
      bind[n] = info >> 4;
      types[n] = info & 0xf;
      nameOffset[n] = nameAt;
      n++;
    }
    return {
      table: sec.type === SHT_SYMTAB ? ".symtab" : ".dynsym",
      value: value.slice(0, n),
      size: size.slice(0, n),
      bind: bind.slice(0, n),
      type: types.slice(0, n),
      nameOffset: nameOffset.slice(0, n),
      strings,
    };
  }

  /**
   * The linked address of a file offset, through the PT_LOAD segment that holds it.
   *
   * @param offset A file offset (an address minus its mapping's start, plus the mapping's
   *   file offset).
   * @returns The address symbols are linked at, or undefined when no segment holds it.
   * @example
   * ```ts
   * elf.addressOf(0x1149); // 0x1149 in a PIE whose first segment starts the file
   * ```
   */
  addressOf(offset: number): number | undefined {
    for (const s of this.segments) {
      if (s.type === PT_LOAD && offset >= s.offset && offset < s.offset + s.filesz) {
        return offset - s.offset + s.vaddr;
      }
    }
    return undefined;
  }

  /**
   * The file offset of a linked address (the inverse of {@link addressOf}).
   *
   * @param vaddr An address inside a PT_LOAD segment.
   * @returns The offset, or undefined when no segment's file bytes hold it.
   * @example
   * ```ts
   * elf.offsetOf(0x1149); // where gamma's bytes are in the file
   * ```
   */
  offsetOf(vaddr: number): number | undefined {
    for (const s of this.segments) {
      if (s.type === PT_LOAD && vaddr >= s.vaddr && vaddr < s.vaddr + s.filesz) {
        return vaddr - s.vaddr + s.offset;
      }
    }
    return undefined;
  }

  /** Close the file. */
  close(): void {
    this.#source?.close();
    this.#source = undefined;
  }

  /** Close the file. */
  [Symbol.dispose](): void {
    this.close();
  }

  #readSegments(): ElfSegment[] {
    const h = this.header;
    if (!h.phoff || !h.phnum) return [];
    if (h.phentsize < 56) malformed(`program header size ${h.phentsize} is too small`);
    if (h.phoff + h.phnum * h.phentsize > this.size) {
      malformed("program headers run past the end of the file");
    }
    const raw = this.read(h.phoff, h.phnum * h.phentsize);
    const dv = new DataView(raw.buffer);
    const out: ElfSegment[] = [];
    for (let i = 0; i < h.phnum; i++) {
      const at = i * h.phentsize;
      out.push({
        type: dv.getUint32(at, true),
        flags: dv.getUint32(at + 4, true),
        offset: u64(dv, at + 8),
        vaddr: u64(dv, at + 16),
        filesz: u64(dv, at + 32),
        memsz: u64(dv, at + 40),
      });
    }
    return out;
  }
}

/** Where an image's bytes come from. */
interface ByteSource {
  readonly size: number;
  read(offset: number, length: number): Uint8Array;
  close(): void;
}

/** Positioned reads of an open file. */
function fileSource(file: Deno.FsFile): ByteSource {
  return {
    size: file.statSync().size,
    read(offset, length) {
      const out = new Uint8Array(length);
      file.seekSync(offset, Deno.SeekMode.Start);
      let done = 0;
      while (done < length) {
        const n = file.readSync(out.subarray(done));
        if (n === null || n === 0) malformed(`the file ended at ${offset + done} while reading`);
        done += n;
      }
      return out;
    },
    close: () => file.close(),
  };
}
