/**
 * Strings of `char[n]` fields: ASCII made with one `String.fromCharCode` call, UTF-8
 * through TextDecoder, and a cache per field of the strings it made, keyed by their bytes
 * ({@link StrCache}), with straight-line matchers the generated decoders call.
 *
 * @module
 */

const textDecoder = new TextDecoder();

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
export function strMatcher(name: string, c: string, n: number): string {
  const nw = (n + 3) >> 2;
  return `function ${name}(u, w, o) {
  const c = ${c}, i = o >>> 2;
  if ((o & 3) === 0 && i + ${nw} <= w.length && c.match(w, i, c.lastWords, c.lastMask)) return c.lastStr;
  return c.get(u, w, o);
}`;
}
