/**
 * bpftrace's text output of maps, byte for byte: `@name[k1, k2]: value` lines, the
 * hist/lhist bars (52 columns of `@`) with their bucket labels, the `count N, average N,
 * total N` of stats, and the blank lines bpftrace puts after each kind of map.
 *
 * @module
 */

import type { LhistBounds, MapValue } from "../aggregations.ts";
import type { MapEntry, MapSnapshot } from "../read.ts";

/** Options of {@link formatMap}: print(@m, top, div). */
export interface PrintOptions {
  /** Print only the last (largest) `top` entries. */
  top?: number;
  /** Divide values by this. */
  div?: number;
}

const BAR_WIDTH = 52;

/**
 * A map as bpftrace prints it (at exit, or for `print(@m)`), trailing newlines included.
 *
 * @param snap The map's contents, sorted.
 * @param opts `top` and `div`.
 * @returns The text.
 * @example
 * ```ts
 * formatMap(snapshot); // "@[bash]: 3\n@[cat]: 12\n"
 * ```
 */
export function formatMap(snap: MapSnapshot, opts: PrintOptions = {}): string {
  const { spec } = snap;
  const div = BigInt(opts.div || 1);
  let entries = snap.entries;
  if (opts.top && entries.length > opts.top) entries = entries.slice(entries.length - opts.top);
  const key = (e: MapEntry) => spec.name + (e.keyText.length ? `[${e.keyText.join(", ")}]` : "");
  switch (spec.kind) {
    case "hist":
    case "lhist": {
      const blocks = entries.map((e) => {
        const buckets = (e.value as { buckets: bigint[] }).buckets;
        const body = spec.kind === "hist"
          ? histLines(buckets, div)
          : lhistLines(buckets, spec.lhist!);
        return `${key(e)}: \n${body}`;
      });
      return blocks.join("\n") + "\n";
    }
    case "avg":
    case "stats":
      return entries.map((e) => `${key(e)}: ${statsText(e.value, div)}`).join("\n") + "\n\n";
    default:
      return entries.map((e) => `${key(e)}: ${valueText(e.value, div)}`).join("\n") + "\n";
  }
}

/**
 * A scalar map value as bpftrace prints it.
 *
 * @param v The value.
 * @param div The divisor.
 * @returns The text.
 * @example
 * ```ts
 * valueText({ kind: "count", value: 5n }, 1n); // "5"
 * ```
 */
export function valueText(v: MapValue, div = 1n): string {
  switch (v.kind) {
    case "count":
    case "sum":
    case "min":
    case "max":
      return (v.value / div).toString();
    case "value":
      return typeof v.value === "bigint" ? (v.value / div).toString() : v.text ?? String(v.value);
    default:
      return statsText(v, div);
  }
}

function statsText(v: MapValue, div: bigint): string {
  if (v.kind === "avg") return (v.value / div).toString();
  if (v.kind === "stats") return `count ${v.count}, average ${v.average}, total ${v.total}`;
  return "";
}

/**
 * The range of buckets bpftrace prints: from the first non-empty one to the last.
 *
 * @param buckets Counts by bucket.
 * @returns `[first, last]`, or undefined when every bucket is empty.
 * @example
 * ```ts
 * nonEmptyBuckets([0n, 2n, 0n, 1n, 0n]); // [1, 3]
 * ```
 */
export function nonEmptyBuckets(buckets: bigint[]): [number, number] | undefined {
  let first = -1;
  let last = -1;
  buckets.forEach((b, i) => {
    if (b > 0n) {
      if (first < 0) first = i;
      last = i;
    }
  });
  return first < 0 ? undefined : [first, last];
}

/** One bar line: label (16, left), count (8, right), and the bar between pipes. */
function barLine(label: string, count: bigint, shown: bigint, max: bigint): string {
  // bpftrace scales in single-precision floats: value / (float)max * 52, truncated.
  const q = Math.fround(Number(count) / Math.fround(Number(max)));
  const width = max > 0n ? Math.trunc(Math.fround(q * BAR_WIDTH)) : 0;
  return `${label.padEnd(16)}${shown.toString().padStart(8)} |${
    "@".repeat(width).padEnd(BAR_WIDTH)
  }|\n`;
}

/**
 * A power-of-two bucket's bound as bpftrace labels it: `1`, `512`, `1K`, `2M`, `4G`, `8T`.
 *
 * @param power The exponent.
 * @returns The label.
 * @example
 * ```ts
 * histLabel(10); // "1K"
 * ```
 */
export function histLabel(power: number): string {
  const suffixes: [number, string][] = [[40, "T"], [30, "G"], [20, "M"], [10, "K"]];
  for (const [p, s] of suffixes) {
    if (power >= p) return `${(1n << BigInt(power - p)).toString()}${s}`;
  }
  return (1n << BigInt(power)).toString();
}

/**
 * An lhist bound as bpftrace labels it: `0`, `100`, `2K`, `3M`.
 *
 * @param n The bound.
 * @returns The label.
 * @example
 * ```ts
 * lhistLabel(2048); // "2K"
 * ```
 */
export function lhistLabel(n: number): string {
  if (n === 0) return "0";
  if (n % 1048576 === 0) return `${n / 1048576}M`;
  if (n % 1024 === 0) return `${n / 1024}K`;
  return `${n}`;
}

/**
 * The lines of a log2 histogram.
 *
 * @param buckets Counts by bucket index (0: negative, 1: zero, i: [2^(i-2), 2^(i-1))).
 * @param div Divisor of the printed counts.
 * @returns The lines, each ending in a newline; "" when every bucket is empty.
 * @example
 * ```ts
 * histLines([0n, 1n, 0n, 2n], 1n);
 * ```
 */
export function histLines(buckets: bigint[], div = 1n): string {
  const range = nonEmptyBuckets(buckets);
  if (!range) return "";
  const max = buckets.reduce((m, b) => (b > m ? b : m), 0n);
  let out = "";
  for (let i = range[0]; i <= range[1]; i++) {
    const label = i === 0
      ? "(..., 0)"
      : i === 1
      ? "[0]"
      : i === 2
      ? "[1]"
      : `[${histLabel(i - 2)}, ${histLabel(i - 1)})`;
    out += barLine(label, buckets[i], buckets[i] / div, max);
  }
  return out;
}

/**
 * The lines of a linear histogram.
 *
 * @param buckets Counts by bucket (0: below min; last: max and above).
 * @param b The bounds.
 * @returns The lines, each ending in a newline; "" when every bucket is empty.
 * @example
 * ```ts
 * lhistLines([0n, 3n, 1n], { min: 0, max: 10, step: 10 });
 * ```
 */
export function lhistLines(buckets: bigint[], b: LhistBounds): string {
  const range = nonEmptyBuckets(buckets);
  if (!range) return "";
  const n = buckets.length - 2;
  const max = buckets.reduce((m, x) => (x > m ? x : m), 0n);
  let out = "";
  for (let i = range[0]; i <= range[1]; i++) {
    const label = i === 0
      ? `(..., ${lhistLabel(b.min)})`
      : i === n + 1
      ? `[${lhistLabel(b.max)}, ...)`
      : `[${lhistLabel((i - 1) * b.step + b.min)}, ${lhistLabel(i * b.step + b.min)})`;
    out += barLine(label, buckets[i], buckets[i], max);
  }
  return out;
}
