/**
 * XDP programs on a network interface (`IFACE`), through a BPF link: closing it (or the
 * process ending) detaches the program.
 *
 * @module
 */

import { ERRNO } from "../../ffi/abi.ts";
import { libbpf } from "../../ffi/libbpf.ts";
import { ifindexOf } from "./iface.ts";
import { type AttachContext, attachWithLibbpf, type LinkRelease } from "./link.ts";

/**
 * Attach an XDP program to an interface.
 *
 * @param ctx The loaded program.
 * @param iface The interface name or index.
 * @returns The link's release.
 * @example
 * ```ts
 * attachXdp(ctx, "lo");
 * ```
 */
export function attachXdp(ctx: AttachContext, iface: string): LinkRelease {
  const ifindex = ifindexOf(iface, ctx.op);
  return attachWithLibbpf(
    ctx,
    () => libbpf().bpf_program__attach_xdp(ctx.ptr, ifindex),
    (errno) =>
      errno === ERRNO.EBUSY || errno === ERRNO.EEXIST
        ? `'${iface}' already has an XDP program (ip link show ${iface}; bpftool net)`
        : undefined,
  );
}
