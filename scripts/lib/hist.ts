/**
 * Printing a log2 histogram map the way bcc's tools do, with the shell's printer
 * (shell/hist.ts, bcc's `print_log2_hist`), or as one JSON line of buckets.
 *
 * @module
 */

import { log2Hist, slotsOf } from "../../shell/hist.ts";
import { jsonValue } from "./output.ts";

/** One bucket of a histogram in JSON: the values `low..high` were seen `count` times. */
export interface Bucket {
  low: number;
  high: number;
  count: number;
}

/**
 * The non-empty buckets of a bcc-style log2 histogram (slot i holds `[2^(i-1), 2^i - 1]`,
 * slot 1 also 0), from the first to the last non-empty one.
 *
 * @param slots Counts by slot.
 * @returns The buckets, with empty ones between non-empty ones kept.
 * @example
 * ```ts
 * buckets([0, 2, 0, 5]); // [{low:0,high:1,count:2},{low:2,high:3,count:0},{low:4,high:7,count:5}]
 * ```
 */
export function buckets(slots: number[]): Bucket[] {
  const first = slots.findIndex((v, i) => i > 0 && v > 0);
  let last = -1;
  slots.forEach((v, i) => {
    if (v > 0) last = i;
  });
  const out: Bucket[] = [];
  if (first < 0) return out;
  for (let i = Math.max(1, first); i <= last; i++) {
    const high = 2 ** i - 1;
    out.push({ low: i === 1 ? 0 : 2 ** (i - 1), high, count: slots[i] ?? 0 });
  }
  return out;
}

/**
 * Print a histogram map's entries: bcc's table of stars, or one JSON line.
 *
 * @param entries The map's `[slot, count]` pairs.
 * @param unit The value label, e.g. `"usecs"`.
 * @param opts `json` for a JSON line; `timestamp` to print the time first (interval mode).
 * @example
 * ```ts
 * printHistogram(obj.map("hist").entries(), "usecs");
 * ```
 */
export function printHistogram(
  entries: Iterable<[unknown, unknown]>,
  unit: string,
  opts: { json?: boolean; timestamp?: boolean } = {},
): void {
  const slots = slotsOf(entries);
  const total = slots.reduce((a, b) => a + b, 0);
  if (opts.json) {
    const rec: Record<string, unknown> = {};
    if (opts.timestamp) rec.time = new Date().toISOString();
    Object.assign(rec, { unit, total, buckets: buckets(slots) });
    console.log(JSON.stringify(rec, jsonValue));
    return;
  }
  if (opts.timestamp) console.log(`\n${new Date().toTimeString().slice(0, 8)}`);
  const lines = log2Hist(slots, unit);
  console.log(lines.length ? lines.join("\n") : `     ${unit.padEnd(19)} : (no events)`);
}
