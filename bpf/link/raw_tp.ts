/**
 * Raw tracepoints (`raw_tp/NAME`): the tracepoint's raw arguments, no perf event.
 *
 * @module
 */

import { ERRNO } from "../../ffi/abi.ts";
import { libbpf } from "../../ffi/libbpf.ts";
import { cstr } from "../../ffi/libc.ts";
import { type AttachContext, attachWithLibbpf, type LinkRelease } from "./link.ts";

/**
 * Attach a raw tracepoint program.
 *
 * @param ctx The loaded program.
 * @param name The tracepoint, e.g. `"sys_enter"` or `"sched_switch"`.
 * @returns The link's release.
 * @example
 * ```ts
 * attachRawTracepoint(ctx, "sys_enter");
 * ```
 */
export function attachRawTracepoint(ctx: AttachContext, name: string): LinkRelease {
  return attachWithLibbpf(
    ctx,
    () => libbpf().bpf_program__attach_raw_tracepoint(ctx.ptr, cstr(name)),
    (errno) =>
      errno === ERRNO.ENOENT
        ? `no raw tracepoint '${name}': list them with: probes 'rawtracepoint:*'`
        : undefined,
  );
}
