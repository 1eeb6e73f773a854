/**
 * Plans: the tree of a BTF type as the code generator sees it, with typedefs and
 * qualifiers resolved, anonymous struct and union members flattened into their parent,
 * bitfields located and `char` arrays marked as strings.
 *
 * @module
 */

import { BpfError } from "../../../ffi/errors.ts";
import type { BtfComposite } from "../types.ts";
import type { CodecSource } from "./types.ts";

/** A scalar or aggregate, as the generator sees it. */
export type Plan =
  | { k: "int"; size: number; signed: boolean; name: string }
  | { k: "bool"; size: number; name: string }
  | {
    k: "enum";
    size: number;
    signed: boolean;
    name: string;
    values: Record<string, number | bigint>;
  }
  | { k: "float"; size: number; name: string }
  | { k: "ptr"; name: string }
  | { k: "raw"; size: number; name: string }
  | { k: "str"; len: number; name: string }
  | { k: "array"; n: number; stride: number; elem: Plan; name: string }
  | Composite;

/** A struct or union: fields at byte offsets relative to its start. */
export interface Composite {
  k: "comp";
  name: string;
  size: number;
  items: Item[];
  /** Every key of the flattened object, in order. */
  keys: string[];
}

/** A field, or a union's alternatives (each alternative a list of items). */
export type Item =
  | { t: "field"; key: string; plan: Plan; off: number; bits?: { off: number; size: number } }
  | { t: "group"; alts: Item[][]; sizes: number[] };

/** Names of the int types that spell a C character type (their arrays are strings). */
const CHAR_NAMES = new Set(["char", "signed char", "unsigned char"]);

/** Throw a codec build error. */
function unsupported(name: string, why: string): never {
  throw new BpfError({ op: "codec", message: `cannot build a codec for '${name}': ${why}` });
}

/** Builds plans from BTF, caching by type id. */
export class Planner {
  readonly #src: CodecSource;
  readonly #cache = new Map<number, Plan>();

  constructor(src: CodecSource) {
    this.#src = src;
  }

  plan(id: number): Plan {
    let p = this.#cache.get(id);
    if (!p) {
      p = this.#build(id);
      this.#cache.set(id, p);
    }
    return p;
  }

  #build(id: number): Plan {
    const src = this.#src;
    const name = src.nameOf(id);
    const t = src.typeById(src.resolve(id));
    switch (t.kind) {
      case "int":
        if (t.bool) return { k: "bool", size: t.size, name };
        if (![1, 2, 4, 8, 16].includes(t.size)) unsupported(name, `int of ${t.size} bytes`);
        return { k: "int", size: t.size, signed: t.signed, name };
      case "enum":
      case "enum64": {
        const values: Record<string, number | bigint> = Object.create(null);
        for (const v of t.values) {
          values[v.name] = t.size === 8 ? BigInt(v.value) : Number(v.value);
        }
        if (![1, 2, 4, 8].includes(t.size)) unsupported(name, `enum of ${t.size} bytes`);
        return { k: "enum", size: t.size, signed: t.signed, name, values };
      }
      case "float":
        return t.size === 2 || t.size === 4 || t.size === 8
          ? { k: "float", size: t.size, name }
          : { k: "raw", size: t.size, name };
      case "ptr":
        return { k: "ptr", name };
      case "array": {
        const elemType = src.typeById(src.resolve(t.type));
        if (elemType.kind === "int" && elemType.size === 1 && this.#spelledChar(t.type)) {
          return { k: "str", len: t.nelems, name };
        }
        const stride = src.sizeOf(t.type);
        return { k: "array", n: t.nelems, stride, elem: this.plan(t.type), name };
      }
      case "struct":
      case "union": {
        const items = this.#items(t, 0);
        const keys: string[] = [];
        collectKeys(items, keys);
        return { k: "comp", name, size: t.size, items, keys };
      }
      case "var":
        return this.plan(t.type);
      case "fwd":
        return unsupported(name, "it is only declared (no layout in BTF)");
      case "datasec":
        return unsupported(name, "it is a data section: use datasec() and a codec per variable");
      default:
        return unsupported(name, `a ${t.kind} has no data layout`);
    }
  }

  /** Whether an array element type is spelled char / signed char / unsigned char. */
  #spelledChar(id: number): boolean {
    const src = this.#src;
    for (let i = 0; i < 16; i++) {
      const t = src.typeById(id);
      if (t.kind === "int") return CHAR_NAMES.has(t.name);
      if (t.kind === "const" || t.kind === "volatile" || t.kind === "type_tag") id = t.type;
      else return false;
    }
    return false;
  }

  /** Items of a struct (flattened) or union (one group), at a bit offset. */
  #items(t: BtfComposite, baseBits: number): Item[] {
    const src = this.#src;
    const perMember: Item[][] = [];
    const sizes: number[] = [];
    for (const m of t.members) {
      const bitOff = baseBits + m.bitOffset;
      if (m.name === "") {
        const inner = src.typeById(src.resolve(m.type));
        if ((inner.kind === "struct" || inner.kind === "union") && m.bitSize === 0) {
          perMember.push(this.#items(inner, bitOff));
          sizes.push(inner.size);
        }
        continue; // unnamed padding bitfields (`int :3`) carry no value
      }
      const plan = this.plan(m.type);
      let bits = m.bitSize > 0 ? { off: bitOff, size: m.bitSize } : undefined;
      if (!bits) {
        // Old-style (kind_flag 0) bitfields: an int type narrower than its storage.
        const r = src.typeById(src.resolve(m.type));
        if (r.kind === "int" && (r.bits !== r.size * 8 || r.bitOffset !== 0 || bitOff % 8)) {
          bits = { off: bitOff + r.bitOffset, size: r.bits };
        } else if (bitOff % 8 !== 0) {
          unsupported(t.name || "struct {...}", `member '${m.name}' is not byte-aligned`);
        }
      }
      if (bits && plan.k !== "int" && plan.k !== "bool" && plan.k !== "enum") {
        unsupported(t.name || "struct {...}", `bitfield '${m.name}' is a ${plan.k}`);
      }
      perMember.push([{ t: "field", key: m.name, plan, off: bitOff >> 3, bits }]);
      sizes.push(bits ? Math.ceil(((bits.off & 7) + bits.size) / 8) : src.sizeOf(m.type));
    }
    if (t.kind === "struct") return perMember.flat();
    return [{ t: "group", alts: perMember, sizes }];
  }
}

/** Every flattened key of a list of items, in order. */
export function collectKeys(items: Item[], out: string[]): void {
  for (const it of items) {
    if (it.t === "field") out.push(it.key);
    else for (const alt of it.alts) collectKeys(alt, out);
  }
}
