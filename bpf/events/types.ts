/**
 * The shapes the event readers share: what they need of a map and its BTF, their options,
 * their counters and the raw callback.
 *
 * @module
 */

/** Counters every stream keeps. */
export interface StreamStats {
  /** Events delivered (discarded ring records are not counted). */
  events: number;
  /** Payload bytes delivered. */
  bytes: number;
}

/**
 * A zero-copy event callback: the record is `bytes[offset, offset + length)`. The view
 * aliases the kernel's buffer and is valid only until the callback returns.
 */
export type RawCallback = (bytes: Uint8Array, offset: number, length: number) => void;

/** The part of a BTF codec a stream needs (see bpf/btf). */
export interface EventCodec {
  /** The type's size in bytes. */
  readonly size: number;
  /** The C name of the type, e.g. `"struct data_t"`. */
  readonly typeName?: string;
  /** Decode one value at `offset`; returns plain JavaScript values (copies). */
  decode(bytes: Uint8Array, offset?: number): unknown;
  /**
   * Optional: an unchecked decoder over one buffer, `(offset) => value`, for hot loops
   * (the caller keeps `offset + size` within the buffer). Used when the codec has it.
   */
  bind?(bytes: Uint8Array): (offset: number) => unknown;
}

/** The part of an object's BTF a stream needs. */
export interface StreamBtf {
  /**
   * A codec for a type given by id or name (`"data_t"` or `"struct data_t"`), with 64-bit
   * ints as bigints or numbers.
   */
  codec(typeIdOrName: number | string, opts?: { u64?: "bigint" | "number" }): EventCodec;
}

/** The part of a BpfMap a stream needs; a BpfMap fits. */
export interface StreamMap {
  /** The map's name. */
  readonly name: string;
  /** The map type, e.g. `"ringbuf"`, `"perf_event_array"`. */
  readonly type: string;
  /** The map's fd (throws when the map is closed). */
  readonly fd: number;
  /** max_entries: the ring size, or the number of CPU slots. */
  readonly maxEntries: number;
  /** The BTF of the map's object, which resolves event type names. */
  readonly btf?: StreamBtf | undefined;
}

/** Options every stream takes. */
export interface StreamOptions {
  /**
   * The BTF type of an event (`"data_t"`, `"struct data_t"` or a type id), a codec, or
   * `"bytes"` for `Uint8Array` copies. When absent: the only struct named `event`,
   * `*_event` or `data_t` that a global variable points to, else the only one so named
   * in the object's BTF, else `Uint8Array` copies (see bpf/events/decoder.ts).
   */
  type?: string | number | EventCodec;
  /**
   * How the codec made from `type` (or guessed) decodes 64-bit ints: `"bigint"` (the
   * default, exact) or `"number"` (exact up to 2^53, and several times cheaper per event:
   * for timestamps, counters and sizes, not addresses). Ignored when `type` is a codec.
   */
  u64?: "bigint" | "number";
  /**
   * Most events one batch holds (default 128): bounds memory (events kept alive between
   * garbage collections make V8 grow its young generation) and keeps turns fair.
   */
  maxBatch?: number;
}

/** Options of the iteration forms. */
export interface IterateOptions {
  /** Stop the iteration (the stream stays open). */
  signal?: AbortSignal;
  /** Most events per batch (default: the stream's maxBatch). */
  maxBatch?: number;
}
