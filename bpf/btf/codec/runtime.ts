/**
 * The helpers generated codecs call as `H`: slow paths of encoding (range checks that
 * name the field, strings, enumerator names), odd sizes (128-bit ints, half floats, wide
 * bitfields) and the errors.
 *
 * @module
 */

import { BpfError } from "../../../ffi/errors.ts";
import { strBytes } from "./strings.ts";

const textEncoder = new TextEncoder();

/** A short rendering of a bad value for messages. */
function show(x: unknown): string {
  switch (typeof x) {
    case "string": {
      const s = JSON.stringify(x.length > 40 ? x.slice(0, 37) + "..." : x);
      return s;
    }
    case "bigint":
      return `${x}n`;
    case "function":
      return "a function";
    case "object":
      if (x === null) return "null";
      if (Array.isArray(x)) return `an array of ${x.length}`;
      if (x instanceof Uint8Array) return `a Uint8Array of ${x.length} bytes`;
      return "an object";
    default:
      return String(x);
  }
}

/** `" at 'path'"`, or nothing at the top level (an empty path, or just the type name). */
function where(path: string, name: string): string {
  return path && path !== name ? ` at '${path}'` : "";
}

/** Throw an encode error. */
function fail(message: string): never {
  throw new BpfError({ op: "encode", message });
}

/** Helpers passed to generated code as `H`. */
export const H = {
  /** Decode a NUL-terminated string of at most n bytes (see {@link strBytes}). */
  str: strBytes,

  /** Encode a string (or bytes) into a char array of n bytes (already zeroed). */
  putStr(u: Uint8Array, o: number, n: number, x: unknown, name: string, path: string): void {
    if (typeof x === "string") {
      let ascii = x.length <= n;
      if (ascii) {
        for (let i = 0; i < x.length; i++) {
          const c = x.charCodeAt(i);
          if (c > 127 || c === 0) {
            ascii = false;
            break;
          }
          u[o + i] = c;
        }
        if (ascii) {
          if (x.length < n) u[o + x.length] = 0; // terminate, like strcpy (matters in unions)
          return;
        }
      }
      const bytes = textEncoder.encode(x);
      if (bytes.length > n) {
        fail(`string ${show(x)} (${bytes.length} bytes) does not fit ${name}${where(path, name)}`);
      }
      // No clearing: the value's bytes start zeroed, and in a union overlay the bytes
      // past the string belong to a wider member.
      u.set(bytes, o);
      if (bytes.length < n) u[o + bytes.length] = 0;
      return;
    }
    if (x instanceof Uint8Array) {
      if (x.length > n) fail(`${show(x)} does not fit ${name}${where(path, name)}`);
      u.set(x, o);
      return;
    }
    fail(`value ${show(x)} is not a string for ${name}${where(path, name)}`);
  },

  /** Slow path for small ints: accept an in-range bigint, else throw. */
  int(x: unknown, min: number, max: number, name: string, path: string): number {
    if (typeof x === "bigint" && x >= BigInt(min) && x <= BigInt(max)) return Number(x);
    if (typeof x === "number" && Number.isInteger(x) && x >= min && x <= max) return x;
    if ((typeof x === "number" && Number.isInteger(x)) || typeof x === "bigint") {
      fail(`value ${show(x)} does not fit ${name}${where(path, name)}`);
    }
    fail(`value ${show(x)} is not an integer for ${name}${where(path, name)}`);
  },

  /** Slow path for 64/128-bit ints: accept an integer number, else throw. */
  big(x: unknown, min: bigint, max: bigint, name: string, path: string): bigint {
    let b: bigint;
    if (typeof x === "bigint") b = x;
    else if (typeof x === "number" && Number.isInteger(x)) b = BigInt(x);
    else fail(`value ${show(x)} is not an integer for ${name}${where(path, name)}`);
    if (b < min || b > max) fail(`value ${show(x)} does not fit ${name}${where(path, name)}`);
    return b;
  },

  /** Slow path for bools: accept 0 and 1. */
  bool(x: unknown, name: string, path: string): boolean {
    if (x === 0 || x === 1 || x === 0n || x === 1n) return x == 1;
    fail(`value ${show(x)} is not a boolean for ${name}${where(path, name)}`);
  },

  /** Slow path for floats: accept a bigint. */
  float(x: unknown, name: string, path: string): number {
    if (typeof x === "bigint") return Number(x);
    fail(`value ${show(x)} is not a number for ${name}${where(path, name)}`);
  },

  /** An enumerator name to its value. */
  enumName(
    values: Record<string, number | bigint>,
    x: string,
    name: string,
    path: string,
  ): number | bigint {
    const v = values[x];
    if (v !== undefined) return v;
    const names = Object.keys(values);
    const list = names.length > 12 ? names.slice(0, 12).join(", ") + ", ..." : names.join(", ");
    fail(
      `value ${show(x)} is not an enumerator of ${name}${
        where(path, name)
      } (expected one of ${list})`,
    );
  },

  /** Whether a value equals a decoded one (NaN equals NaN; raw bytes compare by content). */
  same(x: unknown, cur: unknown): boolean {
    if (x === cur) return true;
    if (typeof x === "number" && typeof cur === "number") return x !== x && cur !== cur;
    if (typeof x === "bigint" || typeof cur === "bigint") {
      return typeof x === "number" && typeof cur === "bigint" && Number.isInteger(x) &&
        BigInt(x) === cur;
    }
    return false;
  },

  /** Wrong shape: not an object / not an array / missing root value. */
  shape(x: unknown, expected: string, name: string, path: string): never {
    fail(`value ${show(x)} is not ${expected} for ${name}${where(path, name)}`);
  },

  /** An array longer than the C array. */
  tooMany(x: { length: number }, name: string, path: string): never {
    fail(`array of ${x.length} elements does not fit ${name}${where(path, name)}`);
  },

  /** A key the struct does not have. */
  unknown(key: string, keys: string[], name: string, path: string): never {
    const list = keys.length > 16 ? keys.slice(0, 16).join(", ") + ", ..." : keys.join(", ");
    fail(`unknown field '${key}' for ${name}${where(path, name)} (fields: ${list})`);
  },

  /** Decode needs more bytes than given. */
  short(bytes: Uint8Array, offset: number, need: number, name: string): never {
    if (!(bytes instanceof Uint8Array)) {
      throw new BpfError({
        op: "decode",
        message: `expected a Uint8Array for ${name}, got ${show(bytes)}`,
      });
    }
    throw new BpfError({
      op: "decode",
      message: `buffer of ${bytes.length} bytes is too short for ${name} ` +
        `(${need} bytes at offset ${offset})`,
    });
  },

  /** Encode target too small or not bytes. */
  small(out: unknown, offset: number, size: number, name: string): never {
    if (!(out instanceof Uint8Array)) fail(`output for ${name} must be a Uint8Array`);
    fail(
      `buffer of ${out.length} bytes cannot hold ${name} (${size} bytes at offset ${offset})`,
    );
  },

  /** Raw bytes of an odd-sized float. */
  putRaw(u: Uint8Array, o: number, n: number, x: unknown, name: string, path: string): void {
    if (!(x instanceof Uint8Array) || x.length > n) {
      fail(`value ${show(x)} is not a Uint8Array of ${n} bytes for ${name}${where(path, name)}`);
    }
    u.set(x, o);
  },

  /** A 128-bit int. */
  get128(v: DataView, o: number, signed: boolean): bigint {
    const lo = v.getBigUint64(o, true);
    const hi = signed ? v.getBigInt64(o + 8, true) : v.getBigUint64(o + 8, true);
    return (hi << 64n) | lo;
  },

  /** Store a 128-bit int (range already checked). */
  put128(v: DataView, o: number, x: bigint): void {
    v.setBigUint64(o, BigInt.asUintN(64, x), true);
    v.setBigUint64(o + 8, BigInt.asUintN(64, x >> 64n), true);
  },

  /** IEEE half to number. */
  f16(h: number): number {
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const f = h & 0x3ff;
    if (e === 0) return s * f * 2 ** -24;
    if (e === 31) return f ? NaN : s * Infinity;
    return s * (1 + f / 1024) * 2 ** (e - 15);
  },

  /** Number to IEEE half (round to nearest). */
  tof16(x: number): number {
    if (Number.isNaN(x)) return 0x7e00;
    const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
    const a = Math.abs(x);
    if (a >= 65520) return sign | 0x7c00;
    if (a < 2 ** -14) return sign | Math.round(a / 2 ** -24);
    let e = Math.floor(Math.log2(a));
    let f = Math.round((a / 2 ** e - 1) * 1024);
    if (f === 1024) {
      f = 0;
      e++;
    }
    return sign | ((e + 15) << 10) | f;
  },

  /** A bitfield wider than 32 bits (with its shift), as bigint. */
  getBits(u: Uint8Array, o: number, nbytes: number, shift: number, bits: number, signed: boolean) {
    let x = 0n;
    for (let i = nbytes - 1; i >= 0; i--) x = (x << 8n) | BigInt(u[o + i]);
    x = BigInt.asUintN(bits, x >> BigInt(shift));
    return signed ? BigInt.asIntN(bits, x) : x;
  },

  /** Store a bitfield (range already checked), keeping the neighbouring bits. */
  putBits(u: Uint8Array, o: number, shift: number, bits: number, x: number): void {
    let val = x < 0 ? x + 2 ** bits : x;
    for (let i = 0, pos = shift, left = bits; left > 0; i++, pos = 0) {
      const n = Math.min(8 - pos, left);
      const mask = ((1 << n) - 1) << pos;
      u[o + i] = (u[o + i] & ~mask) | ((val % (1 << n)) << pos);
      val = Math.floor(val / (1 << n));
      left -= n;
    }
  },

  /** Store a bigint bitfield, keeping the neighbouring bits. */
  putBitsBig(u: Uint8Array, o: number, shift: number, bits: number, x: bigint): void {
    let val = BigInt.asUintN(bits, x);
    for (let i = 0, pos = shift, left = bits; left > 0; i++, pos = 0) {
      const n = Math.min(8 - pos, left);
      const mask = ((1 << n) - 1) << pos;
      u[o + i] = (u[o + i] & ~mask) | (Number(val & BigInt((1 << n) - 1)) << pos);
      val >>= BigInt(n);
      left -= n;
    }
  },
};
