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

/**
 * The kernel id of a BPF fd of this process (what bpftool shows), from /proc/self/fdinfo.
 *
 * @param fd The fd.
 * @param key `"prog_id"`, `"map_id"` or `"link_id"`.
 * @returns The id, or undefined.
 * @example
 * ```ts
 * kernelId(prog.fd, "prog_id"); // 705
 * ```
 */
export function kernelId(fd: number, key: "prog_id" | "map_id" | "link_id"): number | undefined {
  if (fd < 0) return undefined;
  try {
    const text = Deno.readTextFileSync(`/proc/self/fdinfo/${fd}`);
    const m = new RegExp(`${key}:\\s*(\\d+)`).exec(text);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}
