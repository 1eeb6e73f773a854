/**
 * BPF LSM programs (`lsm/HOOK`): the hook is bound at load; the kernel must list `bpf` in
 * its active LSMs (CONFIG_BPF_LSM and `lsm=...,bpf`).
 *
 * @module
 */

import { ERRNO } from "../../ffi/abi.ts";
import { libbpf } from "../../ffi/libbpf.ts";
import { type AttachContext, attachWithLibbpf, type LinkRelease } from "./link.ts";

/**
 * Attach an LSM program to its hook.
 *
 * @param ctx The loaded program.
 * @returns The link's release.
 * @example
 * ```ts
 * attachLsm(ctx); // SEC("lsm/file_open")
 * ```
 */
export function attachLsm(ctx: AttachContext): LinkRelease {
  return attachWithLibbpf(
    ctx,
    () => libbpf().bpf_program__attach_lsm(ctx.ptr),
    (errno) =>
      errno === ERRNO.EOPNOTSUPP || errno === ERRNO.ENOTSUPP || errno === ERRNO.EPERM
        ? "the BPF LSM is not active: it needs CONFIG_BPF_LSM and 'bpf' in the lsm= boot " +
          "parameter (cat /sys/kernel/security/lsm)"
        : undefined,
  );
}
