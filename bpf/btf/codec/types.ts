/**
 * Codecs: BTF types to and from JavaScript values, generated once per type. This module
 * holds what a codec is and what it needs; plan.ts, strings.ts, runtime.ts and
 * generator.ts make it.
 *
 * A codec is built from a plan of the type (offsets, sizes and kinds resolved from BTF)
 * into straight-line JavaScript with `new Function`: decoding a struct is one object
 * literal of DataView reads, with no per-field closures (bench/codec_bench.ts measures
 * it). `bind(bytes)` gives a decoder over one buffer whose views are made once (a ring
 * buffer's mapping), and `char[]` fields decode through a small cache of the strings
 * they made (StrCache, strings.ts): events repeat their comms and paths, and comparing a
 * few words costs much less than making a string. Encoding validates every value and
 * names the field path of the bad one.
 *
 * Value mapping (decode; encode accepts the same):
 * - ints up to 32 bits: number; 64- and 128-bit ints: bigint (encode also takes a safe
 *   integer number), or for 64-bit ones numbers with `{ u64: "number" }`
 *   ({@link CodecOptions}); the range is checked, so `-1` does not fit a `u32`
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

import type { BtfType } from "../types.ts";

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

/** How a codec represents values, where there is a choice. */
export interface CodecOptions {
  /**
   * 64-bit integers (and 8-byte enums) as `"bigint"` (the default: exact) or as
   * `"number"`: exact up to 2^53, rounded to the nearest double above, and several times
   * cheaper to make (no bigint per value). For counters, timestamps, sizes; not for
   * addresses, hashes or ids that use all 64 bits. Pointers stay bigint. Encoding takes
   * either form.
   */
  u64?: "bigint" | "number";
}

/**
 * Decodes and encodes one BTF type.
 *
 * @example
 * ```ts
 * const btf = Btf.fromElf(Deno.readFileSync("build/tests/btf_types.bpf.o"));
 * const c = btf.codec<{ a: bigint; b: number }>("struct padded");
 * const bytes = c.encode({ a: 1n, b: 2 }); // Uint8Array(16)
 * c.decode(bytes); // { a: 1n, b: 2 }
 * const batch = new Uint8Array(3 * c.size); // three values laid out back to back
 * c.decodeMany(batch, 3); // [{ a: 0n, b: 0 }, { a: 0n, b: 0 }, { a: 0n, b: 0 }]
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
