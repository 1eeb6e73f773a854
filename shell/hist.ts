/**
 * The log2 histogram of bcc's `print_log2_hist()`: slot `i` of a `bpf_log2l()`-keyed map
 * counts values in `[2^(i-1), 2^i - 1]` (slot 1 also holds 0), drawn with 40 stars at most.
 *
 * @module
 */

/** How many stars the widest bar has (bcc's `stars_max`). */
const STARS_MAX = 40;

/**
 * A bar of stars scaled to the largest count, the way bcc's `_stars()` draws it.
 *
 * @param val This slot's count.
 * @param valMax The largest count.
 * @param width The widest bar.
 * @returns The stars.
 * @example
 * ```ts
 * stars(5, 10, 40); // 20 stars
 * ```
 */
export function stars(val: number, valMax: number, width: number): string {
  let text = "";
  for (let i = 0; i < width; i++) {
    if (i > (width * val / valMax) - 1) break;
    text += "*";
  }
  if (val > valMax) text = text.slice(0, -1) + "+";
  return text;
}

/**
 * Slots from a map's entries: integer keys (or `{slot}`-like single-field structs) to counts;
 * per-CPU values (arrays) are summed.
 *
 * @param entries The map's `[key, value]` pairs.
 * @returns Counts indexed by slot (missing slots are 0).
 * @example
 * ```ts
 * slotsOf([[3, 5n], [1, 2n]]); // [0, 2, 0, 5]
 * ```
 */
export function slotsOf(entries: Iterable<[unknown, unknown]>): number[] {
  const slots: number[] = [];
  for (const [k, v] of entries) {
    const slot = Number(scalar(k));
    if (!Number.isInteger(slot) || slot < 0 || slot > 127) continue;
    const count = Array.isArray(v)
      ? v.reduce((a: number, x) => a + Number(scalar(x)), 0)
      : Number(scalar(v));
    slots[slot] = (slots[slot] ?? 0) + (Number.isFinite(count) ? count : 0);
  }
  for (let i = 0; i < slots.length; i++) slots[i] ??= 0;
  return slots;
}

/** A number out of a key or value: the number itself, or the only field of a struct. */
function scalar(v: unknown): unknown {
  if (typeof v === "number" || typeof v === "bigint") return v;
  if (v && typeof v === "object" && !ArrayBuffer.isView(v)) {
    const fields = Object.values(v);
    if (fields.length === 1) return scalar(fields[0]);
  }
  return NaN;
}

/**
 * The histogram's lines, exactly as bcc's `print_log2_hist(vals, val_type)` prints them.
 *
 * @param vals Counts indexed by slot.
 * @param valType The label of the value column, e.g. `"usecs"`.
 * @param stripLeadingZero Skip the empty slots before the first non-empty one.
 * @returns The lines (no trailing newline); empty when every slot is 0.
 * @example
 * ```ts
 * log2Hist([0, 1, 0, 4], "usecs").join("\n");
 * //      usecs               : count     distribution
 * //          0 -> 1          : 1        |**********                              |
 * //          2 -> 3          : 0        |                                        |
 * //          4 -> 7          : 4        |****************************************|
 * ```
 */
export function log2Hist(vals: number[], valType = "value", stripLeadingZero = false): string[] {
  let idxMax = -1;
  let valMax = 0;
  vals.forEach((v, i) => {
    if (v > 0) idxMax = i;
    if (v > valMax) valMax = v;
  });
  const wide = idxMax > 32;
  const lines: string[] = [];
  const starsWidth = wide ? STARS_MAX / 2 : STARS_MAX;
  if (idxMax > 0) {
    lines.push(
      wide
        ? `               ${valType.padEnd(29)} : count     distribution`
        : `     ${valType.padEnd(19)} : count     distribution`,
    );
  }
  const w = wide ? 20 : 10;
  let strip = stripLeadingZero;
  for (let i = 1; i <= idxMax; i++) {
    let low = (2n ** BigInt(i)) >> 1n;
    const high = 2n ** BigInt(i) - 1n;
    if (low === high) low -= 1n;
    const val = vals[i] ?? 0;
    if (strip && !val) continue;
    strip = false;
    lines.push(
      `${String(low).padStart(w)} -> ${String(high).padEnd(w)} : ${String(val).padEnd(8)} |${
        stars(val, valMax, starsWidth).padEnd(starsWidth)
      }|`,
    );
  }
  return lines;
}
