/**
 * Histogram slots of a BPF map to Prometheus buckets. The kernel side counts into slots
 * (a key field holding the slot, or a value array of counts); each slot has an upper bound:
 *
 * - `log2`: slot i holds the integers up to 2^i − 1 (slot = floor(log2 v) + 1, as bcc's
 *   `bpf_log2l`: slot 1 holds 0 and 1, slot 2 holds 2–3, slot 3 holds 4–7, …);
 * - `linear`: slot i holds [i·step, (i+1)·step − 1] (slot = v / step);
 * - `fixed`: slot i holds the values up to `bounds[i]`; a slot past the last bound is +Inf.
 *
 * Bounds are then scaled by `multiplier` (e.g. 1e-9 for nanoseconds to seconds). Slots
 * below `min` count in the first bucket, slots above `max` only in `+Inf`.
 *
 * @module
 */

import { BpfError } from "../ffi/errors.ts";
import type { BucketSpec } from "./config.ts";

/** The buckets of one histogram metric. */
export interface BucketLayout {
  /** The first slot index. */
  min: number;
  /** The upper bound (`le`) of slot `min + b`, ascending; +Inf is implicit after these. */
  le: number[];
}

/**
 * The bucket bounds a spec gives.
 *
 * @param spec The config's buckets.
 * @param slots The number of slots when the value is an array of counts (it fixes `max`
 *   when the spec has none, and must agree with it when it has one).
 * @param where The metric, for errors.
 * @returns The layout.
 * @throws {BpfError} op `serve config` when the spec and the map disagree.
 * @example
 * ```ts
 * bucketLayout({ type: "log2", min: 0, max: 3, multiplier: 1 }).le; // [0, 1, 3, 7]
 * ```
 */
export function bucketLayout(spec: BucketSpec, slots?: number, where = "buckets"): BucketLayout {
  if (spec.type === "fixed") {
    const n = spec.bounds.length;
    if (slots !== undefined && slots !== n && slots !== n + 1) {
      throw mismatch(
        `${where}: the map holds ${slots} slots, buckets.bounds has ${n} bounds`,
        `give ${slots} bounds, or ${slots - 1} when the last slot counts what is above them`,
      );
    }
    return { min: 0, le: spec.bounds.map((b) => Number((b * spec.multiplier).toPrecision(15))) };
  }
  let max = spec.max;
  if (max === undefined) {
    if (slots === undefined) {
      throw mismatch(
        `${where}: buckets.max is needed when a key field holds the slot`,
        "set max to the last slot the program writes",
      );
    }
    max = spec.min + slots - 1;
  }
  if (max < spec.min) throw mismatch(`${where}: buckets.max ${max} is below min ${spec.min}`);
  if (slots !== undefined && max - spec.min + 1 !== slots) {
    throw mismatch(
      `${where}: the map holds ${slots} slots, buckets min..max (${spec.min}..${max}) ` +
        `makes ${max - spec.min + 1}`,
      `set max: ${spec.min + slots - 1}, or leave it out`,
    );
  }
  if (spec.type === "log2" && max > 1023) {
    throw mismatch(`${where}: a log2 slot above 1023 has no finite bound`);
  }
  const le: number[] = [];
  for (let i = spec.min; i <= max; i++) {
    const top = spec.type === "log2" ? 2 ** i - 1 : (i + 1) * spec.step - 1;
    // Rounded to 15 digits: 3 * 1e-9 is 3e-9 in the exposition, not 3.0000000000000004e-9.
    le.push(Number((top * spec.multiplier).toPrecision(15)));
  }
  return { min: spec.min, le };
}

function mismatch(message: string, hint?: string): BpfError {
  return new BpfError({ op: "serve config", message: `bucket mismatch: ${message}`, hint });
}

/**
 * The bucket a slot counts in: 0..le.length-1, or le.length for +Inf.
 *
 * @param layout The layout.
 * @param slot The slot index the kernel wrote.
 * @returns The bucket index.
 * @example
 * ```ts
 * bucketOf({ min: 0, le: [0, 1, 3] }, 7); // 3 (+Inf)
 * ```
 */
export function bucketOf(layout: BucketLayout, slot: number): number {
  const b = slot - layout.min;
  return b < 0 ? 0 : b > layout.le.length ? layout.le.length : b;
}

/**
 * An estimate of the sum of the observations, for maps that keep none: each bucket's
 * count times its midpoint (+Inf counts at the last finite bound).
 *
 * @param layout The layout.
 * @param counts Counts per bucket (`le.length + 1`, the last for +Inf).
 * @returns The estimate.
 * @example
 * ```ts
 * estimateSum({ min: 0, le: [1, 3] }, [2, 2, 0]); // 2*0.5 + 2*2 = 5
 * ```
 */
export function estimateSum(layout: BucketLayout, counts: ArrayLike<number>): number {
  let sum = 0;
  let lo = 0;
  for (let b = 0; b < layout.le.length; b++) {
    const hi = layout.le[b];
    if (counts[b]) sum += counts[b] * (lo + hi) / 2;
    lo = hi;
  }
  const over = counts[layout.le.length];
  if (over) sum += over * lo;
  return sum;
}
