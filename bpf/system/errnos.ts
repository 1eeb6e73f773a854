/**
 * Errno names of the host, read once from the kernel headers (`asm-generic/errno*.h`, the
 * table x86_64 and arm64 share), with the built-in names of {@link errnoName} when the
 * headers are not installed.
 *
 * @module
 */

import { errnoName } from "../../ffi/errors.ts";

const HEADERS = ["/usr/include/asm-generic/errno-base.h", "/usr/include/asm-generic/errno.h"];

/**
 * Parse `#define ENAME number` lines (aliases such as `EWOULDBLOCK EAGAIN` are skipped).
 *
 * @param text An errno header.
 * @returns Number → name (the first name defined for a number).
 * @example
 * ```ts
 * parseErrnoHeader("#define\tEPERM\t\t 1\t/* Operation not permitted *\/"); // Map { 1 → "EPERM" }
 * ```
 */
export function parseErrnoHeader(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const m of text.matchAll(/^#define\s+(E[A-Z0-9]+)\s+(\d+)\b/gm)) {
    const n = Number(m[2]);
    if (!out.has(n)) out.set(n, m[1]);
  }
  return out;
}

let table: Map<number, string> | undefined;

/**
 * The symbolic name of an errno value, from the host's full table.
 *
 * @param errno A positive or negative errno value (syscall returns are negative).
 * @returns The name, e.g. `"ENOENT"`, or `"E<n>"` when the number has none.
 * @example
 * ```ts
 * errnoSymbol(-111); // "ECONNREFUSED"
 * ```
 */
export function errnoSymbol(errno: number): string {
  if (!table) {
    table = new Map();
    for (const path of HEADERS) {
      try {
        for (const [n, name] of parseErrnoHeader(Deno.readTextFileSync(path))) table.set(n, name);
      } catch {
        // No headers here: errnoName's built-in table below answers.
      }
    }
  }
  const n = Math.abs(errno);
  return table.get(n) ?? errnoName(n);
}
