/**
 * Code generation: a plan (plan.ts) becomes the straight-line JavaScript source of one
 * codec's decode, decodeMany, bind and encode, compiled once with `new Function`.
 *
 * @module
 */

import { BpfError } from "../../../ffi/errors.ts";
import { collectKeys, type Composite, type Item, type Plan, Planner } from "./plan.ts";
import { H } from "./runtime.ts";
import { StrCache, strCacheLookup } from "./strings.ts";
import type { Codec, CodecOptions, CodecSource } from "./types.ts";

/** Structs with more leaves than this get their own decode function instead of inlining. */
const INLINE_LEAVES = 48;
/** Scalar arrays up to this length decode as an inline array literal. */
const INLINE_ARRAY = 8;

/** An offset expression: a base variable plus a constant. */
interface Off {
  e: string;
  k: number;
}

/** `o + 8`, `o`, `(o + i * 12) + 4`. */
function off(p: Off, add = 0): string {
  const k = p.k + add;
  return k === 0 ? p.e : `${p.e} + ${k}`;
}

/** A property access for a key. */
function prop(x: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${x}.${key}` : `${x}[${JSON.stringify(key)}]`;
}

/** How many leaf reads inlining a plan costs. */
function leaves(p: Plan): number {
  if (p.k === "comp") {
    let n = 0;
    const walk = (items: Item[]) => {
      for (const it of items) {
        if (it.t === "field") n += it.plan.k === "comp" ? leaves(it.plan) : 1;
        else for (const a of it.alts) walk(a);
      }
    };
    walk(p.items);
    return n;
  }
  if (p.k === "array") return p.n <= INLINE_ARRAY && isScalar(p.elem) ? p.n : 1;
  return 1;
}

/** Plans decoded by a single expression. */
function isScalar(p: Plan): boolean {
  return p.k !== "comp" && p.k !== "array";
}

/** Minimum and maximum of an n-byte int as numbers (n <= 4). */
function intRange(size: number, signed: boolean): [number, number] {
  const bits = size * 8;
  return signed ? [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1] : [0, 2 ** bits - 1];
}

/** The same as bigint literals (n >= 8). */
function bigRange(size: number, signed: boolean): [string, string] {
  const bits = BigInt(size * 8);
  return signed
    ? [`${-(1n << (bits - 1n))}n`, `${(1n << (bits - 1n)) - 1n}n`]
    : ["0n", `${(1n << bits) - 1n}n`];
}

/** DataView getter/setter suffix for an int size. */
function dvType(size: number, signed: boolean): string {
  const base = size === 8 ? "BigInt64" : `Int${size * 8}`;
  return signed ? base : base.replace("Int", "Uint");
}

/** Generates the source of one codec. */
class Gen {
  /** Whether 64-bit ints decode as numbers (see CodecOptions.u64). */
  readonly u64Number: boolean;
  /** Constants the code refers to as `K[i]`. */
  readonly consts: unknown[] = [];
  /** Helper function declarations. */
  readonly fns: string[] = [];
  readonly #fnNames = new Map<Plan, string>();
  #vars = 0;

  constructor(opts: CodecOptions) {
    this.u64Number = opts.u64 === "number";
  }

  k(value: unknown): string {
    this.consts.push(value);
    return `K[${this.consts.length - 1}]`;
  }

  v(prefix: string): string {
    return `${prefix}${this.#vars++}`;
  }

  /** Whether the code reads words (`w`): string fields do. */
  words = false;

  /** A new string cache for one `char[n]` field site: the function that reads it. */
  strCache(n: number): string {
    this.words = true;
    const name = `s${this.fns.length}`;
    const cache = new StrCache(n);
    // Module-level consts: V8 reads them straight from the context, not K's elements.
    this.fns.push(`const ${name} = ${this.k(cache)};`, strCacheLookup(cache, name, `${name}get`));
    return `${name}get`;
  }

  /** A decode expression for a plan at an offset. */
  dec(p: Plan, at: Off): string {
    const o = off(at);
    switch (p.k) {
      case "int":
      case "enum":
        if (p.size === 1) return p.signed ? `(u[${o}] << 24 >> 24)` : `u[${o}]`;
        if (p.size === 16) return `H.get128(v, ${o}, ${p.signed})`;
        if (p.size === 8 && this.u64Number) {
          // Two 32-bit reads and a multiply-add: no bigint made (rounded above 2^53).
          const hi = `v.get${p.signed ? "Int32" : "Uint32"}(${off(at, 4)}, true)`;
          return `(v.getUint32(${o}, true) + ${hi} * 4294967296)`;
        }
        return `v.get${dvType(p.size, p.signed)}(${o}, true)`;
      case "bool":
        if (p.size === 1) return `(u[${o}] !== 0)`;
        return `(v.get${dvType(p.size, false)}(${o}, true) != 0)`;
      case "float":
        if (p.size === 2) return `H.f16(v.getUint16(${o}, true))`;
        return `v.getFloat${p.size * 8}(${o}, true)`;
      case "ptr":
        return `v.getBigUint64(${o}, true)`;
      case "raw":
        return `u.slice(${o}, ${off(at, p.size)})`;
      case "str":
        return p.len === 0 ? `""` : `${this.strCache(p.len)}(u, w, ${o})`;
      case "array":
        if (p.n <= INLINE_ARRAY && isScalar(p.elem)) {
          const els = [];
          for (let i = 0; i < p.n; i++) {
            els.push(this.dec(p.elem, { e: at.e, k: at.k + i * p.stride }));
          }
          return `[${els.join(", ")}]`;
        }
        return `${this.#fn(p)}(v, u, w, ${o})`;
      case "comp":
        if (leaves(p) > INLINE_LEAVES) return `${this.#fn(p)}(v, u, w, ${o})`;
        return this.#literal(p, at);
    }
  }

  /** An object literal decoding every flattened field. */
  #literal(p: Composite, at: Off): string {
    const parts: string[] = [];
    const walk = (items: Item[]) => {
      for (const it of items) {
        if (it.t === "group") {
          for (const alt of it.alts) walk(alt);
          continue;
        }
        const expr = it.bits
          ? this.#decBits(it.plan, at, it.bits)
          : this.dec(it.plan, { e: at.e, k: at.k + it.off });
        parts.push(`${JSON.stringify(it.key)}: ${expr}`);
      }
    };
    walk(p.items);
    return `{ ${parts.join(", ")} }`;
  }

  /** A decode function for an array or a big struct (one per plan). */
  #fn(p: Plan): string {
    let name = this.#fnNames.get(p);
    if (name) return name;
    name = `f${this.#fnNames.size}`;
    this.#fnNames.set(p, name);
    let body: string;
    if (p.k === "array") {
      const i = this.v("i");
      const expr = this.dec(p.elem, { e: `(o + ${i} * ${p.stride})`, k: 0 });
      body =
        `const r = [];\n  for (let ${i} = 0; ${i} < ${p.n}; ${i}++) r.push(${expr});\n  return r;`;
    } else {
      body = `return ${this.#literal(p as Composite, { e: "o", k: 0 })};`;
    }
    this.fns.push(`function ${name}(v, u, w, o) {\n  ${body}\n}`);
    return name;
  }

  /** A bitfield read: one 32-bit int op when it fits, else a bigint helper. */
  #decBits(p: Plan, at: Off, bits: { off: number; size: number }): string {
    const byte = at.k + (bits.off >> 3);
    const shift = bits.off & 7;
    const nbytes = Math.ceil((shift + bits.size) / 8);
    const b = off({ e: at.e, k: byte });
    const signed = (p.k === "int" || p.k === "enum") && p.signed;
    const big = (p.k === "int" || p.k === "enum") && p.size >= 8 && !this.u64Number;
    if (shift + bits.size > 32) {
      const x = `H.getBits(u, ${b}, ${nbytes}, ${shift}, ${bits.size}, ${signed})`;
      return big ? x : p.k === "bool" ? `(${x} !== 0n)` : `Number(${x})`;
    }
    const raw = nbytes === 1
      ? `u[${b}]`
      : nbytes === 2
      ? `v.getUint16(${b}, true)`
      : nbytes === 3
      ? `(v.getUint16(${b}, true) | u[${off({ e: at.e, k: byte + 2 })}] << 16)`
      : `v.getUint32(${b}, true)`;
    let x: string;
    if (signed) x = `(${raw} << ${32 - shift - bits.size} >> ${32 - bits.size})`;
    else if (bits.size === 32) x = `(${raw} >>> 0)`;
    else x = `((${raw} >>> ${shift}) & ${2 ** bits.size - 1})`;
    if (p.k === "bool") return `(${x} !== 0)`;
    return big ? `BigInt(${x})` : x;
  }

  /**
   * Statements encoding the value in variable `x` (known not undefined) at an offset.
   *
   * @param p The plan.
   * @param at Where.
   * @param x A `let` variable holding the value.
   * @param path A JS expression for the field path (evaluated only on failure).
   * @param out Statement lines.
   */
  enc(p: Plan, at: Off, x: string, path: string, out: string[]): void {
    const o = off(at);
    const name = JSON.stringify(p.name);
    switch (p.k) {
      case "enum":
        out.push(
          `if (typeof ${x} === "string") ${x} = H.enumName(${
            this.k(p.values)
          }, ${x}, ${name}, ${path});`,
        );
        // Enums accept either signedness: BTF before kernel 6.0 did not record it.
        this.#encInt(p, o, x, path, out, true);
        return;
      case "int":
        this.#encInt(p, o, x, path, out, false);
        return;
      case "ptr":
        this.#encInt({ size: 8, signed: false, name: p.name }, o, x, path, out, false);
        return;
      case "bool":
        out.push(`if (typeof ${x} !== "boolean") ${x} = H.bool(${x}, ${name}, ${path});`);
        if (p.size === 1) out.push(`u[${o}] = ${x} ? 1 : 0;`);
        else if (p.size === 8) out.push(`v.setBigUint64(${o}, ${x} ? 1n : 0n, true);`);
        else out.push(`v.set${dvType(p.size, false)}(${o}, ${x} ? 1 : 0, true);`);
        return;
      case "float":
        out.push(`if (typeof ${x} !== "number") ${x} = H.float(${x}, ${name}, ${path});`);
        if (p.size === 2) out.push(`v.setUint16(${o}, H.tof16(${x}), true);`);
        else out.push(`v.setFloat${p.size * 8}(${o}, ${x}, true);`);
        return;
      case "raw":
        out.push(`H.putRaw(u, ${o}, ${p.size}, ${x}, ${name}, ${path});`);
        return;
      case "str":
        out.push(`H.putStr(u, ${o}, ${p.len}, ${x}, ${name}, ${path});`);
        return;
      case "array": {
        const i = this.v("i");
        const e = this.v("x");
        out.push(
          `if (!Array.isArray(${x}) && !(ArrayBuffer.isView(${x}) && "length" in ${x})) ` +
            `H.shape(${x}, "an array", ${name}, ${path});`,
          `if (${x}.length > ${p.n}) H.tooMany(${x}, ${name}, ${path});`,
          `for (let ${i} = 0; ${i} < ${x}.length; ${i}++) {`,
          `let ${e} = ${x}[${i}];`,
          `if (${e} !== undefined) {`,
        );
        this.enc(
          p.elem,
          { e: `(${o} + ${i} * ${p.stride})`, k: 0 },
          e,
          `${path} + "[" + ${i} + "]"`,
          out,
        );
        out.push(`}`, `}`);
        return;
      }
      case "comp": {
        const known = Object.create(null);
        for (const key of p.keys) known[key] = true;
        const kk = this.k(known);
        const keys = this.k(p.keys);
        const key = this.v("k");
        out.push(
          `if (typeof ${x} !== "object" || ${x} === null || Array.isArray(${x})) ` +
            `H.shape(${x}, "an object", ${name}, ${path});`,
          `for (const ${key} in ${x}) if (${kk}[${key}] !== true) ` +
            `H.unknown(${key}, ${keys}, ${name}, ${path});`,
        );
        this.#encItems(p.items, at, x, path, out);
        return;
      }
    }
  }

  /** Range-checked int store. */
  #encInt(
    p: { size: number; signed: boolean; name: string },
    o: string,
    x: string,
    path: string,
    out: string[],
    eitherSign: boolean,
  ): void {
    const name = JSON.stringify(p.name);
    if (p.size >= 8) {
      const [lo] = bigRange(p.size, eitherSign || p.signed);
      const [, hi] = bigRange(p.size, eitherSign ? false : p.signed);
      out.push(
        `if (typeof ${x} !== "bigint" || ${x} < ${lo} || ${x} > ${hi}) ` +
          `${x} = H.big(${x}, ${lo}, ${hi}, ${name}, ${path});`,
      );
      if (p.size === 16) out.push(`H.put128(v, ${o}, ${x});`);
      else if (eitherSign) out.push(`v.setBigUint64(${o}, BigInt.asUintN(64, ${x}), true);`);
      else out.push(`v.set${dvType(8, p.signed)}(${o}, ${x}, true);`);
      return;
    }
    const lo = intRange(p.size, eitherSign || p.signed)[0];
    const hi = intRange(p.size, eitherSign ? false : p.signed)[1];
    out.push(
      `if (typeof ${x} !== "number" || !(${x} >= ${lo} && ${x} <= ${hi}) || ${x} % 1 !== 0) ` +
        `${x} = H.int(${x}, ${lo}, ${hi}, ${name}, ${path});`,
    );
    // Typed-array and DataView stores wrap negatives to two's complement.
    if (p.size === 1) out.push(`u[${o}] = ${x};`);
    else out.push(`v.set${dvType(p.size, p.signed)}(${o}, ${x}, true);`);
  }

  /** Encode the items of a composite held in `x`. */
  #encItems(items: Item[], at: Off, x: string, path: string, out: string[]): void {
    for (const it of items) {
      if (it.t === "group") {
        // A union: overlay every member present, widest first, so a narrower member
        // overwrites the start of a wider one; on equal sizes the first declared wins.
        // A decoded union thus re-encodes to its bytes, and a lone member is just written.
        // A scalar already equal to what the bytes hold is skipped, so a lossy one (a
        // bool over an int) does not clobber a wider member's bytes.
        const order = it.alts.map((_, i) => i).sort((a, b) => it.sizes[b] - it.sizes[a] || b - a);
        for (const [n, i] of order.entries()) {
          const keys: string[] = [];
          collectKeys(it.alts[i], keys);
          if (keys.length === 0) continue;
          let cond = keys.map((k) => `${prop(x, k)} !== undefined`).join(" || ");
          const only = it.alts[i][0];
          if (n > 0 && it.alts[i].length === 1 && only.t === "field" && isScalar(only.plan)) {
            const cur = only.bits
              ? this.#decBits(only.plan, at, only.bits)
              : this.dec(only.plan, { e: at.e, k: at.k + only.off });
            cond = `${cond} && !H.same(${prop(x, only.key)}, ${cur})`;
          }
          out.push(`if (${cond}) {`);
          this.#encItems(it.alts[i], at, x, path, out);
          out.push(`}`);
        }
        continue;
      }
      const f = this.v("x");
      const fpath = `${path} + ${JSON.stringify("." + it.key)}`;
      out.push(`let ${f} = ${prop(x, it.key)};`, `if (${f} !== undefined) {`);
      if (it.bits) this.#encBits(it.plan, at, it.bits, f, fpath, out);
      else this.enc(it.plan, { e: at.e, k: at.k + it.off }, f, fpath, out);
      out.push(`}`);
    }
  }

  /** A range-checked bitfield store. */
  #encBits(
    p: Plan,
    at: Off,
    bits: { off: number; size: number },
    x: string,
    path: string,
    out: string[],
  ): void {
    const b = off({ e: at.e, k: at.k + (bits.off >> 3) });
    const shift = bits.off & 7;
    const name = JSON.stringify(`${p.name}:${bits.size}`);
    if (p.k === "bool") {
      out.push(
        `if (typeof ${x} !== "boolean") ${x} = H.bool(${x}, ${name}, ${path});`,
        `H.putBits(u, ${b}, ${shift}, ${bits.size}, ${x} ? 1 : 0);`,
      );
      return;
    }
    if (p.k !== "int" && p.k !== "enum") return;
    const isEnum = p.k === "enum";
    if (isEnum) {
      out.push(
        `if (typeof ${x} === "string") ${x} = H.enumName(${this.k(p.values)}, ${x}, ${
          JSON.stringify(p.name)
        }, ${path});`,
      );
    }
    const s = BigInt(bits.size);
    const lo = isEnum || p.signed ? -(1n << (s - 1n)) : 0n;
    const hi = isEnum || !p.signed ? (1n << s) - 1n : (1n << (s - 1n)) - 1n;
    if (p.size >= 8 || bits.size > 32) {
      out.push(
        `if (typeof ${x} !== "bigint" || ${x} < ${lo}n || ${x} > ${hi}n) ` +
          `${x} = H.big(${x}, ${lo}n, ${hi}n, ${name}, ${path});`,
        `H.putBitsBig(u, ${b}, ${shift}, ${bits.size}, ${x});`,
      );
      return;
    }
    out.push(
      `if (typeof ${x} !== "number" || !(${x} >= ${lo} && ${x} <= ${hi}) || ${x} % 1 !== 0) ` +
        `${x} = H.int(${x}, ${lo}, ${hi}, ${name}, ${path});`,
      `H.putBits(u, ${b}, ${shift}, ${bits.size}, ${x});`,
    );
  }
}

/**
 * Generate the codec for one type.
 *
 * @param src The BTF.
 * @param id The type id.
 * @param opts How 64-bit ints are represented.
 * @returns The codec (callers cache it: see {@link Btf.codec}).
 * @throws {BpfError} op `"codec"` when the type has no data layout.
 * @example
 * ```ts
 * const c = buildCodec(btf, btf.findId("struct padded")!);
 * ```
 */
export function buildCodec<T = unknown>(
  src: CodecSource,
  id: number,
  opts: CodecOptions = {},
): Codec<T> {
  const typeName = src.nameOf(id);
  const root = new Planner(src).plan(id);
  const size = src.sizeOf(id);
  const gen = new Gen(opts);
  const expr = gen.dec(root, { e: "o", k: 0 });
  const composite = root.k === "comp" || root.k === "array";
  // Paths start at the type name for structs ("struct key_t.port"), empty for scalars.
  const rootPath = root.k === "comp" ? JSON.stringify(typeName) : `""`;
  const encLines: string[] = [];
  gen.enc(root, { e: "o", k: 0 }, "x", rootPath, encLines);
  const name = JSON.stringify(typeName);
  const source = `"use strict";
${gen.fns.join("\n")}
function d(v, u, w, o) {
  return ${expr};
}
function words(buf) {
  return ${gen.words ? "new Int32Array(buf, 0, buf.byteLength >> 2)" : "null"};
}
let dBuf = null, dView = null, dU8 = null, dW = null;
function decode(bytes, offset) {
  if (offset === undefined) offset = 0;
  if (!(offset >= 0 && offset + ${size} <= bytes.length)) H.short(bytes, offset, ${size}, ${name});
  if (bytes.buffer !== dBuf) { dBuf = bytes.buffer; dView = new DataView(dBuf); dU8 = new Uint8Array(dBuf); dW = words(dBuf); }
  return d(dView, dU8, dW, bytes.byteOffset + offset);
}
function decodeMany(bytes, count, stride, out) {
  if (stride === undefined) stride = ${size};
  if (out === undefined) out = [];
  if (count > 0 && !((count - 1) * stride + ${size} <= bytes.length)) H.short(bytes, 0, (count - 1) * stride + ${size}, ${name});
  if (bytes.buffer !== dBuf) { dBuf = bytes.buffer; dView = new DataView(dBuf); dU8 = new Uint8Array(dBuf); dW = words(dBuf); }
  const v = dView, u = dU8, w = dW;
  let o = bytes.byteOffset;
  for (let i = 0; i < count; i++, o += stride) out[i] = d(v, u, w, o);
  if (out.length !== count) out.length = count;
  return out;
}
function bind(bytes) {
  if (!(bytes instanceof Uint8Array)) H.short(bytes, 0, ${size}, ${name});
  const buf = bytes.buffer, v = new DataView(buf), u = new Uint8Array(buf), w = words(buf);
  const base = bytes.byteOffset;
  // The expression itself, not a call of d(): one call less to inline in a hot loop.
  if (base === 0) return function (o) { return ${expr}; };
  return function (offset) { const o = base + offset; return ${expr}; };
}
let eBuf = null, eView = null, eU8 = null, eW = null;
function encode(value, out, offset) {
  if (out === undefined) { out = new Uint8Array(${size}); offset = 0; }
  else {
    if (offset === undefined) offset = 0;
    if (!(out instanceof Uint8Array) || !(offset >= 0 && offset + ${size} <= out.length)) H.small(out, offset, ${size}, ${name});
    out.fill(0, offset, offset + ${size});
  }
  if (value === undefined) H.shape(value, ${
    JSON.stringify(composite ? (root.k === "comp" ? "an object" : "an array") : "a value")
  }, ${name}, "");
  if (out.buffer !== eBuf) { eBuf = out.buffer; eView = new DataView(eBuf); eU8 = new Uint8Array(eBuf); eW = words(eBuf); }
  const v = eView, u = eU8, w = eW, o = out.byteOffset + offset;
  let x = value;
  ${encLines.join("\n  ")}
  return out;
}
return { decode, decodeMany, bind, encode };
`;
  let fns: Pick<Codec<T>, "decode" | "decodeMany" | "bind" | "encode">;
  try {
    fns = new Function("H", "K", source)(H, gen.consts);
  } catch (e) {
    throw new BpfError({
      op: "codec",
      message: `generated code for '${typeName}' does not compile`,
      log: source,
      cause: e,
    });
  }
  return Object.freeze({ typeId: id, typeName, size, ...fns });
}
