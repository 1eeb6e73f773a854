/**
 * Reading a probe program's maps: raw BPF entries decoded with their {@link MapSpec},
 * per-CPU values reduced, hist/lhist buckets gathered per key, then sorted as bpftrace
 * sorts them. The result ({@link MapSnapshot}) is what the formatters print and what
 * JavaScript and exporters consume.
 *
 * @module
 */

import { HIST_BUCKETS, lhistBuckets, type MapValue, reduce } from "./aggregations.ts";
import type { KeySpec, MapSpec } from "./spec.ts";
import { kindDef, type PrintContext, type Ty } from "./types.ts";

/** One decoded key part. */
export type KeyPart = bigint | string | unknown;

/** One entry of a map. */
export interface MapEntry {
  /** The key parts, in order (integers as bigint, strings as string). */
  keys: KeyPart[];
  /** The key parts as bpftrace prints them. */
  keyText: string[];
  /** The value, reduced across CPUs (hist/lhist: all buckets of this key). */
  value: MapValue;
}

/** A map's contents at one moment. */
export interface MapSnapshot {
  /** What the map is: its name, keys and value layout. */
  spec: MapSpec;
  /** Sorted as bpftrace prints them. */
  entries: MapEntry[];
}

/** Where raw entries come from (a BpfMap fits). */
export interface RawSource {
  rawBatches(): Iterable<{ keys: Uint8Array; values: Uint8Array; count: number }>;
}

const decoder = new TextDecoder();

/**
 * Decode a stored value of a type.
 *
 * @param ty The type.
 * @param view The bytes.
 * @param offset Where the value starts.
 * @param ctx Names for special kinds.
 * @param inKey Whether it is part of a map key (stacks print indented less there).
 * @returns The JavaScript value and bpftrace's text for it.
 * @example
 * ```ts
 * decodeStored({ k: "str", size: 16 }, view, 0, ctx); // { value: "bash", text: "bash" }
 * ```
 */
export function decodeStored(
  ty: Ty,
  view: DataView,
  offset: number,
  ctx: PrintContext,
  inKey = false,
): { value: KeyPart; text: string } {
  switch (ty.k) {
    case "int": {
      const v = ty.signed ? view.getBigInt64(offset, true) : view.getBigUint64(offset, true);
      return { value: v, text: v.toString() };
    }
    case "ptr": {
      const v = view.getBigUint64(offset, true);
      return { value: v, text: v.toString() };
    }
    case "str": {
      const bytes = new Uint8Array(view.buffer, view.byteOffset + offset, ty.size);
      let end = bytes.indexOf(0);
      if (end < 0) end = bytes.length;
      const s = decoder.decode(bytes.subarray(0, end));
      return { value: s, text: s };
    }
    case "special": {
      const kind = kindDef(ty.kind);
      const text = inKey && kind.keyText
        ? kind.keyText(view, offset, ctx)
        : kind.text(view, offset, ctx);
      return { value: kind.value ? kind.value(view, offset, ctx) : text, text };
    }
    default:
      return { value: undefined, text: "" };
  }
}

/**
 * Read a map into a snapshot.
 *
 * @param spec Its layout.
 * @param source Its raw entries (the BpfMap).
 * @param ctx Names for special kinds.
 * @param cpus Possible CPUs (per-CPU value slots).
 * @returns The entries, sorted as bpftrace sorts them.
 * @example
 * ```ts
 * const snap = readMap(spec, obj.map(spec.bpfName), ctx, possibleCpus());
 * ```
 */
export function readMap(
  spec: MapSpec,
  source: RawSource,
  ctx: PrintContext,
  cpus: number,
): MapSnapshot {
  const entries: MapEntry[] = [];
  const byKey = new Map<string, MapEntry>();
  const stride = spec.perCpu ? (spec.valueSize + 7) & ~7 : 0;
  const valueBytes = spec.perCpu ? stride * cpus : spec.valueSize;
  const bucketed = spec.bucketOffset !== undefined;
  const nBuckets = spec.kind === "hist" ? HIST_BUCKETS : spec.lhist ? lhistBuckets(spec.lhist) : 0;
  for (const b of source.rawBatches()) {
    const kv = new DataView(b.keys.buffer, b.keys.byteOffset, b.keys.byteLength);
    const vv = new DataView(b.values.buffer, b.values.byteOffset, b.values.byteLength);
    for (let i = 0; i < b.count; i++) {
      const kOff = i * spec.keySize;
      const vOff = i * valueBytes;
      if (bucketed) {
        const prefix = hex(b.keys, kOff, spec.bucketOffset!);
        let e = byKey.get(prefix);
        if (!e) {
          e = {
            ...decodeKeys(spec.keys, kv, kOff, ctx),
            value: { kind: spec.kind as "hist", buckets: new Array(nBuckets).fill(0n) },
          };
          byKey.set(prefix, e);
          entries.push(e);
        }
        const bucket = Number(kv.getBigUint64(kOff + spec.bucketOffset!, true));
        const r = reduce(spec.kind, false, vv, vOff, stride, cpus) as { value: bigint };
        const buckets = (e.value as { buckets: bigint[] }).buckets;
        if (bucket < buckets.length) buckets[bucket] += r.value;
        continue;
      }
      const keys = decodeKeys(spec.keys, kv, kOff, ctx);
      let value: MapValue;
      if (spec.kind === "value") {
        const d = decodeStored(spec.value, vv, vOff, ctx);
        value = spec.value.k === "special"
          ? { kind: "value", value: d.value, text: d.text }
          : { kind: "value", value: d.value };
      } else {
        value = reduce(spec.kind, spec.signed, vv, vOff, stride, cpus);
      }
      entries.push({ ...keys, value });
    }
  }
  sortEntries(spec, entries);
  return { spec, entries };
}

function decodeKeys(keys: KeySpec[], view: DataView, offset: number, ctx: PrintContext) {
  const parts: KeyPart[] = [];
  const text: string[] = [];
  for (const k of keys) {
    const d = decodeStored(k.ty, view, offset + k.offset, ctx, true);
    parts.push(d.value);
    text.push(d.text);
  }
  return { keys: parts, keyText: text };
}

function hex(bytes: Uint8Array, from: number, len: number): string {
  let s = "";
  for (let i = from; i < from + len; i++) s += bytes[i].toString(16).padStart(2, "0");
  return s;
}

/** The number bpftrace sorts an entry by, when it sorts by value. */
function sortValue(v: MapValue): bigint | undefined {
  switch (v.kind) {
    case "count":
    case "sum":
    case "min":
    case "max":
      return v.value;
    case "avg":
      return v.value;
    case "stats":
      return v.average;
    case "hist":
    case "lhist":
      return v.buckets.reduce((a, b) => a + b, 0n);
    case "value":
      return typeof v.value === "bigint" ? v.value : undefined;
  }
}

/** Compare keys as bpftrace's sort_by_key does: integers unsigned, strings bytewise. */
function compareKeys(a: MapEntry, b: MapEntry): number {
  for (let i = 0; i < a.keys.length; i++) {
    const x = a.keys[i];
    const y = b.keys[i];
    if (typeof x === "bigint" && typeof y === "bigint") {
      const ux = BigInt.asUintN(64, x);
      const uy = BigInt.asUintN(64, y);
      if (ux !== uy) return ux < uy ? -1 : 1;
    } else {
      const sx = a.keyText[i];
      const sy = b.keyText[i];
      if (sx !== sy) return sx < sy ? -1 : 1;
    }
  }
  return 0;
}

/**
 * Sort entries as bpftrace prints them: integer values (counts, sums, min, max, averages,
 * hist totals, plain integer values) ascending; other values by key. Ties (which bpftrace
 * leaves in hash order) are broken by key.
 *
 * @param spec The map.
 * @param entries Sorted in place.
 * @example
 * ```ts
 * sortEntries(spec, snapshot.entries);
 * ```
 */
export function sortEntries(spec: MapSpec, entries: MapEntry[]): void {
  const byValue = spec.kind !== "value" || spec.value.k === "int";
  entries.sort((a, b) => {
    if (byValue) {
      const x = sortValue(a.value)!;
      const y = sortValue(b.value)!;
      if (x !== y) return x < y ? -1 : 1;
    }
    return compareKeys(a, b);
  });
}
