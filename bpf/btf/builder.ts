/**
 * A BTF writer: build a raw blob type by type. Used by tests for shapes clang does not
 * emit (ENUM64, 128-bit ints, half floats, split BTF, malformed records).
 *
 * @module
 */

import { BTF_KIND } from "./types.ts";

/** A member for {@link BtfBuilder.struct}. */
export interface BuilderMember {
  /** Member name (`""` for anonymous). */
  name: string;
  /** Member type id. */
  type: number;
  /** Offset in bits. */
  bitOffset: number;
  /** Bitfield width; omit or 0 for a plain member. */
  bitSize?: number;
}

/**
 * Builds a raw BTF blob.
 *
 * @example
 * ```ts
 * const b = new BtfBuilder();
 * const u32 = b.int("unsigned int", 4);
 * b.struct("pair", 8, [{ name: "a", type: u32, bitOffset: 0 }, { name: "b", type: u32, bitOffset: 32 }]);
 * const btf = Btf.parse(b.build());
 * ```
 */
export class BtfBuilder {
  readonly #words: number[] = [];
  readonly #strs: number[] = [0];
  readonly #strIndex = new Map<string, number>([["", 0]]);
  readonly #baseStrLen: number;
  #next: number;

  /**
   * Start an empty blob.
   *
   * @param base For split BTF: the base's type count and string section length.
   */
  constructor(base?: { count: number; strLen: number }) {
    this.#next = base?.count ?? 1;
    this.#baseStrLen = base?.strLen ?? 0;
    if (base) {
      this.#strs.length = 0;
      this.#strIndex.clear();
    }
  }

  /**
   * Add a string (deduplicated).
   *
   * @param s The string.
   * @returns Its offset (global, past the base's strings for split BTF).
   */
  str(s: string): number {
    if (s === "" && this.#baseStrLen) return 0;
    let off = this.#strIndex.get(s);
    if (off === undefined) {
      off = this.#baseStrLen + this.#strs.length;
      this.#strs.push(...new TextEncoder().encode(s), 0);
      this.#strIndex.set(s, off);
    }
    return off;
  }

  /**
   * Append a raw record.
   *
   * @param words The record's u32 words.
   * @returns The new type id.
   */
  raw(...words: number[]): number {
    this.#words.push(...words.map((w) => w >>> 0));
    return this.#next++;
  }

  #info(kind: number, vlen = 0, kflag = false): number {
    return ((kflag ? 1 : 0) << 31 | kind << 24 | vlen) >>> 0;
  }

  /** An integer type. */
  int(
    name: string,
    size: number,
    o: { signed?: boolean; char?: boolean; bool?: boolean; bits?: number; bitOffset?: number } = {},
  ): number {
    const enc = (o.signed ? 1 : 0) | (o.char ? 2 : 0) | (o.bool ? 4 : 0);
    const bits = o.bits ?? size * 8;
    return this.raw(
      this.str(name),
      this.#info(BTF_KIND.INT),
      size,
      enc << 24 | (o.bitOffset ?? 0) << 16 | bits,
    );
  }

  /** A pointer. */
  ptr(type: number): number {
    return this.raw(0, this.#info(BTF_KIND.PTR), type);
  }

  /** An array. */
  array(elem: number, nelems: number, index = elem): number {
    return this.raw(0, this.#info(BTF_KIND.ARRAY), 0, elem, index, nelems);
  }

  /** A struct or union; kind_flag is set when a member is a bitfield. */
  struct(name: string, size: number, members: BuilderMember[], union = false): number {
    const kflag = members.some((m) => m.bitSize);
    const words = [
      this.str(name),
      this.#info(union ? BTF_KIND.UNION : BTF_KIND.STRUCT, members.length, kflag),
      size,
    ];
    for (const m of members) {
      words.push(
        this.str(m.name),
        m.type,
        kflag ? ((m.bitSize ?? 0) << 24 | m.bitOffset) >>> 0 : m.bitOffset,
      );
    }
    return this.raw(...words);
  }

  /** A union. */
  union(name: string, size: number, members: BuilderMember[]): number {
    return this.struct(name, size, members, true);
  }

  /** A 32-bit-valued enum. */
  enum(name: string, size: number, values: [string, number][], signed = false): number {
    const words = [this.str(name), this.#info(BTF_KIND.ENUM, values.length, signed), size];
    for (const [n, v] of values) words.push(this.str(n), v);
    return this.raw(...words);
  }

  /** A 64-bit-valued enum. */
  enum64(name: string, size: number, values: [string, bigint][], signed = false): number {
    const words = [this.str(name), this.#info(BTF_KIND.ENUM64, values.length, signed), size];
    for (const [n, v] of values) {
      const u = BigInt.asUintN(64, v);
      words.push(this.str(n), Number(u & 0xffffffffn), Number(u >> 32n));
    }
    return this.raw(...words);
  }

  /** A forward declaration. */
  fwd(name: string, union = false): number {
    return this.raw(this.str(name), this.#info(BTF_KIND.FWD, 0, union), 0);
  }

  /** A typedef. */
  typedef(name: string, type: number): number {
    return this.raw(this.str(name), this.#info(BTF_KIND.TYPEDEF), type);
  }

  /** A const, volatile or restrict qualifier. */
  qual(kind: "const" | "volatile" | "restrict", type: number): number {
    const k = kind === "const"
      ? BTF_KIND.CONST
      : kind === "volatile"
      ? BTF_KIND.VOLATILE
      : BTF_KIND.RESTRICT;
    return this.raw(0, this.#info(k), type);
  }

  /** A function. */
  func(name: string, proto: number, linkage = 1): number {
    return this.raw(this.str(name), this.#info(BTF_KIND.FUNC, linkage), proto);
  }

  /** A function prototype; a param `{ name: "", type: 0 }` is `...`. */
  funcProto(ret: number, params: { name: string; type: number }[]): number {
    const words = [0, this.#info(BTF_KIND.FUNC_PROTO, params.length), ret];
    for (const p of params) words.push(this.str(p.name), p.type);
    return this.raw(...words);
  }

  /** A variable. */
  var(name: string, type: number, linkage = 1): number {
    return this.raw(this.str(name), this.#info(BTF_KIND.VAR), type, linkage);
  }

  /** A data section. */
  datasec(
    name: string,
    size: number,
    vars: { type: number; offset: number; size: number }[],
  ): number {
    const words = [this.str(name), this.#info(BTF_KIND.DATASEC, vars.length), size];
    for (const v of vars) words.push(v.type, v.offset, v.size);
    return this.raw(...words);
  }

  /** A floating-point type. */
  float(name: string, size: number): number {
    return this.raw(this.str(name), this.#info(BTF_KIND.FLOAT), size);
  }

  /** A declaration tag. */
  declTag(name: string, type: number, componentIdx = -1): number {
    return this.raw(this.str(name), this.#info(BTF_KIND.DECL_TAG), type, componentIdx);
  }

  /** A type tag. */
  typeTag(name: string, type: number): number {
    return this.raw(this.str(name), this.#info(BTF_KIND.TYPE_TAG), type);
  }

  /**
   * The blob: header, type section, string section.
   *
   * @returns The raw BTF bytes.
   */
  build(): Uint8Array {
    const typeLen = this.#words.length * 4;
    const strLen = this.#strs.length;
    const out = new Uint8Array(24 + typeLen + strLen);
    const dv = new DataView(out.buffer);
    dv.setUint16(0, 0xeb9f, true);
    dv.setUint8(2, 1);
    dv.setUint32(4, 24, true);
    dv.setUint32(8, 0, true);
    dv.setUint32(12, typeLen, true);
    dv.setUint32(16, typeLen, true);
    dv.setUint32(20, strLen, true);
    this.#words.forEach((w, i) => dv.setUint32(24 + i * 4, w, true));
    out.set(this.#strs, 24 + typeLen);
    return out;
  }
}
