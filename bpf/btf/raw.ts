/**
 * The raw layer of the BTF parser: header checks, one indexing pass over the type
 * section, the string table, and decoding one type record on demand.
 *
 * Indexing only records where each type starts (a Uint32Array of word offsets), so
 * parsing the kernel's BTF (megabytes) costs one tight loop; names and members are decoded when
 * a type is asked for.
 *
 * @module
 */

import { ERRNO } from "../../ffi/abi.ts";
import { BpfError } from "../../ffi/errors.ts";
import { BTF_KIND, type BtfType, KIND_NAMES } from "./types.ts";

/** BTF magic as read little-endian. */
const BTF_MAGIC = 0xeb9f;
/** The same magic as a big-endian blob reads on a little-endian host. */
const BTF_MAGIC_SWAPPED = 0x9feb;
/** Size of the v1 header. */
const BTF_HEADER_MIN = 24;

/** The decoded `struct btf_header`. */
export interface BtfHeader {
  /** Format version (1). */
  readonly version: number;
  /** Header flags (0). */
  readonly flags: number;
  /** Header length in bytes. */
  readonly hdrLen: number;
  /** Type section offset, from the end of the header. */
  readonly typeOff: number;
  /** Type section length. */
  readonly typeLen: number;
  /** String section offset, from the end of the header. */
  readonly strOff: number;
  /** String section length. */
  readonly strLen: number;
}

/** Throw a parse error naming what is wrong with the blob. */
function corrupt(message: string): never {
  throw new BpfError({
    op: "btf parse",
    errno: ERRNO.EILSEQ, // malformed BTF
    message,
  });
}

/**
 * Read and check a BTF header.
 *
 * @param bytes The raw BTF blob.
 * @returns The header fields.
 * @example
 * ```ts
 * const h = parseHeader(Deno.readFileSync("/sys/kernel/btf/vmlinux"));
 * h.typeLen; // bytes of type records
 * ```
 */
export function parseHeader(bytes: Uint8Array): BtfHeader {
  if (bytes.length < BTF_HEADER_MIN) {
    corrupt(`blob of ${bytes.length} bytes is shorter than a BTF header`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = dv.getUint16(0, true);
  if (magic === BTF_MAGIC_SWAPPED) corrupt("big-endian BTF is not supported");
  if (magic !== BTF_MAGIC) {
    corrupt(`bad magic 0x${magic.toString(16)} (expected 0xeb9f)`);
  }
  const h: BtfHeader = {
    version: dv.getUint8(2),
    flags: dv.getUint8(3),
    hdrLen: dv.getUint32(4, true),
    typeOff: dv.getUint32(8, true),
    typeLen: dv.getUint32(12, true),
    strOff: dv.getUint32(16, true),
    strLen: dv.getUint32(20, true),
  };
  if (h.version !== 1) corrupt(`unsupported version ${h.version}`);
  if (h.hdrLen < BTF_HEADER_MIN || h.hdrLen > bytes.length) {
    corrupt(`bad header length ${h.hdrLen}`);
  }
  const body = bytes.length - h.hdrLen;
  if (h.typeOff % 4 !== 0 || h.typeLen % 4 !== 0) {
    corrupt(`type section (offset ${h.typeOff}, length ${h.typeLen}) is not 4-byte aligned`);
  }
  if (h.typeOff + h.typeLen > body) corrupt(`type section runs past the end of the blob`);
  if (h.strOff + h.strLen > body) corrupt(`string section runs past the end of the blob`);
  return h;
}

/** Words (u32) each kind's record takes after the 3-word common header. */
function extraWords(kind: number, vlen: number, id: number): number {
  switch (kind) {
    case BTF_KIND.INT:
    case BTF_KIND.VAR:
    case BTF_KIND.DECL_TAG:
      return 1;
    case BTF_KIND.PTR:
    case BTF_KIND.FWD:
    case BTF_KIND.TYPEDEF:
    case BTF_KIND.VOLATILE:
    case BTF_KIND.CONST:
    case BTF_KIND.RESTRICT:
    case BTF_KIND.FUNC:
    case BTF_KIND.FLOAT:
    case BTF_KIND.TYPE_TAG:
      return 0;
    case BTF_KIND.ARRAY:
      return 3;
    case BTF_KIND.STRUCT:
    case BTF_KIND.UNION:
    case BTF_KIND.DATASEC:
    case BTF_KIND.ENUM64:
      return vlen * 3;
    case BTF_KIND.ENUM:
    case BTF_KIND.FUNC_PROTO:
      return vlen * 2;
    default:
      return corrupt(`type id ${id} has unknown kind ${kind}`);
  }
}

/**
 * The type and string sections of one BTF blob, indexed.
 *
 * Type ids here are global: with a base (split BTF, e.g. a kernel module), local types
 * start at `base.count`, and string offsets at or past `base.strLen` are local.
 *
 * @example
 * ```ts
 * const d = new BtfData(Deno.readFileSync("/sys/kernel/btf/vmlinux"));
 * d.decode(1); // the record of type id 1
 * ```
 */
export class BtfData {
  /** The header. */
  readonly header: BtfHeader;
  /** The type section as words (a 4-byte aligned copy when the input was not aligned). */
  readonly words: Uint32Array;
  /** Word offset of each local type: local type i (id startId + i) starts at words[offsets[i]]. */
  readonly offsets: Uint32Array;
  /** The first local type id (1 without base). */
  readonly startId: number;
  /** Total type ids, void included (like libbpf's btf__type_cnt). */
  readonly count: number;
  /** The base BTF, for split BTF. */
  readonly base?: BtfData;
  /** Raw bytes of the local string section. */
  readonly strBytes: Uint8Array;
  /** Length of the base's string section (0 without base). */
  readonly baseStrLen: number;
  #strs?: string;
  #strsAscii = true;

  /**
   * Check the header and index the type records.
   *
   * @param bytes The raw blob.
   * @param base The base BTF's data, for split BTF.
   */
  constructor(bytes: Uint8Array, base?: BtfData) {
    const h = parseHeader(bytes);
    this.header = h;
    this.base = base;
    const typeStart = bytes.byteOffset + h.hdrLen + h.typeOff;
    // Object files place .BTF at any offset: copy when the words would be misaligned.
    this.words = typeStart % 4 === 0
      ? new Uint32Array(bytes.buffer, typeStart, h.typeLen / 4)
      : new Uint32Array(bytes.slice(h.hdrLen + h.typeOff, h.hdrLen + h.typeOff + h.typeLen).buffer);
    this.strBytes = bytes.subarray(h.hdrLen + h.strOff, h.hdrLen + h.strOff + h.strLen);
    if (!base && h.strLen > 0 && this.strBytes[0] !== 0) {
      corrupt("string section does not start with an empty string");
    }
    if (h.strLen > 0 && this.strBytes[h.strLen - 1] !== 0) {
      corrupt("string section is not NUL-terminated");
    }
    this.baseStrLen = base ? base.baseStrLen + base.header.strLen : 0;
    this.startId = base ? base.count : 1;
    this.offsets = this.#index();
    this.count = this.startId + this.offsets.length;
  }

  /** One pass over the type section recording where each record starts. */
  #index(): Uint32Array {
    const w = this.words;
    const n = w.length;
    // Each record is at least 3 words: n / 3 bounds the count.
    let offsets = new Uint32Array(Math.max(16, Math.ceil(n / 3)));
    let i = 0;
    let pos = 0;
    while (pos < n) {
      if (pos + 3 > n) corrupt(`type section ends inside type id ${this.startId + i}`);
      const info = w[pos + 1];
      const kind = (info >>> 24) & 0x1f;
      const vlen = info & 0xffff;
      offsets[i++] = pos;
      pos += 3 + extraWords(kind, vlen, this.startId + i - 1);
    }
    if (pos !== n) corrupt(`type section ends inside type id ${this.startId + i - 1}`);
    if (i < offsets.length) offsets = offsets.slice(0, i);
    return offsets;
  }

  /** The string section decoded once; offsets equal byte offsets when it is ASCII. */
  get strs(): string {
    if (this.#strs === undefined) {
      const utf8 = new TextDecoder().decode(this.strBytes);
      if (utf8.length === this.strBytes.length) {
        this.#strs = utf8;
      } else {
        // Non-ASCII names: keep a 1-char-per-byte view for offsets, decode names as UTF-8.
        this.#strs = bytesToChars(this.strBytes);
        this.#strsAscii = false;
      }
    }
    return this.#strs;
  }

  /**
   * The string at a (global) string offset.
   *
   * @param off The string offset as stored in a type record.
   * @returns The string.
   */
  str(off: number): string {
    if (off === 0) return "";
    if (off < this.baseStrLen) return this.base!.str(off);
    const local = off - this.baseStrLen;
    if (local >= this.strBytes.length) corrupt(`string offset ${off} is out of range`);
    const s = this.strs;
    const end = s.indexOf("\0", local);
    if (this.#strsAscii) return s.slice(local, end);
    return new TextDecoder().decode(this.strBytes.subarray(local, end));
  }

  /**
   * Global string offsets whose string equals `name` (in this blob and its bases).
   *
   * @param name The exact string.
   * @returns The matching offsets.
   */
  strOffsets(name: string): number[] {
    const out = this.base ? this.base.strOffsets(name) : [];
    if (name === "") return out;
    const s = this.strs;
    const needle = this.#strsAscii ? name + "\0" : latin1(name) + "\0";
    // Any occurrence of "name\0" starts a string equal to name (suffixes included).
    for (let p = s.indexOf(needle); p !== -1; p = s.indexOf(needle, p + 1)) {
      out.push(p + this.baseStrLen);
    }
    return out;
  }

  /** Word offset of a local type id. */
  pos(id: number): number {
    return this.offsets[id - this.startId];
  }

  /** Whether the id belongs to this blob (not the base, not void). */
  isLocal(id: number): boolean {
    return id >= this.startId && id < this.count;
  }

  /** Kind number of a type id (0 for void). */
  kindNo(id: number): number {
    if (id === 0) return 0;
    if (id < this.startId) return this.base!.kindNo(id);
    this.check(id);
    return (this.words[this.pos(id) + 1] >>> 24) & 0x1f;
  }

  /** The raw name offset of a type id. */
  nameOff(id: number): number {
    if (id === 0) return 0;
    if (id < this.startId) return this.base!.nameOff(id);
    this.check(id);
    return this.words[this.pos(id)];
  }

  /** Throw unless the id exists. */
  check(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.count) {
      throw new BpfError({
        op: "btf",
        message: `type id ${id} is out of range (ids 0..${this.count - 1})`,
      });
    }
  }

  /**
   * Decode one type record into a frozen plain object.
   *
   * @param id The type id.
   * @returns The record.
   */
  decode(id: number): BtfType {
    this.check(id);
    if (id === 0) return Object.freeze({ id: 0, kind: "void", name: "" });
    if (id < this.startId) return this.base!.decode(id);
    const w = this.words;
    const p = this.pos(id);
    const info = w[p + 1];
    const kind = (info >>> 24) & 0x1f;
    const kflag = (info >>> 31) === 1;
    const vlen = info & 0xffff;
    const name = this.str(w[p]);
    const sizeOrType = w[p + 2];
    const k = KIND_NAMES[kind];
    const i32 = (x: number) => x | 0;
    switch (kind) {
      case BTF_KIND.INT: {
        const enc = w[p + 3];
        const e = (enc >>> 24) & 0x0f;
        return Object.freeze({
          id,
          kind: "int",
          name,
          size: sizeOrType,
          bits: enc & 0xff,
          bitOffset: (enc >>> 16) & 0xff,
          signed: (e & 1) !== 0,
          char: (e & 2) !== 0,
          bool: (e & 4) !== 0,
        });
      }
      case BTF_KIND.PTR:
        return Object.freeze({ id, kind: "ptr", name, type: sizeOrType });
      case BTF_KIND.ARRAY:
        return Object.freeze({
          id,
          kind: "array",
          name,
          type: w[p + 3],
          indexType: w[p + 4],
          nelems: w[p + 5],
        });
      case BTF_KIND.STRUCT:
      case BTF_KIND.UNION: {
        const members = [];
        for (let i = 0, q = p + 3; i < vlen; i++, q += 3) {
          const off = w[q + 2];
          members.push(Object.freeze({
            name: this.str(w[q]),
            type: w[q + 1],
            bitOffset: kflag ? off & 0xffffff : off,
            bitSize: kflag ? off >>> 24 : 0,
          }));
        }
        return Object.freeze({
          id,
          kind: k as "struct" | "union",
          name,
          size: sizeOrType,
          members: Object.freeze(members),
        });
      }
      case BTF_KIND.ENUM: {
        const values = [];
        for (let i = 0, q = p + 3; i < vlen; i++, q += 2) {
          values.push(Object.freeze({
            name: this.str(w[q]),
            value: kflag ? i32(w[q + 1]) : w[q + 1],
          }));
        }
        return Object.freeze({
          id,
          kind: "enum",
          name,
          size: sizeOrType,
          signed: kflag,
          values: Object.freeze(values),
        });
      }
      case BTF_KIND.ENUM64: {
        const values = [];
        for (let i = 0, q = p + 3; i < vlen; i++, q += 3) {
          const raw = (BigInt(w[q + 2]) << 32n) | BigInt(w[q + 1]);
          values.push(Object.freeze({
            name: this.str(w[q]),
            value: kflag ? BigInt.asIntN(64, raw) : raw,
          }));
        }
        return Object.freeze({
          id,
          kind: "enum64",
          name,
          size: sizeOrType,
          signed: kflag,
          values: Object.freeze(values),
        });
      }
      case BTF_KIND.FWD:
        return Object.freeze({ id, kind: "fwd", name, union: kflag });
      case BTF_KIND.TYPEDEF:
      case BTF_KIND.VOLATILE:
      case BTF_KIND.CONST:
      case BTF_KIND.RESTRICT:
      case BTF_KIND.TYPE_TAG:
        return Object.freeze({
          id,
          kind: k as "typedef" | "volatile" | "const" | "restrict" | "type_tag",
          name,
          type: sizeOrType,
        });
      case BTF_KIND.FUNC:
        return Object.freeze({ id, kind: "func", name, type: sizeOrType, linkage: vlen });
      case BTF_KIND.FUNC_PROTO: {
        const params = [];
        for (let i = 0, q = p + 3; i < vlen; i++, q += 2) {
          params.push(Object.freeze({ name: this.str(w[q]), type: w[q + 1] }));
        }
        return Object.freeze({
          id,
          kind: "func_proto",
          name,
          type: sizeOrType,
          params: Object.freeze(params),
        });
      }
      case BTF_KIND.VAR:
        return Object.freeze({ id, kind: "var", name, type: sizeOrType, linkage: w[p + 3] });
      case BTF_KIND.DATASEC: {
        const vars = [];
        for (let i = 0, q = p + 3; i < vlen; i++, q += 3) {
          vars.push(Object.freeze({ type: w[q], offset: w[q + 1], size: w[q + 2] }));
        }
        return Object.freeze({
          id,
          kind: "datasec",
          name,
          size: sizeOrType,
          vars: Object.freeze(vars),
        });
      }
      case BTF_KIND.FLOAT:
        return Object.freeze({ id, kind: "float", name, size: sizeOrType });
      case BTF_KIND.DECL_TAG:
        return Object.freeze({
          id,
          kind: "decl_tag",
          name,
          type: sizeOrType,
          componentIdx: i32(w[p + 3]),
        });
      default:
        return corrupt(`type id ${id} has unknown kind ${kind}`);
    }
  }
}

/** Bytes as one char per byte (code points 0..255), so string offsets equal byte offsets. */
function bytesToChars(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return s;
}

/** A string as one char per UTF-8 byte, to search the byte view of a non-ASCII table. */
function latin1(s: string): string {
  return bytesToChars(new TextEncoder().encode(s));
}
