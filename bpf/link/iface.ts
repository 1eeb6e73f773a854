/**
 * Network interfaces by name or index, for xdp, tc and socket filters.
 *
 * @module
 */

import { ERRNO } from "../../ffi/abi.ts";
import { BpfError } from "../../ffi/errors.ts";
import { cstr, libc } from "../../ffi/libc.ts";

/**
 * Resolve a network interface name (or number) to its index.
 *
 * @param iface `"lo"`, `"eth0"` or `"1"` (already checked as a name by target.ts).
 * @param op The operation, for the error.
 * @returns The ifindex.
 * @throws {BpfError} ENODEV when no such interface exists.
 * @example
 * ```ts
 * ifindexOf("lo", "attach"); // 1
 * ```
 */
export function ifindexOf(iface: string, op: string): number {
  if (/^\d+$/.test(iface)) return Number(iface);
  // if_nametoindex() reads "lo:x" as lo's alias "x" and answers lo: never hand it a colon.
  if (!/^[^\s/:]{1,15}$/.test(iface)) {
    throw new BpfError({ op, message: `'${iface}' is not an interface name`, hint: "ip link" });
  }
  const idx = libc().if_nametoindex(cstr(iface));
  if (!idx) {
    throw new BpfError({
      op,
      errno: ERRNO.ENODEV,
      message: `no network interface named '${iface}'`,
      hint: "ip link",
    });
  }
  return idx;
}
