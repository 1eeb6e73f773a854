/**
 * Event decoding: which BTF struct a buffer carries (given, or guessed from the object's
 * BTF by name), and the decoders a reader's hot loop calls with two numbers, bound to one
 * buffer (a mapping, or a scratch copy of a record that wrapped).
 *
 * @module
 */

import { BpfError } from "../../ffi/errors.ts";
import type { EventCodec, StreamBtf, StreamMap } from "./types.ts";

/**
 * Turns the records of the buffer it was made for into the values a stream yields. Bound
 * to one buffer, so the hot loop passes two numbers: `decode(offset, length)` for records
 * of at least `min` bytes (unchecked, the fast path), `pad(offset, length)` for shorter
 * ones (decoded from a zero-padded copy, never past their end).
 */
export interface Decoder<T> {
  /** The shortest record `decode` takes. */
  readonly min: number;
  /** Decode the record at `[offset, offset + length)`, `length >= min`. */
  readonly decode: (offset: number, length: number) => T;
  /** Decode a record shorter than `min`. */
  readonly pad: (offset: number, length: number) => T;
}

/** Makes the {@link Decoder} of a stream for one buffer (a mapping or a scratch copy). */
export type DecoderFactory<T> = (bytes: Uint8Array) => Decoder<T>;

/** Names that mark a struct as an event: `event`, `*_event`, `data_t`. */
const EVENT_NAME = /^(event|.*_event|data_t)$/;

/**
 * Guess the struct a BPF program sends through a buffer, by name: the only one named
 * `event`, `*_event` or `data_t`. Ring buffers and perf event arrays carry no value type
 * in BTF, so a name is all there is to go on.
 *
 * @param names Struct names, best candidates first (see {@link eventDecoder}).
 * @returns The struct name, or undefined when there is none or more than one.
 * @example
 * ```ts
 * guessEventType(["data_t", "fill_ctx"]); // "data_t"
 * guessEventType(["data_t", "exec_event"]); // undefined: ambiguous
 * ```
 */
export function guessEventType(names: Iterable<string>): string | undefined {
  const found = new Set<string>();
  for (const n of names) if (EVENT_NAME.test(n)) found.add(n);
  return found.size === 1 ? [...found][0] : undefined;
}

/** What a BTF object offers to list its types (bpf/btf's Btf has all of it). */
interface ListableBtf extends StreamBtf {
  readonly count?: number;
  readonly startId?: number;
  kind?(id: number): string;
  typeById?(id: number): { name: string; kind: string; type?: number };
  resolve?(id: number): number;
}

/**
 * The struct names an object's BTF offers as events, in two tiers: structs a global
 * variable points to (the `struct data_t *unused __attribute__((unused))` idiom that puts
 * an event type into BTF), then every struct (which includes kernel structs that CO-RE
 * reads pulled in, such as `perf_event`).
 */
function structTiers(btf: ListableBtf): [string[], string[]] {
  const { count, kind, typeById, resolve } = btf;
  if (count === undefined || !kind || !typeById || !resolve) return [[], []];
  const get = typeById.bind(btf);
  const strip = resolve.bind(btf);
  const pointed: string[] = [];
  const all: string[] = [];
  for (let id = btf.startId ?? 1; id < count; id++) {
    const k = kind.call(btf, id);
    if (k === "struct") {
      const name = get(id).name;
      if (name) all.push(name);
    } else if (k === "var") {
      let t = get(strip(get(id).type ?? 0));
      if (t.kind === "ptr") t = get(strip(t.type ?? 0));
      if (t.kind === "struct" && t.name) pointed.push(t.name);
    }
  }
  return [pointed, all];
}

/**
 * Pick the decoder of a stream: the codec of `type` when given, else the guessed event
 * struct of the object, else copies of the raw bytes.
 *
 * @param map The buffer's map (its object's BTF resolves names).
 * @param type A type name or id, a codec, `"bytes"` for Uint8Array copies, or undefined
 *   to guess.
 * @param what The stream kind, for error messages.
 * @param u64 How 64-bit ints decode: bigint (default) or number.
 * @returns A factory of decoders per buffer, and the C name of what they decode
 *   (`"bytes"` for raw copies).
 * @example
 * ```ts
 * const { decoderFor, typeName } = eventDecoder(map, "data_t", "ring buffer");
 * const { min, decode, pad } = decoderFor(mappingBytes);
 * const ev = length >= min ? decode(offset, length) : pad(offset, length);
 * ```
 */
export function eventDecoder(
  map: StreamMap,
  type: string | number | EventCodec | undefined,
  what: string,
  u64: "bigint" | "number" = "bigint",
): { decoderFor: DecoderFactory<unknown>; typeName: string } {
  if (u64 !== "bigint" && u64 !== "number") {
    throw new BpfError({
      op: `${what} open`,
      message: `u64 must be "bigint" or "number", not ${JSON.stringify(u64)}`,
    });
  }
  const opts = { u64 };
  if (type === "bytes") return { decoderFor: bytesDecoder, typeName: "bytes" };
  let codec: EventCodec | undefined;
  if (typeof type === "object") codec = type;
  else {
    const btf = map.btf as ListableBtf | undefined;
    if (type !== undefined) {
      if (!btf) {
        throw new BpfError({
          op: `${what} open`,
          message: `cannot decode events of map '${map.name}' as '${type}': the object has no BTF`,
          hint: "compile the BPF program with -g, or omit type to receive Uint8Array events",
        });
      }
      codec = btf.codec(type, opts);
    } else if (btf) {
      const [pointed, all] = structTiers(btf);
      const guess = guessEventType(pointed) ?? guessEventType(all);
      if (guess) codec = btf.codec(`struct ${guess}`, opts);
    }
  }
  if (!codec) return { decoderFor: bytesDecoder, typeName: "bytes" };
  return { decoderFor: codecDecoder(codec), typeName: codec.typeName ?? "struct" };
}

/** Copies of the bytes, whatever their length. */
function bytesDecoder(bytes: Uint8Array): Decoder<Uint8Array> {
  const copy = byteCopier(bytes);
  return { min: 0, decode: copy, pad: copy };
}

/** Records shorter than the type are decoded from a zero-padded copy, never past their end. */
function codecDecoder(codec: EventCodec): DecoderFactory<unknown> {
  const size = codec.size;
  return (bytes) => {
    const pad = (offset: number, length: number) => {
      const padded = new Uint8Array(size);
      padded.set(bytes.subarray(offset, offset + length));
      return codec.decode(padded, 0);
    };
    // The codec's bound decoder is called directly by the hot loop (its extra length
    // argument is ignored): no wrapper in between.
    const decode = typeof codec.bind === "function"
      ? codec.bind(bytes)
      : (offset: number) => codec.decode(bytes, offset);
    return { min: size, decode, pad };
  };
}

/** Bytes per shared chunk of copies: small, so a kept event keeps little else alive. */
const CHUNK_SIZE = 16384;
/** Records larger than this get a buffer of their own. */
const CHUNK_MAX_RECORD = 512;

/**
 * The decoder of untyped streams: copies (so an event outlives its ring slot). Small
 * records are copied into views of a shared 16 KiB chunk, because allocating an
 * ArrayBuffer per event costs far more than the copy (bench/NOTES.md); 4-aligned ones (ring and perf
 * buffer records are) a word at a time.
 *
 * @param bytes The buffer records are read from.
 * @returns A decoder returning a fresh `Uint8Array` per record.
 * @example
 * ```ts
 * const copy = byteCopier(mapping);
 * const ev = copy(offset, length); // Uint8Array of `length` bytes
 * ```
 */
export function byteCopier(bytes: Uint8Array): (offset: number, length: number) => Uint8Array {
  const src32 = (bytes.byteOffset & 3) === 0
    ? new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length >> 2)
    : undefined;
  let chunk = new Uint8Array(CHUNK_SIZE);
  let chunk32 = new Int32Array(chunk.buffer);
  let at = 0;
  return (offset, length) => {
    if (length > CHUNK_MAX_RECORD) return bytes.slice(offset, offset + length);
    if (at + length > CHUNK_SIZE) {
      chunk = new Uint8Array(CHUNK_SIZE);
      chunk32 = new Int32Array(chunk.buffer);
      at = 0;
    }
    const start = at;
    let i = 0;
    if (src32 && (offset & 3) === 0) {
      const from = offset >> 2;
      const to = start >> 2;
      const words = length >> 2;
      for (; i < words; i++) chunk32[to + i] = src32[from + i];
      i = words << 2;
    }
    for (; i < length; i++) chunk[start + i] = bytes[offset + i];
    at = (start + length + 7) & ~7;
    return chunk.subarray(start, start + length);
  };
}
