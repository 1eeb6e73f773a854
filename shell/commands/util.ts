/**
 * Small helpers the command files share.
 *
 * @module
 */

/**
 * A count with its noun: `1 map`, `3 maps`.
 *
 * @param n The count.
 * @param what The noun, singular.
 * @returns The text.
 * @example
 * ```ts
 * plural(2, "link"); // "2 links"
 * ```
 */
export function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? "" : "s"}`;
}

/**
 * The value of `f()`, or undefined when it throws (a listing shows `-` for what it cannot read).
 *
 * @param f What to compute.
 * @returns Its value, or undefined.
 * @example
 * ```ts
 * safe(() => map.keyType); // "u32", or undefined without BTF
 * ```
 */
export function safe<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}
