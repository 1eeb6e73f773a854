/**
 * Strings of `char[n]` fields: ASCII made with one `String.fromCharCode` call, UTF-8
 * through TextDecoder, and a cache per field of the strings it made, keyed by their bytes
 * ({@link StrCache}), with the source of a lookup specialized to one field
 * ({@link strCacheLookup}) that the generated decoders inline.
 *
 * @module
 */

const textDecoder = new TextDecoder();

/** Whether this machine is little-endian: the word-wise string scan assumes it. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * An ASCII string from `len` bytes at `o`. One `String.fromCharCode` call of fixed arity
 * (trimmed to `len`) makes one string, where a loop of `+=` makes one per byte: several
 * times faster for the short strings of events (a comm, a path; bench/NOTES.md).
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
export function strBytes(u: Uint8Array, o: number, n: number): string {
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
 * Events repeat their strings (the same comm, the same path): a hit costs one pass to
 * find the NUL and one to compare the words before it, a fraction of making the string.
 * Equal bytes always give an equal string, so a hit is indistinguishable from a fresh
 * decode.
 *
 * A read finds the word holding the NUL (or the array's end) a word at a time, masks that
 * word through the NUL (bytes after it are garbage as often as not), and hashes it with
 * the length in words and the word before it into a set of two slots of a small table.
 * A slot matches when its word count and masked last word are the same and its other
 * words equal the string's: then the string has the same bytes and its NUL at the same
 * place. A miss makes the string and takes the slot of its set not used last.
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
  /** Per slot, its string's words through the one with the NUL, masked (nw per slot). */
  readonly keys: Int32Array;
  /** Per slot, how many words it holds (0: empty slot). */
  readonly counts: Int32Array;
  /** Per slot, the string. */
  readonly strs: string[];
  /** Per set of two slots, the one that hit or was filled last. */
  readonly recent: Int32Array;

  /**
   * @param n The `char` array length.
   */
  constructor(n: number) {
    this.n = n;
    this.nw = (n + 3) >> 2;
    this.tail = n % 4 === 0 ? -1 : THROUGH[n % 4 - 1];
    // Long arrays get fewer slots: the cache stays under ~64 KiB per field.
    const slots = !LITTLE_ENDIAN || n > 1024 ? 0 : n <= 256 ? 256 : 64;
    this.mask = slots - 1;
    this.recent = new Int32Array(slots >> 1);
    this.keys = new Int32Array(slots * this.nw);
    this.counts = new Int32Array(slots);
    this.strs = new Array<string>(slots).fill("");
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
    const last = this.nw - 1;
    if ((o & 3) !== 0 || this.mask < 0 || i + last >= w.length) return strBytes(u, o, this.n);
    // The word with the NUL, masked through it: the lowest flagged byte of the zero-byte
    // test is the first zero byte (false flags only come above it). The array's last
    // word is masked to the array first.
    let k = 0;
    let x = w[i];
    if (last === 0) x &= this.tail;
    let z = (x - 0x01010101) & ~x & 0x80808080;
    while (z === 0 && k < last) {
      x = w[i + ++k];
      if (k === last) x &= this.tail;
      z = (x - 0x01010101) & ~x & 0x80808080;
    }
    if (z !== 0) x &= THROUGH[(31 - Math.clz32(z & -z)) >> 3];
    if (x === 0 && k === 0) return "";
    let h = Math.imul(x ^ k, FNV);
    if (k > 0) h = Math.imul(h ^ w[i + k - 1], FNV);
    // Two ways per set: strings whose hashes collide do not evict each other.
    const nw = this.nw;
    const keys = this.keys;
    const counts = this.counts;
    const s0 = (h ^ (h >>> 15)) & this.mask & ~1;
    for (let slot = s0; slot <= s0 + 1; slot++) {
      const base = slot * nw;
      if (counts[slot] === k + 1 && keys[base + k] === x) {
        let m = 0;
        while (m < k && w[i + m] === keys[base + m]) m++;
        if (m === k) {
          this.recent[s0 >> 1] = slot;
          return this.strs[slot];
        }
      }
    }
    // A miss takes the way not used last.
    return this.#fill(u, w, o, k, x, this.recent[s0 >> 1] === s0 ? s0 + 1 : s0);
  }

  /** A miss: make the string of `k` words and masked last word `x`, and take the slot. */
  #fill(u: Uint8Array, w: Int32Array, o: number, k: number, x: number, slot: number): string {
    const n = this.n;
    let len = 4 * k;
    while (len < n && u[o + len] !== 0) len++;
    let high = 0;
    for (let j = 0; j < len; j++) high |= u[o + j];
    const s = high < 128 && (len > 16 || o + 16 <= u.length)
      ? ascii(u, o, len)
      : textDecoder.decode(u.subarray(o, o + len));
    const base = slot * this.nw;
    const i = o >>> 2;
    for (let m = 0; m < k; m++) this.keys[base + m] = w[i + m];
    this.keys[base + k] = x;
    this.counts[slot] = k + 1;
    this.strs[slot] = s;
    this.recent[slot >> 1] = slot;
    return s;
  }
}

/**
 * The JavaScript source of a function `name(u, w, o)` returning what `cache.get(u, w, o)`
 * returns, specialized to the cache's array length: the word count, the tail mask and
 * the table size are literals, and only the common case is written out (an aligned
 * field whose string sits in the first way of its set); anything else (the second way,
 * a miss, an empty string, an unaligned field) calls `cache.get`. Small enough for V8 to inline into a generated decoder, where a call of
 * the generic `get` was not (bench/NOTES.md).
 *
 * @param cache The field's cache.
 * @param cacheExpr An expression the generated code reaches the cache by.
 * @param name The function's name.
 * @returns A function declaration.
 * @example
 * ```ts
 * const comm = new StrCache(16);
 * const get = new Function("c", strCacheLookup(comm, "c", "get") + "return get;")(comm);
 * const bytes = new Uint8Array(16);
 * bytes.set(new TextEncoder().encode("bash"));
 * get(bytes, new Int32Array(bytes.buffer), 0); // "bash"
 * ```
 */
export function strCacheLookup(cache: StrCache, cacheExpr: string, name: string): string {
  const last = cache.nw - 1;
  const get = `${cacheExpr}.get(u, w, o)`;
  if (cache.mask < 0) return `function ${name}(u, w, o) { return ${get}; }`;
  const keys = `${name}Keys`;
  const strs = `${name}Strs`;
  // The same scan, mask, hash and slot as StrCache.get; the mask through the NUL byte is
  // its lowest flag (0x80 << 8j) shifted up one, minus one: -1 (all four) when j is 3 or
  // when there is no NUL. No word count is compared: the words before the NUL word
  // equal to a slot's and the NUL word equal to the slot's word k make the slot's
  // string this one (a longer string has no zero byte in word k; for a shorter one, its
  // own NUL word, which has one, is compared with one of ours, which has none). An
  // empty slot's keys are 0: only the empty string matches it, and its string is "".
  return `const ${keys} = ${cacheExpr}.keys, ${strs} = ${cacheExpr}.strs;
function ${name}(u, w, o) {
  const i = o >>> 2;
  if ((o & 3) !== 0 || i + ${last} >= w.length) return ${get};
  let k = 0;
  let x = w[i];
  let z = (x - 0x01010101) & ~x & 0x80808080;
  while (z === 0 && k < ${last}) {
    x = w[i + ++k];
    z = (x - 0x01010101) & ~x & 0x80808080;
  }${
    cache.tail === -1 ? "" : `
  if (k === ${last}) {
    x &= ${cache.tail};
    z = (x - 0x01010101) & ~x & 0x80808080;
  }`
  }
  x &= ((z & -z) << 1) - 1;
  let h = Math.imul(x ^ k, ${FNV});
  if (k > 0) h = Math.imul(h ^ w[i + k - 1], ${FNV});
  const slot = (h ^ (h >>> 15)) & ${cache.mask & ~1};
  const base = slot * ${cache.nw};
  if (${keys}[base + k] === x) {
    let m = 0;
    while (m < k && w[i + m] === ${keys}[base + m]) m++;
    if (m === k) return ${strs}[slot];
  }
  return ${get};
}`;
}
