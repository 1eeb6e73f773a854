/**
 * Attach-point globs (`*`, `?`) as regular expressions: kprobe.multi patterns, and the
 * probe language's wildcards, which need nothing else from the kprobe code.
 *
 * @module
 */

/**
 * A glob (`*`, `?`) as an anchored regular expression.
 *
 * @param glob The glob.
 * @returns The expression.
 * @example
 * ```ts
 * globRegExp("tcp_*").test("tcp_sendmsg"); // true
 * ```
 */
export function globRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${body}$`);
}
