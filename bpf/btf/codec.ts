/**
 * Codecs: BTF types to and from JavaScript values, generated once per type.
 *
 * A codec is built from a plan of the type (offsets, sizes and kinds resolved from BTF)
 * into straight-line JavaScript with `new Function`: decoding a struct is one object
 * literal of DataView reads, with no per-field closures, so a million map entries decode
 * in tens of milliseconds. `bind(bytes)` gives a decoder over one buffer whose views are
 * made once (a ring buffer's mapping), and `char[]` fields decode through a small cache
 * of the strings they made ({@link StrCache}): events repeat their comms and paths, and
 * comparing a few words costs a tenth of making a string. Encoding validates every
 * value and names the field path of the bad one.
 *
 * Value mapping (decode; encode accepts the same):
 * - ints up to 32 bits: number; 64- and 128-bit ints: bigint (encode also takes a safe
 *   integer number); the range is checked, so `-1` does not fit a `u32`
 * - `_Bool`: boolean (encode also takes 0 / 1)
 * - enums: number (bigint for 8-byte enums); encode also takes the enumerator name
 * - pointers: bigint; `float`/`double`: number; other float sizes: raw bytes
 * - arrays of `char`, `signed char`, `unsigned char` (spelled so, not via a typedef
 *   such as `u8`): string up to the first NUL; encode takes a string (UTF-8) or bytes
 *   that fit the array (the NUL is not required when the string fills it)
 * - other arrays: arrays (encode takes any array-like; missing trailing elements are 0)
 * - structs: plain objects; anonymous struct/union members are flattened into the
 *   parent like C access (`v.lo`, not `v[""].lo`)
 * - unions: an object with every member decoded from the same bytes. Encode overlays
 *   the members present: widest first, then narrower ones over its start (on equal
 *   sizes the first declared wins), skipping a scalar that already equals what the
 *   bytes hold. So `{ x: 5 }` writes x, a decoded union re-encodes to its own bytes,
 *   and changing one narrower member of a decoded union in place writes that change
 * - a missing (undefined) field encodes as 0, like C zero-initialisation; an unknown
 *   field is an error (it is usually a typo)
 *
 * @module
 */

import { BpfError } from "../../ffi/errors.ts";
import type { BtfComposite, BtfType } from "./types.ts";

/** What codec generation needs from a {@link Btf}. */
export interface CodecSource {
  /** The record of a type id. */
  typeById(id: number): BtfType;
  /** The id behind typedefs and qualifiers. */
  resolve(id: number): number;
  /** Size in bytes. */
  sizeOf(id: number): number;
  /** The C name, for messages. */
  nameOf(id: number): string;
}

/**
 * Decodes and encodes one BTF type.
 *
 * @example
 * ```ts
 * const c = btf.codec<{ a: bigint; b: number }>("struct padded");
 * const bytes = c.encode({ a: 1n, b: 2 }); // Uint8Array(16)
 * c.decode(bytes); // { a: 1n, b: 2 }
 * c.decodeMany(batch, 1000); // 1000 values laid out back to back
 * ```
 */
export interface Codec<T = unknown> {
  /** The type id it was built for. */
  readonly typeId: number;
  /** The C name of the type, e.g. `"struct data_t"`. */
  readonly typeName: string;
  /** Size in bytes. */
  readonly size: number;
  /**
   * Decode one value.
   *
   * @param bytes The buffer.
   * @param offset Where the value starts in `bytes` (default 0).
   * @returns The value.
   * @throws {BpfError} op `"decode"` when the buffer is too short.
   */
  decode(bytes: Uint8Array, offset?: number): T;
  /**
   * Decode `count` values laid out every `stride` bytes (batch map reads, per-CPU
   * values: stride = size rounded up to 8).
   *
   * @param bytes The buffer.
   * @param count How many values.
   * @param stride Bytes from one value to the next (default: the size).
   * @param out An array to fill (its length is set to `count`), to avoid allocating.
   * @returns The values.
   * @throws {BpfError} op `"decode"` when the buffer is too short.
   */
  decodeMany(bytes: Uint8Array, count: number, stride?: number, out?: T[]): T[];
  /**
   * An unchecked decoder over one buffer, for hot loops that decode many values from
   * the same memory (a ring buffer's mapping): the views are made once, here, and the
   * returned function only reads. The caller keeps `offset + size` within `bytes`.
   *
   * @param bytes The buffer values are read from.
   * @returns `(offset) => value`, reading at `bytes.byteOffset + offset`.
   * @throws {BpfError} op `"decode"` when `bytes` is not a Uint8Array.
   */
  bind(bytes: Uint8Array): (offset: number) => T;
  /**
   * Encode one value. The value's bytes (padding included) are zeroed first.
   *
   * @param value The value.
   * @param out Where to write (default: a new buffer of `size` bytes).
   * @param offset Where in `out` (default 0).
   * @returns `out`, or the new buffer.
   * @throws {BpfError} op `"encode"` naming the type, the field path and the bad value.
   */
  encode(value: T, out?: Uint8Array, offset?: number): Uint8Array;
}

// ---------------------------------------------------------------------------------------
// Plans: the type tree with typedefs resolved and anonymous members flattened.

/** A scalar or aggregate, as the generator sees it. */
type Plan =
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
interface Composite {
  k: "comp";
  name: string;
  size: number;
  items: Item[];
  /** Every key of the flattened object, in order. */
  keys: string[];
}

/** A field, or a union's alternatives (each alternative a list of items). */
type Item =
  | { t: "field"; key: string; plan: Plan; off: number; bits?: { off: number; size: number } }
  | { t: "group"; alts: Item[][]; sizes: number[] };

/** Names of the int types that spell a C character type (their arrays are strings). */
const CHAR_NAMES = new Set(["char", "signed char", "unsigned char"]);

/** Throw a codec build error. */
function unsupported(name: string, why: string): never {
  throw new BpfError({ op: "codec", message: `cannot build a codec for '${name}': ${why}` });
}

/** Builds plans from BTF, caching by type id. */
class Planner {
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
function collectKeys(items: Item[], out: string[]): void {
  for (const it of items) {
    if (it.t === "field") out.push(it.key);
    else for (const alt of it.alts) collectKeys(alt, out);
  }
}

// ---------------------------------------------------------------------------------------
// Runtime helpers the generated code calls (slow paths, strings, odd sizes).

const textDecoder = new TextDecoder();
const textEncoder = new TextEncoder();

/** Whether this machine is little-endian: the word-wise string scan assumes it. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * An ASCII string from `len` bytes at `o`. One `String.fromCharCode` call of fixed arity
 * (trimmed to `len`) makes one string, where a loop of `+=` makes one per byte: 2-4×
 * faster for the short strings of events (a comm, a path).
 */
function ascii(u: Uint8Array, o: number, len: number): string {
  if (len <= 16) {
    return String.fromCharCode(
      u[o],
      u[o + 1],
      u[o + 2],
      u[o + 3],
      u[o + 4],
      u[o + 5],
      u[o + 6],
      u[o + 7],
      u[o + 8],
      u[o + 9],
      u[o + 10],
      u[o + 11],
      u[o + 12],
      u[o + 13],
      u[o + 14],
      u[o + 15],
    ).substring(0, len);
  }
  let s = "";
  let i = o;
  const end = o + len;
  for (; i + 8 <= end; i += 8) {
    s += String.fromCharCode(
      u[i],
      u[i + 1],
      u[i + 2],
      u[i + 3],
      u[i + 4],
      u[i + 5],
      u[i + 6],
      u[i + 7],
    );
  }
  for (; i < end; i++) s += String.fromCharCode(u[i]);
  return s;
}

/**
 * Decode a NUL-terminated string of at most n bytes, byte by byte: ASCII through
 * {@link ascii}, anything else through TextDecoder (UTF-8, with U+FFFD for bad bytes).
 */
function strBytes(u: Uint8Array, o: number, n: number): string {
  const lim = o + n;
  let end = o;
  let high = 0;
  while (end < lim) {
    const c = u[end];
    if (c === 0) break;
    high |= c;
    end++;
  }
  const len = end - o;
  if (len === 0) return "";
  // Reading 16 bytes for a shorter string may run past the buffer: TextDecoder then.
  if (high < 128 && (len > 16 || o + 16 <= u.length)) return ascii(u, o, len);
  return textDecoder.decode(u.subarray(o, end));
}

/** Keeps the bytes up to and including byte j of a little-endian word, by j. */
const THROUGH = [0xff, 0xffff, 0xffffff, -1];
/** A multiplier for hashing words (FNV's prime). */
const FNV = 0x01000193;

/**
 * The decoder of one `char[n]` field, remembering the strings it made by their bytes.
 * Events repeat their strings (the same comm, the same path): a hit costs a few word
 * compares, ~10× less than making the string. Equal bytes always give an equal string,
 * so a hit is indistinguishable from a fresh decode.
 *
 * Each slot holds a string's words up to the one with its NUL, that word masked through
 * the NUL (bytes after it are garbage as often as not). A string matches a slot when its
 * first words equal the slot's and its last word, masked the same, does too: then it has
 * the same bytes and its NUL at the same place. The string returned last is tried first
 * (`lastWords`, `lastCount`, `lastMask`, `lastStr`: one pass, no NUL search; codecs
 * call `match`, straight-line compares made for the last string's word count, see
 * {@link wordMatcher}); else the string's words are hashed up to
 * the NUL to pick a slot of a small direct-mapped table; a miss makes the string and
 * takes that slot.
 *
 * Needs the field's bytes 4-aligned in memory (ring and perf buffer records are);
 * otherwise it decodes byte by byte.
 *
 * @example
 * ```ts
 * const comm = new StrCache(16);
 * const bytes = new Uint8Array(16);
 * bytes.set(new TextEncoder().encode("bash"));
 * comm.get(bytes, new Int32Array(bytes.buffer), 0); // "bash" (made)
 * comm.get(bytes, new Int32Array(bytes.buffer), 0); // "bash" (from the cache)
 * ```
 */
export class StrCache {
  /** The array length in bytes. */
  readonly n: number;
  /** Words the array spans. */
  readonly nw: number;
  /** Mask of the array's bytes in its last word (-1: all four). */
  readonly tail: number;
  /** Slots - 1 (-1: no cache, always decode byte by byte). */
  readonly mask: number;
  /** Per slot, the masked words of its string (nw words per slot). */
  readonly keys: Int32Array;
  /** Per slot, how many words to compare (0: empty slot). */
  readonly counts: Int32Array;
  /** Per slot, the mask of its last word. */
  readonly masks: Int32Array;
  /** Per slot, the string. */
  readonly strs: string[];
  /** The words of the string returned last (a copy of its slot's). */
  readonly lastWords: Int32Array;
  /** How many of them to compare (0: none returned yet). */
  lastCount = 0;
  /** The mask of the last of them. */
  lastMask = 0;
  /** The string returned last. */
  lastStr = "";
  /** Whether the words at a word index are those of the string returned last. */
  match: WordMatcher = NO_MATCH;

  /**
   * @param n The `char` array length.
   */
  constructor(n: number) {
    this.n = n;
    this.nw = (n + 3) >> 2;
    this.tail = n % 4 === 0 ? -1 : THROUGH[n % 4 - 1];
    // Long arrays get fewer slots: the cache stays under ~64 KiB per field.
    const slots = !LITTLE_ENDIAN || n > 1024 ? 0 : n <= 128 ? 256 : 64;
    this.mask = slots - 1;
    this.keys = new Int32Array(slots * this.nw);
    this.counts = new Int32Array(slots);
    this.masks = new Int32Array(slots);
    this.strs = new Array<string>(slots).fill("");
    this.lastWords = new Int32Array(this.nw);
  }

  /**
   * Decode the string at byte offset `o` of the buffer that `u` and `w` view.
   *
   * @param u The buffer's bytes.
   * @param w The same buffer as Int32Array (from offset 0).
   * @param o The field's offset in the buffer.
   * @returns The string up to the first NUL (or the whole array).
   */
  get(u: Uint8Array, w: Int32Array, o: number): string {
    const i = o >>> 2;
    if ((o & 3) !== 0 || this.mask < 0 || i + this.nw > w.length) return strBytes(u, o, this.n);
    const k = this.lastCount - 1;
    const last = this.lastWords;
    let m = 0;
    while (m < k && w[i + m] === last[m]) m++;
    if (m === k && (w[i + k] & this.lastMask) === last[k]) return this.lastStr;
    return this.lookup(u, w, o);
  }

  /** Whether the string at word i has the bytes of a slot. */
  #matches(slot: number, w: Int32Array, i: number): boolean {
    const k = this.counts[slot] - 1;
    const keys = this.keys;
    const base = slot * this.nw;
    let m = 0;
    while (m < k && w[i + m] === keys[base + m]) m++;
    return m === k && (w[i + k] & this.masks[slot]) === keys[base + k];
  }

  /**
   * The slow path of {@link get} (the string is not the last one): find the NUL a word at
   * a time while hashing, then try that slot, else fill it. The caller checked that `o`
   * is 4-aligned and the array within `w`.
   *
   * @param u The buffer's bytes.
   * @param w The same buffer as Int32Array.
   * @param o The field's offset in the buffer.
   * @returns The string.
   */
  lookup(u: Uint8Array, w: Int32Array, o: number): string {
    const nw = this.nw;
    const i = o >>> 2;
    let h = 0;
    let high = 0;
    let len = this.n;
    let mask = this.tail;
    let k = 0;
    for (;;) {
      let x = w[i + k];
      if (k === nw - 1) x &= this.tail;
      const z = (x - 0x01010101) & ~x & 0x80808080;
      if (z !== 0) {
        // The lowest flagged byte is the first zero byte (false flags only come above it).
        const j = (31 - Math.clz32(z & -z)) >> 3;
        len = 4 * k + j;
        mask = k === nw - 1 ? THROUGH[j] & this.tail : THROUGH[j];
        x &= mask;
        high |= x;
        h = Math.imul(h ^ x, FNV);
        k++;
        break;
      }
      high |= x;
      h = Math.imul(h ^ x, FNV);
      if (++k === nw) break;
    }
    if (len === 0) return "";
    const slot = (h ^ (h >>> 15) ^ len) & this.mask;
    const keys = this.keys;
    const base = slot * nw;
    if (!(this.counts[slot] === k && this.masks[slot] === mask && this.#matches(slot, w, i))) {
      const s = (high & 0x80808080) === 0 && (len > 16 || o + 16 <= u.length)
        ? ascii(u, o, len)
        : textDecoder.decode(u.subarray(o, o + len));
      for (let m = 0; m < k - 1; m++) keys[base + m] = w[i + m];
      keys[base + k - 1] = w[i + k - 1] & mask;
      this.counts[slot] = k;
      this.masks[slot] = mask;
      this.strs[slot] = s;
    }
    // The slot becomes the last one.
    this.lastWords.set(keys.subarray(base, base + k));
    if (k !== this.lastCount) this.match = wordMatcher(k);
    this.lastCount = k;
    this.lastMask = mask;
    this.lastStr = this.strs[slot];
    return this.lastStr;
  }
}

/**
 * Whether the `k` words at word index `i` of `w` equal `l[0, k)`, the last of them
 * through mask `m` (`k` is fixed per matcher).
 */
type WordMatcher = (w: Int32Array, i: number, l: Int32Array, m: number) => boolean;
const NO_MATCH: WordMatcher = () => false;
/** The matchers made so far, by word count. */
const wordMatchers: WordMatcher[] = [];

/**
 * The matcher of `k`-word strings, made once per `k`: straight-line compares, no loop
 * and no jump on the count. A field's decoder calls its cache's current matcher, and V8
 * inlines it while the field's strings keep one length (the common case: the same comm,
 * the same path): 128-byte events with two strings drain 1.35× faster than through one
 * function with a `switch` into an unrolled chain of every length, which was too big
 * (in bytecode) for V8 to inline into the ring's loop.
 */
function wordMatcher(k: number): WordMatcher {
  let m = wordMatchers[k];
  if (m) return m;
  const terms = [`(w[i + ${k - 1}] & m) === l[${k - 1}]`];
  for (let j = 0; j < k - 1; j++) terms.push(`w[i + ${j}] === l[${j}]`);
  m = new Function("w", "i", "l", "m", `return ${terms.join(" && ")};`) as WordMatcher;
  wordMatchers[k] = m;
  return m;
}

/**
 * The source of a function `(u, w, o) => string` decoding one `char[n]` field through its
 * {@link StrCache} `c`: the last string's matcher first, the rest through `c.get`.
 *
 * @param name The function's name.
 * @param c The expression of the cache.
 * @param n The array length.
 * @returns The function's source.
 */
function strMatcher(name: string, c: string, n: number): string {
  const nw = (n + 3) >> 2;
  return `function ${name}(u, w, o) {
  const c = ${c}, i = o >>> 2;
  if ((o & 3) === 0 && i + ${nw} <= w.length && c.match(w, i, c.lastWords, c.lastMask)) return c.lastStr;
  return c.get(u, w, o);
}`;
}

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
const H = {
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

// ---------------------------------------------------------------------------------------
// Code generation.

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
  /** Constants the code refers to as `K[i]`. */
  readonly consts: unknown[] = [];
  /** Helper function declarations. */
  readonly fns: string[] = [];
  readonly #fnNames = new Map<Plan, string>();
  #vars = 0;

  k(value: unknown): string {
    this.consts.push(value);
    return `K[${this.consts.length - 1}]`;
  }

  v(prefix: string): string {
    return `${prefix}${this.#vars++}`;
  }

  /** Whether the code reads words (`w`): string fields do. */
  words = false;

  /** A new string decoder for one `char[n]` field site: its function's name. */
  strCache(n: number): string {
    this.words = true;
    const name = `s${this.fns.length}`;
    // A module-level const: V8 reads it straight from the context, not K's elements.
    this.fns.push(`const ${name}c = ${this.k(new StrCache(n))};`);
    this.fns.push(strMatcher(name, `${name}c`, n));
    return name;
  }

  /** A decode expression for a plan at an offset. */
  dec(p: Plan, at: Off): string {
    const o = off(at);
    switch (p.k) {
      case "int":
      case "enum":
        if (p.size === 1) return p.signed ? `(u[${o}] << 24 >> 24)` : `u[${o}]`;
        if (p.size === 16) return `H.get128(v, ${o}, ${p.signed})`;
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
    const big = (p.k === "int" || p.k === "enum") && p.size >= 8;
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
 * @returns The codec (callers cache it: see {@link Btf.codec}).
 * @throws {BpfError} op `"codec"` when the type has no data layout.
 * @example
 * ```ts
 * const c = buildCodec(btf, btf.findId("struct padded")!);
 * ```
 */
export function buildCodec<T = unknown>(src: CodecSource, id: number): Codec<T> {
  const typeName = src.nameOf(id);
  const root = new Planner(src).plan(id);
  const size = src.sizeOf(id);
  const gen = new Gen();
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
