/**
 * bpftrace's printf: the format specifiers it accepts (`%-10s`, `%5d`, `%lu`, `%llx`,
 * `%hhd`, `%c`, `%p`, …) and C's printing of them. Values arrive as 64-bit integers
 * (sign- or zero-extended from their type) or strings; the length modifier decides how
 * many bits are printed, as passing a u64 to C's `printf("%d")` does (`%d` of -1 as
 * uint64 prints -1, `%u` prints 4294967295, `%lu` 18446744073709551615).
 *
 * @module
 */

/** One conversion of a format string. */
export interface Spec {
  /** Left-justify (`-`). */
  left: boolean;
  /** Zero-pad (a width starting with 0). */
  zero: boolean;
  /** Minimum width. */
  width: number;
  /** Precision, when given. */
  precision?: number;
  /** Length modifier: `""`, `hh`, `h`, `l`, `ll`, `j`, `z`, `t`. */
  length: string;
  /** Conversion character: `d u o x X p c s`. */
  conv: string;
  /** The text as written, e.g. `"%-10s"`. */
  text: string;
}

/** A parsed format: literal text pieces around the conversions. */
export interface ParsedFormat {
  /** `parts.length === specs.length + 1`: text before each spec, and after the last. */
  parts: string[];
  specs: Spec[];
}

const SPEC = /%(-?)([0-9]*)(?:\.([0-9]+))?((?:hh|h|ll|l|j|z|t)?[duoxXp]|[sc])/y;

/**
 * Parse a format string.
 *
 * @param fmt The format, escapes already decoded.
 * @returns Its pieces.
 * @throws {Error} With bpftrace's wording for an unknown specifier (the caller adds where).
 * @example
 * ```ts
 * parseFormat("%s: %5d\n").specs.map((s) => s.conv); // ["s", "d"]
 * ```
 */
export function parseFormat(fmt: string): ParsedFormat {
  const parts: string[] = [];
  const specs: Spec[] = [];
  let text = "";
  for (let i = 0; i < fmt.length;) {
    if (fmt[i] !== "%") {
      text += fmt[i++];
      continue;
    }
    if (fmt[i + 1] === "%") {
      text += "%";
      i += 2;
      continue;
    }
    SPEC.lastIndex = i;
    const m = SPEC.exec(fmt);
    if (!m) {
      const bad = /^%[-+ #0-9.]*[a-zA-Z]{0,3}/.exec(fmt.slice(i))?.[0] ?? "%";
      throw new Error(`Unknown format string token: ${bad}`);
    }
    parts.push(text);
    text = "";
    const width = m[2];
    const conv = m[4];
    specs.push({
      left: m[1] === "-",
      zero: width.startsWith("0"),
      width: width ? Number(width) : 0,
      precision: m[3] === undefined ? undefined : Number(m[3]),
      length: conv.slice(0, -1),
      conv: conv.slice(-1),
      text: m[0],
    });
    i += m[0].length;
  }
  parts.push(text);
  return { parts, specs };
}

/**
 * Whether a conversion takes a string (`%s`) or an integer (the rest).
 *
 * @param spec A conversion.
 * @returns `"string"` or `"integer"`.
 * @example
 * ```ts
 * argClass(parseFormat("%lu").specs[0]); // "integer"
 * ```
 */
export function argClass(spec: Spec): "string" | "integer" {
  return spec.conv === "s" ? "string" : "integer";
}

/** How many bits a length modifier prints. */
function bitsOf(length: string): number {
  switch (length) {
    case "hh":
      return 8;
    case "h":
      return 16;
    case "":
      return 32;
    default:
      return 64;
  }
}

/** Pad to the width: spaces left or right, or zeros after the sign. */
function pad(s: string, spec: Spec, numeric: boolean): string {
  if (s.length >= spec.width) return s;
  const fill = spec.width - s.length;
  if (spec.left) return s + " ".repeat(fill);
  if (spec.zero && numeric && spec.precision === undefined) {
    const sign = /^[-+]/.test(s) ? s[0] : "";
    const prefix = /^0[xX]/.test(s.slice(sign.length)) ? s.slice(sign.length, sign.length + 2) : "";
    const digits = s.slice(sign.length + prefix.length);
    return sign + prefix + "0".repeat(fill) + digits;
  }
  return " ".repeat(fill) + s;
}

/**
 * Print one value with one conversion, as C's printf would.
 *
 * @param spec The conversion.
 * @param value A 64-bit integer (already extended from its type) or a string.
 * @returns The text.
 * @example
 * ```ts
 * formatOne(parseFormat("%u").specs[0], -1n); // "4294967295"
 * ```
 */
export function formatOne(spec: Spec, value: bigint | string): string {
  if (spec.conv === "s") {
    let s = typeof value === "string" ? value : value.toString();
    if (spec.precision !== undefined) s = s.slice(0, spec.precision);
    return pad(s, spec, false);
  }
  const v = typeof value === "bigint" ? value : BigInt(value || 0);
  if (spec.conv === "c") return pad(String.fromCharCode(Number(BigInt.asUintN(8, v))), spec, false);
  if (spec.conv === "p") {
    const u = BigInt.asUintN(64, v);
    return pad(u === 0n ? "(nil)" : `0x${u.toString(16)}`, spec, true);
  }
  const bits = bitsOf(spec.length);
  let digits: string;
  let sign = "";
  if (spec.conv === "d") {
    const n = BigInt.asIntN(bits, v);
    if (n < 0n) sign = "-";
    digits = (n < 0n ? -n : n).toString();
  } else {
    const n = BigInt.asUintN(bits, v);
    digits = n.toString(spec.conv === "o" ? 8 : spec.conv === "u" ? 10 : 16);
    if (spec.conv === "X") digits = digits.toUpperCase();
  }
  if (spec.precision !== undefined) {
    digits = spec.precision === 0 && digits === "0" ? "" : digits.padStart(spec.precision, "0");
  }
  return pad(sign + digits, spec, true);
}

/**
 * Print a whole format with its values.
 *
 * @param fmt The parsed format.
 * @param values One value per conversion.
 * @returns The text.
 * @example
 * ```ts
 * formatPrintf(parseFormat("%s=%d\n"), ["x", 5n]); // "x=5\n"
 * ```
 */
export function formatPrintf(fmt: ParsedFormat, values: (bigint | string)[]): string {
  let out = fmt.parts[0];
  for (let i = 0; i < fmt.specs.length; i++) {
    out += formatOne(fmt.specs[i], values[i]) + fmt.parts[i + 1];
  }
  return out;
}
