/**
 * BpfMap: typed access to a BPF map. Keys and values go through codecs built once from
 * the map's BTF types; raw `Uint8Array` keys and values are always accepted.
 *
 * @module
 */

import {
  ARRAY_MAP_TYPES,
  BATCH_MAP_TYPES,
  BPF_MAP_INFO,
  BPF_OBJ_NAME_LEN,
  BPF_UPDATE,
  ERRNO,
  PERCPU_MAP_TYPES,
} from "../../ffi/abi.ts";
import { BpfError } from "../../ffi/errors.ts";
import { check, errorFor, libbpf, typeName } from "../../ffi/libbpf.ts";
import { cstr, libc } from "../../ffi/libc.ts";
import { Btf } from "../btf/btf.ts";
import type { Codec } from "../btf/codec/types.ts";
import { type BatchShape, lookupBatches, nextKeyBatches, type RawBatch } from "./batches.ts";
import { pinPath } from "../system/mounts.ts";
import { missingKeyField } from "./complete_key.ts";

export type { RawBatch } from "./batches.ts";

/** What a map needs from whoever owns its fd. */
export interface MapOwner {
  /** The owning object, when the map belongs to one. */
  readonly object?: unknown;
  /** The BTF that describes the map's key and value types. */
  readonly btf?: Btf;
  /** Throw if the owner was closed. */
  assertOpen(op: string): void;
}

/** The static description of a map. */
export interface MapInfo {
  /** Map name. */
  name: string;
  /** `bpf_map_type` value. */
  typeId: number;
  /** Key size in bytes. */
  keySize: number;
  /** Value size in bytes (per CPU for per-CPU maps). */
  valueSize: number;
  /** Capacity. */
  maxEntries: number;
  /** BPF_F_* flags. */
  flags: number;
  /** BTF type id of the key (0: none). */
  btfKeyTypeId: number;
  /** BTF type id of the value (0: none). */
  btfValueTypeId: number;
  /** The type as libbpf names it, when the maker knows it (else libbpf is asked). */
  typeName?: string;
}

/** Update flags: any (create or replace), noexist (create only), exist (replace only). */
export type UpdateFlag = "any" | "noexist" | "exist" | number;

const UPDATE_FLAGS = {
  any: BPF_UPDATE.ANY,
  noexist: BPF_UPDATE.NOEXIST,
  exist: BPF_UPDATE.EXIST,
} as const;
const ENOENT = ERRNO.ENOENT;
let possibleCpusCache = 0;

/**
 * The number of possible CPUs: per-CPU maps hold one value for each.
 *
 * @returns libbpf's count.
 * @example
 * ```ts
 * possibleCpus(); // 2
 * ```
 */
export function possibleCpus(): number {
  possibleCpusCache ||= cpusInRanges(readPossibleCpus()) ||
    check(libbpf().libbpf_num_possible_cpus(), { op: "count CPUs" });
  return possibleCpusCache;
}

/** The kernel's list of possible CPUs (what libbpf reads too), or "" when unreadable. */
function readPossibleCpus(): string {
  try {
    return Deno.readTextFileSync("/sys/devices/system/cpu/possible");
  } catch {
    return "";
  }
}

/**
 * How many CPUs a kernel CPU list names (libbpf and the kernel count the CPUs in it; a
 * per-CPU value holds one slot for each).
 *
 * @param list E.g. `"0-3"`, `"0,2-5"`.
 * @returns The count, or 0 for a list that does not parse.
 * @example
 * ```ts
 * cpusInRanges("0-3\n"); // 4
 * ```
 */
export function cpusInRanges(list: string): number {
  let count = 0;
  for (const part of list.trim().split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) return 0;
    count += Number(m[2] ?? m[1]) - Number(m[1]) + 1;
  }
  return count;
}

/**
 * A BPF map of a loaded object (or opened from a pin).
 *
 * @example
 * ```ts
 * using obj = await BpfObject.open("build/tests/exec_count.bpf.o");
 * obj.load();
 * const counts = obj.map("exec_counts"); // u32 uid -> u64 execs
 * counts.set(1000, 5n);
 * for (const [uid, n] of counts.entries()) console.log(uid, n); // 1000 5n
 * ```
 */
export class BpfMap<K = unknown, V = unknown> {
  readonly #owner: MapOwner;
  readonly #fd: () => number;
  readonly #infoSource: MapInfo | (() => MapInfo);
  #infoCache?: MapInfo;
  #infoCreated = false;
  readonly #onClose?: () => void;
  #keyCodec?: Codec | null;
  #valueCodec?: Codec | null;

  /**
   * Wrap a map (used by BpfObject and BpfMap.fromPinned).
   *
   * @param owner Who owns the fd.
   * @param info The map's description, or a function reading it (libbpf may adjust sizes
   *   such as max_entries at load, so object maps read it again once created).
   * @param fd Returns the map fd (-1 when not created yet).
   * @param onClose Called by close() for standalone maps.
   */
  constructor(
    owner: MapOwner,
    info: MapInfo | (() => MapInfo),
    fd: () => number,
    onClose?: () => void,
  ) {
    this.#owner = owner;
    this.#infoSource = info;
    this.#fd = fd;
    this.#onClose = onClose;
  }

  get #info(): MapInfo {
    const src = this.#infoSource;
    if (typeof src !== "function") return src;
    if (this.#infoCache && this.#infoCreated) return this.#infoCache;
    this.#owner.assertOpen("map info");
    this.#infoCreated = this.#fd() >= 0;
    this.#infoCache = src();
    return this.#infoCache;
  }

  /** The map's name. */
  get name(): string {
    return this.#info.name;
  }
  /** The map type as libbpf names it: `"hash"`, `"array"`, `"ringbuf"`, … */
  get type(): string {
    return this.#info.typeName ?? typeName("map", this.#info.typeId);
  }
  /** The numeric `bpf_map_type`. */
  get typeId(): number {
    return this.#info.typeId;
  }
  /** Key size in bytes. */
  get keySize(): number {
    return this.#info.keySize;
  }
  /** Value size in bytes (of one CPU's value for per-CPU maps). */
  get valueSize(): number {
    return this.#info.valueSize;
  }
  /** Capacity. */
  get maxEntries(): number {
    return this.#info.maxEntries;
  }
  /** BPF_F_* flags. */
  get flags(): number {
    return this.#info.flags;
  }
  /** Whether values are per CPU (one per possible CPU). */
  get perCpu(): boolean {
    return PERCPU_MAP_TYPES.has(this.#info.typeId);
  }
  /** The object this map belongs to (undefined for a map opened from a pin). */
  get object(): unknown {
    return this.#owner.object;
  }
  /** The BTF describing the key and value types, when there is one. */
  get btf(): Btf | undefined {
    return this.#owner.btf;
  }
  /** The key type's C name, or `"u8[N]"` when the map has no BTF for it. */
  get keyType(): string {
    return this.#keys()?.typeName ?? `u8[${this.keySize}]`;
  }
  /**
   * The value type's C name; for the map of a data section (`.rodata`, `.bss`, …) the
   * section's name (its values are bytes: read variables through `obj.globals`); `"u8[N]"`
   * when the map has no BTF for it.
   */
  get valueType(): string {
    return this.#values()?.typeName ?? this.#section() ?? `u8[${this.valueSize}]`;
  }

  /** The section a data-section map holds, from its BTF value type. */
  #section(): string | undefined {
    const btf = this.#owner.btf;
    const id = this.#info.btfValueTypeId;
    if (!btf || !id) return undefined;
    const t = btf.typeById(id);
    return t.kind === "datasec" ? t.name : undefined;
  }
  /** The BTF type id of the key in {@link btf}, or 0 when the key has no usable BTF type. */
  get keyTypeId(): number {
    return this.#keys()?.typeId ?? 0;
  }
  /** The BTF type id of the value in {@link btf}, or 0 when the value has no usable type. */
  get valueTypeId(): number {
    return this.#values()?.typeId ?? 0;
  }

  /** The map fd; throws when the map does not exist yet or was closed. */
  get fd(): number {
    this.#owner.assertOpen(`map '${this.name}'`);
    const fd = this.#fd();
    if (fd < 0) {
      throw new BpfError({
        op: `map '${this.name}'`,
        message: "the map is not created yet",
        hint: "call load() first",
      });
    }
    return fd;
  }

  #keys(): Codec | undefined {
    if (this.#keyCodec === undefined) {
      this.#keyCodec = codecOf(this.#owner.btf, this.#info.btfKeyTypeId, this.keySize);
    }
    return this.#keyCodec ?? undefined;
  }

  #values(): Codec | undefined {
    if (this.#valueCodec === undefined) {
      this.#valueCodec = codecOf(this.#owner.btf, this.#info.btfValueTypeId, this.valueSize);
    }
    return this.#valueCodec ?? undefined;
  }

  /** Size of the value buffer the kernel reads or writes for one entry. */
  get #valueStride(): number {
    return this.perCpu ? round8(this.valueSize) : this.valueSize;
  }
  get #valueBytes(): number {
    return this.perCpu ? round8(this.valueSize) * possibleCpus() : this.valueSize;
  }

  /**
   * Encode a key into the map's key bytes.
   *
   * @param key A typed key (per the BTF type), a number/bigint for integer keys, or raw bytes.
   * @param op The operation, for errors.
   * @returns The key bytes.
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/exec_count.bpf.o");
   * obj.load();
   * const counts = obj.map("exec_counts"); // u32 uid -> u64 execs
   * counts.encodeKey(1000); // Uint8Array(4) [232, 3, 0, 0]
   * ```
   */
  encodeKey(key: K | Uint8Array, op = "encode key"): Uint8Array {
    const codec = this.#keys();
    const btf = this.#owner.btf;
    if (codec && btf && !(key instanceof Uint8Array)) {
      const gap = missingKeyField(btf, this.#info.btfKeyTypeId, key);
      if (gap !== undefined) {
        throw new BpfError({
          op: this.#op(op),
          message: `key ${show(key)} leaves out field '${gap}' of ${codec.typeName}`,
          hint: "a key names every field (0 where it is zero): a missing one would match 0",
        });
      }
    }
    return this.#encode(key, codec, this.keySize, "key", op);
  }

  /**
   * Encode a value (an array of one value per CPU for per-CPU maps, or one value for all).
   *
   * @param value A typed value, or raw bytes.
   * @param op The operation, for errors.
   * @returns The value bytes, as the kernel expects them.
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/exec_count.bpf.o");
   * obj.load();
   * const counts = obj.map("exec_counts"); // u32 uid -> u64 execs
   * counts.encodeValue(5n); // Uint8Array(8) [5, 0, 0, 0, 0, 0, 0, 0]
   * ```
   */
  encodeValue(value: V | V[] | Uint8Array, op = "encode value"): Uint8Array {
    if (value instanceof Uint8Array && value.length === this.#valueBytes) return value;
    if (!this.perCpu) return this.#encode(value, this.#values(), this.valueSize, "value", op);
    const ncpu = possibleCpus();
    const stride = this.#valueStride;
    const out = new Uint8Array(stride * ncpu);
    const valueIsArray = this.btf && this.#info.btfValueTypeId
      ? this.btf.typeById(this.btf.resolve(this.#info.btfValueTypeId)).kind === "array"
      : false;
    // An array is one value per CPU, unless the value type is itself an array.
    const perCpu = Array.isArray(value) && (!valueIsArray || Array.isArray(value[0]))
      ? value
      : undefined;
    if (perCpu && perCpu.length !== ncpu) {
      throw new BpfError({
        op: this.#op(op),
        message: `per-CPU value has ${perCpu.length} entries, the map needs ${ncpu} ` +
          "(one per possible CPU) or a single value for all",
      });
    }
    for (let cpu = 0; cpu < ncpu; cpu++) {
      const one = perCpu ? perCpu[cpu] : value;
      out.set(this.#encode(one, this.#values(), this.valueSize, "value", op), cpu * stride);
    }
    return out;
  }

  #op(op: string): string {
    return `${op} '${this.name}'`;
  }

  #encode(
    v: unknown,
    codec: Codec | undefined,
    size: number,
    what: "key" | "value",
    op: string,
  ): Uint8Array {
    if (v instanceof Uint8Array) {
      if (v.length !== size) {
        throw new BpfError({
          op: this.#op(op),
          message: `${what} has ${v.length} bytes, the map's ${what} is ${size} bytes`,
        });
      }
      return v;
    }
    if (codec) {
      try {
        return codec.encode(v, new Uint8Array(size), 0);
      } catch (e) {
        const why = e instanceof Error ? e.message.replace(/^encode: /, "") : String(e);
        throw new BpfError({
          op: this.#op(op),
          message: `${what} ${show(v)} does not fit ${codec.typeName}: ${why}`,
          cause: e,
        });
      }
    }
    // No BTF: integers of the right width are still unambiguous.
    if ((typeof v === "number" || typeof v === "bigint") && [1, 2, 4, 8].includes(size)) {
      return encodeInt(v, size);
    }
    throw new BpfError({
      op: this.#op(op),
      message: `${what} ${show(v)} cannot be encoded: the map has no BTF type for its ${what}`,
      hint: `pass a Uint8Array of ${size} bytes`,
    });
  }

  #decodeKey(bytes: Uint8Array, offset: number): K {
    const codec = this.#keys();
    return (codec ? codec.decode(bytes, offset) : bytes.slice(offset, offset + this.keySize)) as K;
  }

  #decodeValue(bytes: Uint8Array, offset: number): V {
    const codec = this.#values();
    if (!this.perCpu) {
      return (codec
        ? codec.decode(bytes, offset)
        : bytes.slice(offset, offset + this.valueSize)) as V;
    }
    const out: unknown[] = [];
    const stride = this.#valueStride;
    for (let cpu = 0; cpu < possibleCpus(); cpu++) {
      const at = offset + cpu * stride;
      out.push(codec ? codec.decode(bytes, at) : bytes.slice(at, at + this.valueSize));
    }
    return out as V;
  }

  /**
   * Look a key up.
   *
   * @param key The key (typed or raw bytes).
   * @returns The decoded value (an array per CPU for per-CPU maps), or undefined if absent.
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/exec_count.bpf.o");
   * obj.load();
   * const counts = obj.map("exec_counts"); // u32 uid -> u64 execs
   * counts.set(1000, 5n);
   * counts.get(1000); // 5n
   * counts.get(1001); // undefined
   * ```
   */
  get(key: K | Uint8Array): V | undefined {
    const bytes = this.getBytes(key);
    return bytes && this.#decodeValue(bytes, 0);
  }

  /**
   * Look a key up and return the raw value bytes.
   *
   * @param key The key.
   * @returns The value bytes, or undefined if absent.
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/exec_count.bpf.o");
   * obj.load();
   * const counts = obj.map("exec_counts"); // u32 uid -> u64 execs
   * counts.set(0, 9n);
   * counts.getBytes(new Uint8Array(4)); // Uint8Array(8) [9, 0, 0, 0, 0, 0, 0, 0]: uid 0
   * ```
   */
  getBytes(key: K | Uint8Array): Uint8Array | undefined {
    const k = this.encodeKey(key, "map get");
    const out = new Uint8Array(this.#valueBytes);
    const ret = libbpf().bpf_map_lookup_elem_flags(this.fd, k, out, 0n);
    if (ret === -ENOENT) return undefined;
    check(ret, { op: this.#op("map get") });
    return out;
  }

  /**
   * Create or replace an entry.
   *
   * @param key The key.
   * @param value The value; for per-CPU maps an array of one per CPU, or one for all CPUs.
   * @param flags `"any"` (default), `"noexist"` or `"exist"`.
   * @returns This map, for chaining.
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/exec_count.bpf.o");
   * obj.load();
   * const counts = obj.map("exec_counts"); // u32 uid -> u64 execs
   * counts.set(1000, 5n);
   * counts.set(1000, 6n, "exist"); // only if present
   * try {
   *   counts.set(1000, 7n, "noexist");
   * } catch (e) {
   *   console.log((e as BpfError).message); // the key exists already
   * }
   * ```
   */
  set(key: K | Uint8Array, value: V | V[] | Uint8Array, flags: UpdateFlag = "any"): this {
    const k = this.encodeKey(key, "map set");
    const v = this.encodeValue(value, "map set");
    const f = typeof flags === "number" ? BigInt(flags) : UPDATE_FLAGS[flags];
    if (f === undefined) {
      throw new BpfError({
        op: this.#op("map set"),
        message: `unknown flag '${flags}'`,
        hint: "use any, noexist or exist",
      });
    }
    const ret = libbpf().bpf_map_update_elem(this.fd, k, v, f);
    if (ret < 0) {
      throw errorFor(-ret, {
        op: this.#op("map set"),
        message: `key ${show(key)}`,
        hint: -ret === ERRNO.EEXIST
          ? "the key exists (flag noexist)"
          : -ret === ENOENT && f === BPF_UPDATE.EXIST
          ? "the key does not exist (flag exist)"
          : -ret === ERRNO.E2BIG || -ret === ERRNO.ENOSPC
          ? (/array/.test(this.type) && -ret === ERRNO.E2BIG
            ? `the index is past the array's end (max_entries ${this.maxEntries})`
            : `the map is full (max_entries ${this.maxEntries})`)
          : undefined,
      });
    }
    return this;
  }

  /**
   * Delete an entry.
   *
   * @param key The key.
   * @returns True if it existed.
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/exec_count.bpf.o");
   * obj.load();
   * const counts = obj.map("exec_counts"); // u32 uid -> u64 execs
   * counts.set(1000, 5n);
   * counts.delete(1000); // true
   * counts.delete(1000); // false: gone already
   * ```
   */
  delete(key: K | Uint8Array): boolean {
    const k = this.encodeKey(key, "map delete");
    const ret = libbpf().bpf_map_delete_elem(this.fd, k);
    if (ret === -ENOENT) return false;
    check(ret, {
      op: this.#op("map delete"),
      hint: ret === -ERRNO.EINVAL && ARRAY_MAP_TYPES.has(this.typeId)
        ? "array entries cannot be deleted: set them to zero"
        : undefined,
    });
    return true;
  }

  /**
   * Whether a key is present.
   *
   * @param key The key.
   * @returns True if a lookup finds it.
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/exec_count.bpf.o");
   * obj.load();
   * const counts = obj.map("exec_counts"); // u32 uid -> u64 execs
   * counts.has(1000); // false
   * counts.set(1000, 5n).has(1000); // true
   * ```
   */
  has(key: K | Uint8Array): boolean {
    return this.getBytes(key) !== undefined;
  }

  /**
   * Iterate over the raw entries, in batches where the kernel supports it.
   *
   * @param batchSize Entries per kernel call.
   * @yields Batches: `{ keys, values, count }` with `count` entries packed back to back
   *   (values of per-CPU maps are `possibleCpus()` 8-byte-aligned slots each).
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/exec_count.bpf.o");
   * obj.load();
   * const counts = obj.map("exec_counts"); // u32 uid -> u64 execs
   * counts.set(1, 1n).set(2, 2n);
   * for (const b of counts.rawBatches()) console.log(b.count, b.keys.length); // 2 8
   * ```
   */
  *rawBatches(batchSize = 0): Generator<RawBatch> {
    const shape: BatchShape = {
      fd: this.fd,
      keySize: this.keySize,
      valueBytes: this.#valueBytes,
      batch: batchSize || Math.max(1, Math.min(this.maxEntries, 8192)),
      op: this.#op("map iterate"),
    };
    if (BATCH_MAP_TYPES.has(this.typeId) && (yield* lookupBatches(shape))) return;
    yield* nextKeyBatches(shape);
  }

  /**
   * Iterate over decoded `[key, value]` pairs (batched when the kernel supports it).
   *
   * @yields Each entry.
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/exec_count.bpf.o");
   * obj.load();
   * const counts = obj.map("exec_counts"); // u32 uid -> u64 execs
   * counts.set(1000, 5n);
   * for (const [uid, n] of counts.entries()) console.log(uid, n); // 1000 5n
   * ```
   */
  *entries(): Generator<[K, V]> {
    for (const b of this.rawBatches()) {
      const { key, value } = this.#decoders(b);
      for (let i = 0; i < b.count; i++) yield [key(i), value(i)];
    }
  }

  /** Decoders of the i-th key and value of a batch, with views built once per batch. */
  #decoders(b: RawBatch): { key: (i: number) => K; value: (i: number) => V } {
    const ks = this.keySize;
    const vs = this.#valueBytes;
    const kc = this.#keys();
    const vc = this.perCpu ? undefined : this.#values();
    const k = kc?.bind(b.keys);
    const v = vc?.bind(b.values);
    return {
      key: k ? (i) => k(i * ks) as K : (i) => this.#decodeKey(b.keys, i * ks),
      value: v ? (i) => v(i * vs) as V : (i) => this.#decodeValue(b.values, i * vs),
    };
  }

  /**
   * All entries decoded into an array, the fast way (no generator per entry).
   *
   * @returns `[key, value]` pairs.
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/exec_count.bpf.o");
   * obj.load();
   * const counts = obj.map("exec_counts"); // u32 uid -> u64 execs
   * counts.set(1000, 5n);
   * counts.toArray(); // [[1000, 5n]]
   * ```
   */
  toArray(): [K, V][] {
    const out: [K, V][] = [];
    for (const b of this.rawBatches()) {
      const { key, value } = this.#decoders(b);
      for (let i = 0; i < b.count; i++) out.push([key(i), value(i)]);
    }
    return out;
  }

  /**
   * Iterate over decoded keys.
   *
   * @yields Each key.
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/exec_count.bpf.o");
   * obj.load();
   * const counts = obj.map("exec_counts"); // u32 uid -> u64 execs
   * counts.set(1000, 5n);
   * [...counts.keys()]; // [1000]
   * ```
   */
  *keys(): Generator<K> {
    for (const [k] of this.entries()) yield k;
  }

  /**
   * Iterate over decoded values.
   *
   * @yields Each value.
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/exec_count.bpf.o");
   * obj.load();
   * const counts = obj.map("exec_counts"); // u32 uid -> u64 execs
   * counts.set(1000, 5n);
   * [...counts.values()]; // [5n]
   * ```
   */
  *values(): Generator<V> {
    for (const [, v] of this.entries()) yield v;
  }

  /** Same as entries(). */
  [Symbol.iterator](): Generator<[K, V]> {
    return this.entries();
  }

  /**
   * Count the entries (for arrays: max_entries, every slot exists).
   *
   * @returns The number of entries.
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/exec_count.bpf.o");
   * obj.load();
   * const counts = obj.map("exec_counts"); // u32 uid -> u64 execs
   * counts.set(1, 1n).set(2, 2n);
   * counts.count(); // 2
   * ```
   */
  count(): number {
    let n = 0;
    for (const b of this.rawBatches()) n += b.count;
    return n;
  }

  /**
   * Remove every entry (arrays: set every slot to zero).
   *
   * @returns How many entries were removed or zeroed.
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/exec_count.bpf.o");
   * obj.load();
   * const counts = obj.map("exec_counts"); // u32 uid -> u64 execs
   * counts.set(1, 1n).set(2, 2n);
   * counts.clear(); // 2
   * counts.count(); // 0
   * ```
   */
  clear(): number {
    const ks = this.keySize;
    const keys: Uint8Array[] = [];
    for (const b of this.rawBatches()) {
      for (let i = 0; i < b.count; i++) keys.push(b.keys.slice(i * ks, (i + 1) * ks));
    }
    const zero = new Uint8Array(this.#valueBytes);
    const sym = libbpf();
    for (const k of keys) {
      if (ARRAY_MAP_TYPES.has(this.typeId)) {
        check(sym.bpf_map_update_elem(this.fd, k, zero, 0n), { op: this.#op("map clear") });
      } else {
        const ret = sym.bpf_map_delete_elem(this.fd, k);
        if (ret !== -ENOENT) check(ret, { op: this.#op("map clear") });
      }
    }
    return keys.length;
  }

  /**
   * Pin the map to bpffs.
   *
   * @param path A path under /sys/fs/bpf (mounted when needed).
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/exec_count.bpf.o");
   * obj.load();
   * const counts = obj.map("exec_counts"); // u32 uid -> u64 execs
   * counts.pin("/sys/fs/bpf/bpfsh_doc_counts"); // stays after the process ends
   * using again = BpfMap.fromPinned("/sys/fs/bpf/bpfsh_doc_counts");
   * Deno.removeSync("/sys/fs/bpf/bpfsh_doc_counts"); // unpin
   * ```
   */
  pin(path: string): void {
    const op = `pin map '${this.name}' at '${path}'`;
    check(libbpf().bpf_obj_pin(this.fd, cstr(pinPath(path))), { op });
  }

  /**
   * Open a map pinned in bpffs, typed by its BTF when the kernel has it.
   *
   * @param path The pin path.
   * @returns A standalone map; close() releases its fd.
   * @example
   * ```ts
   * // Pinned by another process, e.g. `bpftool map pin` or BpfMap.pin():
   * using obj = await BpfObject.open("build/tests/exec_count.bpf.o");
   * obj.load();
   * obj.map("exec_counts").set(1000, 5n).pin("/sys/fs/bpf/bpfsh_doc_pinned");
   *
   * using counts = BpfMap.fromPinned("/sys/fs/bpf/bpfsh_doc_pinned"); // typed by its BTF
   * counts.get(1000); // 5n
   * Deno.removeSync("/sys/fs/bpf/bpfsh_doc_pinned");
   * ```
   */
  static fromPinned<K = unknown, V = unknown>(path: string): BpfMap<K, V> {
    pinPath(path);
    const op = `open pinned map '${path}'`;
    const fd = check(libbpf().bpf_obj_get(cstr(path)), { op });
    try {
      const { info, btfId } = mapInfoByFd(fd, op);
      const btf = btfId ? loadKernelBtfById(btfId) : undefined;
      let open = true;
      const owner: MapOwner = {
        btf,
        assertOpen(what: string) {
          if (!open) throw new BpfError({ op: what, message: `map '${path}' was closed` });
        },
      };
      return new BpfMap<K, V>(owner, info, () => (open ? fd : -1), () => {
        if (open) libc().close(fd);
        open = false;
      });
    } catch (e) {
      libc().close(fd);
      throw e;
    }
  }

  /** Close a map opened from a pin (maps of an object close with the object). */
  close(): void {
    this.#onClose?.();
  }

  /** Same as close(), for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** A description for listings. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      type: this.type,
      keySize: this.keySize,
      valueSize: this.valueSize,
      maxEntries: this.maxEntries,
      keyType: this.keyType,
      valueType: this.valueType,
    };
  }
}

function round8(n: number): number {
  return (n + 7) & ~7;
}

function codecOf(btf: Btf | undefined, id: number, size: number): Codec | null {
  if (!btf || !id) return null;
  // A data section has no codec of its own (one per variable): its values stay bytes.
  if (btf.typeById(id).kind === "datasec") return null;
  const codec = btf.codec(id);
  // A codec whose size disagrees with the map would corrupt memory: fall back to bytes.
  return codec.size === size ? codec : null;
}

function encodeInt(v: number | bigint, size: number): Uint8Array {
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  const big = BigInt(v);
  if (size === 8) dv.setBigUint64(0, BigInt.asUintN(64, big), true);
  else if (size === 4) dv.setUint32(0, Number(BigInt.asUintN(32, big)), true);
  else if (size === 2) dv.setUint16(0, Number(BigInt.asUintN(16, big)), true);
  else dv.setUint8(0, Number(BigInt.asUintN(8, big)));
  return out;
}

/**
 * Show a value in an error message: short and never a raw pointer.
 *
 * @param v Any value.
 * @returns A compact rendering.
 * @example
 * ```ts
 * show({ a: 1 }); // '{"a":1}'
 * ```
 */
export function show(v: unknown): string {
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "string") return JSON.stringify(v);
  if (v instanceof Uint8Array) return `<${v.length} bytes>`;
  try {
    const s = JSON.stringify(v, (_k, x) => typeof x === "bigint" ? `${x}n` : x);
    return s === undefined ? String(v) : s.length > 80 ? s.slice(0, 77) + "..." : s;
  } catch {
    return String(v);
  }
}

/**
 * Read a map's description from the kernel (struct bpf_map_info).
 *
 * @param fd A map fd.
 * @param op The operation, for errors.
 * @returns The info and the map's BTF object id (0 when none).
 * @example
 * ```ts
 * const { info } = mapInfoByFd(fd, "inspect");
 * ```
 */
export function mapInfoByFd(fd: number, op: string): { info: MapInfo; btfId: number } {
  const I = BPF_MAP_INFO;
  const buf = I.alloc();
  const len = new Uint32Array([buf.length]);
  check(libbpf().bpf_obj_get_info_by_fd(fd, buf, len), { op });
  const at = I.offsetOf("name");
  const nameBytes = buf.subarray(at, at + BPF_OBJ_NAME_LEN);
  const nul = nameBytes.indexOf(0);
  const u32 = (f: Parameters<typeof I.get>[1]) => Number(I.get(buf, f));
  return {
    info: {
      typeId: u32("type"),
      keySize: u32("key_size"),
      valueSize: u32("value_size"),
      maxEntries: u32("max_entries"),
      flags: u32("map_flags"),
      name: new TextDecoder().decode(nameBytes.subarray(0, nul < 0 ? BPF_OBJ_NAME_LEN : nul)),
      btfKeyTypeId: u32("btf_key_type_id"),
      btfValueTypeId: u32("btf_value_type_id"),
    },
    btfId: u32("btf_id"),
  };
}

function loadKernelBtfById(id: number): Btf | undefined {
  const sym = libbpf();
  const ptr = sym.btf__load_from_kernel_by_id(id);
  if (!ptr) return undefined;
  try {
    const size = new Uint32Array(1);
    const raw = sym.btf__raw_data(ptr, size);
    if (!raw) return undefined;
    const bytes = new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(raw, size[0])).slice();
    return Btf.parse(bytes);
  } catch {
    return undefined;
  } finally {
    sym.btf__free(ptr);
  }
}
