/**
 * The map value kinds: what `@m[k] = count()` (and sum, min, max, avg, stats, hist,
 * lhist) store, the C that updates them, and how user space reduces what it reads (the
 * aggregations live in per-CPU maps, as in bpftrace, and are summed on read). Plain
 * assignments (`@m[k] = expr`) are the `value` kind, in an ordinary hash map.
 *
 * Layouts (also what a reader of the BPF maps finds):
 *
 * | kind          | BPF map         | key                     | value (per CPU)                    |
 * | ------------- | --------------- | ----------------------- | ---------------------------------- |
 * | value         | hash            | the keys                | the value (int as 64-bit, char[N]) |
 * | count, sum    | per-CPU hash    | the keys                | `__u64` / `__s64`                  |
 * | min, max      | per-CPU hash    | the keys                | `{ __s64 value; __u64 set; }`      |
 * | avg, stats    | per-CPU hash    | the keys                | `{ __s64 total; __u64 count; }`    |
 * | hist, lhist   | per-CPU hash    | the keys + `__u64 bucket` | `__u64` count                    |
 *
 * A map without keys has one `__u64` key, 0.
 *
 * @module
 */

import { AVG_TYPE, cStructDef, MINMAX_TYPE } from "./stored_types.ts";

/** Map value kinds. */
export type MapKind =
  | "value"
  | "count"
  | "sum"
  | "min"
  | "max"
  | "avg"
  | "stats"
  | "hist"
  | "lhist";

/** The aggregation functions, by name. */
export const AGGREGATIONS = new Set<MapKind>([
  "count",
  "sum",
  "min",
  "max",
  "avg",
  "stats",
  "hist",
  "lhist",
]);

/** Linear histogram bounds. */
export interface LhistBounds {
  /** The lowest bucket's lower bound (smaller values go to the `< min` bucket). */
  min: number;
  /** The upper bound (values at or above it go to the `>= max` bucket). */
  max: number;
  /** Each bucket's width. */
  step: number;
}

/** A map entry's value after reduction across CPUs. */
export type MapValue =
  | { kind: "count" | "sum" | "min" | "max"; value: bigint }
  | { kind: "avg"; count: bigint; total: bigint; value: bigint }
  | { kind: "stats"; count: bigint; total: bigint; average: bigint }
  | { kind: "hist" | "lhist"; buckets: bigint[] }
  /** A plain value; `text` is how bpftrace prints it when that is not `String(value)`. */
  | { kind: "value"; value: bigint | string | unknown; text?: string };

/** Number of log2 buckets: (<0), 0, 1, [2,4) … [2^62, 2^63). */
export const HIST_BUCKETS = 65;

/**
 * How many buckets an lhist has: below min, one per step, at or above max.
 *
 * @param b The bounds.
 * @returns The count.
 * @example
 * ```ts
 * lhistBuckets({ min: 0, max: 100, step: 10 }); // 12
 * ```
 */
export function lhistBuckets(b: LhistBounds): number {
  return Math.floor((b.max - b.min) / b.step) + 2;
}

/**
 * The value range of a bucket, for labels and histograms (`le` bounds).
 *
 * @param kind `hist` or `lhist`.
 * @param index The bucket.
 * @param b The lhist bounds.
 * @returns `[min, max]` inclusive; undefined ends are open.
 * @example
 * ```ts
 * bucketRange("hist", 3); // [2n, 3n]
 * ```
 */
export function bucketRange(
  kind: "hist" | "lhist",
  index: number,
  b?: LhistBounds,
): [bigint | undefined, bigint | undefined] {
  if (kind === "hist") {
    if (index === 0) return [undefined, -1n];
    if (index === 1) return [0n, 0n];
    const lo = 1n << BigInt(index - 2);
    return [lo, (lo << 1n) - 1n];
  }
  const bounds = b!;
  const n = lhistBuckets(bounds) - 2;
  if (index === 0) return [undefined, BigInt(bounds.min - 1)];
  if (index === n + 1) return [BigInt(bounds.max), undefined];
  const lo = BigInt((index - 1) * bounds.step + bounds.min);
  return [lo, lo + BigInt(bounds.step) - 1n];
}

/** Bytes of one CPU's value of an aggregation kind. */
export function valueSize(kind: MapKind): number {
  return kind === "min" || kind === "max" || kind === "avg" || kind === "stats" ? 16 : 8;
}

/** The C definitions the aggregation kinds share. */
export const AGGREGATION_C = `${cStructDef(MINMAX_TYPE)}
${cStructDef(AVG_TYPE)}
/* The slot of a key in a map, created zeroed when missing. */
static __always_inline void *bt_slot(void *map, const void *key)
{
\t__u64 zero[2] = {};
\tvoid *v = bpf_map_lookup_elem(map, key);
\tif (!v) {
\t\tbpf_map_update_elem(map, key, zero, BPF_NOEXIST);
\t\tv = bpf_map_lookup_elem(map, key);
\t}
\treturn v;
}

/* hist() bucket: 0 for negatives, 1 for 0, then 2 + floor(log2(v)). */
static __always_inline __u64 bt_log2(__s64 v)
{
\tif (v < 0)
\t\treturn 0;
\tif (v == 0)
\t\treturn 1;
\t__u64 n = v, r = 2, s;
\ts = (n >= (1ULL << 32)) << 5; n >>= s; r += s;
\ts = (n >= (1ULL << 16)) << 4; n >>= s; r += s;
\ts = (n >= (1ULL << 8)) << 3; n >>= s; r += s;
\ts = (n >= (1ULL << 4)) << 2; n >>= s; r += s;
\ts = (n >= (1ULL << 2)) << 1; n >>= s; r += s;
\ts = (n >= (1ULL << 1)); r += s;
\treturn r;
}

/* lhist() bucket: 0 below min, 1 + (v - min) / step inside, the last one from max up. */
static __always_inline __u64 bt_linear(__s64 v, __s64 min, __s64 max, __s64 step)
{
\tif (v < min)
\t\treturn 0;
\tif (v > max)
\t\treturn 1 + (__u64)(max - min) / (__u64)step;
\treturn 1 + (__u64)(v - min) / (__u64)step;
}
`;

/**
 * The C statements that fold one value into an aggregation slot.
 *
 * @param kind The aggregation.
 * @param slot The C name of a pointer to this CPU's slot (may be null: guarded here).
 * @param value The C expression of the value (unused by count/hist/lhist).
 * @param signed Whether comparisons are signed (min, max).
 * @returns The statement.
 * @example
 * ```ts
 * foldC("sum", "v", "len", true); // "if (v) *(__s64 *)v += (len);"
 * ```
 */
export function foldC(kind: MapKind, slot: string, value: string, signed: boolean): string {
  const t = signed ? "__s64" : "__u64";
  switch (kind) {
    case "count":
    case "hist":
    case "lhist":
      return `if (${slot}) *(__u64 *)${slot} += 1;`;
    case "sum":
      return `if (${slot}) *(${t} *)${slot} += (${value});`;
    case "min":
    case "max": {
      const op = kind === "min" ? "<" : ">";
      const m = `((struct bt_minmax *)${slot})`;
      return `if (${slot}) { ${t} bt_v = (${value}); if (!${m}->set || bt_v ${op} (${t})${m}->value) { ${m}->value = bt_v; ${m}->set = 1; } }`;
    }
    case "avg":
    case "stats": {
      const a = `((struct bt_avg *)${slot})`;
      return `if (${slot}) { ${a}->total += (${value}); ${a}->count += 1; }`;
    }
    default:
      throw new Error(`foldC(${kind})`);
  }
}

/**
 * Reduce one entry's per-CPU values.
 *
 * @param kind The aggregation.
 * @param signed For sum/min/max: whether values are signed.
 * @param view The raw values.
 * @param offset Where CPU 0's slot starts.
 * @param stride Bytes from one CPU's slot to the next.
 * @param cpus How many CPU slots.
 * @returns The reduced value (hist/lhist: the one bucket count, as `value`).
 * @example
 * ```ts
 * reduce("count", false, view, 0, 8, 2); // { kind: "count", value: 7n }
 * ```
 */
export function reduce(
  kind: MapKind,
  signed: boolean,
  view: DataView,
  offset: number,
  stride: number,
  cpus: number,
): MapValue {
  const u = (at: number) => view.getBigUint64(at, true);
  const s = (at: number) => view.getBigInt64(at, true);
  switch (kind) {
    case "count":
    case "sum":
    case "hist":
    case "lhist": {
      let v = 0n;
      for (let c = 0; c < cpus; c++) v += signed ? s(offset + c * stride) : u(offset + c * stride);
      v = signed ? BigInt.asIntN(64, v) : BigInt.asUintN(64, v);
      return { kind: kind === "hist" || kind === "lhist" ? "count" : kind, value: v };
    }
    case "min":
    case "max": {
      let best: bigint | undefined;
      for (let c = 0; c < cpus; c++) {
        const at = offset + c * stride;
        if (u(at + 8) === 0n) continue;
        const v = signed ? s(at) : u(at);
        if (best === undefined || (kind === "min" ? v < best : v > best)) best = v;
      }
      return { kind, value: best ?? 0n };
    }
    case "avg":
    case "stats": {
      let total = 0n;
      let count = 0n;
      for (let c = 0; c < cpus; c++) {
        total += s(offset + c * stride);
        count += u(offset + c * stride + 8);
      }
      total = BigInt.asIntN(64, total);
      const average = count ? total / count : 0n;
      return kind === "avg"
        ? { kind, count, total, value: average }
        : { kind, count, total, average };
    }
    default:
      throw new Error(`reduce(${kind})`);
  }
}
