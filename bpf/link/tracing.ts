/**
 * BTF-typed tracing programs: tp_btf, fentry, fexit and fmod_ret. Their function is bound
 * when the program loads (the section, or Program.setAttachTarget()); attaching creates the
 * trampoline link.
 *
 * @module
 */

import { ERRNO } from "../../ffi/abi.ts";
import { libbpf } from "../../ffi/libbpf.ts";
import { type AttachContext, attachWithLibbpf, type LinkRelease } from "./link.ts";

/**
 * Attach a tp_btf, fentry, fexit or fmod_ret program to the function it was loaded for.
 *
 * @param ctx The loaded program.
 * @returns The link's release.
 * @example
 * ```ts
 * attachTracing(ctx); // SEC("fentry/do_unlinkat")
 * ```
 */
export function attachTracing(ctx: AttachContext): LinkRelease {
  return attachWithLibbpf(ctx, () => libbpf().bpf_program__attach_trace(ctx.ptr), (errno) => {
    if (errno === ERRNO.ENOTSUPP || errno === ERRNO.EOPNOTSUPP) {
      return "this kernel has no BPF trampolines for this architecture: use a kprobe or " +
        "a tp_btf/raw_tp program";
    }
    if (errno === ERRNO.EBUSY) {
      return "fmod_ret and fexit on one function share a trampoline with a limit: detach another";
    }
    return undefined;
  });
}
