/**
 * Tracepoints (`tracepoint/CATEGORY/NAME`): a perf event opened on the tracepoint's id,
 * which lives in tracefs.
 *
 * @module
 */

import { BPF_TRACEPOINT_OPTS, ERRNO } from "../../ffi/abi.ts";
import { BpfError } from "../../ffi/errors.ts";
import { libbpf } from "../../ffi/libbpf.ts";
import { cstr } from "../../ffi/libc.ts";
import { pathExists } from "../system/files.ts";
import { ensureTracefs } from "../system/mounts.ts";
import { type AttachContext, attachWithLibbpf, type LinkRelease } from "./link.ts";

/**
 * Attach a tracepoint program.
 *
 * @param ctx The loaded program.
 * @param category The tracepoint's category, e.g. `"syscalls"`.
 * @param name The tracepoint, e.g. `"sys_enter_close"`.
 * @param cookie The value `bpf_get_attach_cookie()` returns in the program, if any.
 * @returns The link's release.
 * @throws {BpfError} ENOENT naming the tracepoint when tracefs has no such event.
 * @example
 * ```ts
 * attachTracepoint(ctx, "syscalls", "sys_enter_close");
 * ```
 */
export function attachTracepoint(
  ctx: AttachContext,
  category: string,
  name: string,
  cookie?: bigint,
): LinkRelease {
  const events = `${ensureTracefs()}/events`;
  if (!pathExists(`${events}/${category}/${name}/id`)) {
    throw new BpfError({
      op: ctx.op,
      errno: ERRNO.ENOENT,
      message: pathExists(`${events}/${category}`)
        ? `no tracepoint '${name}' in category '${category}'`
        : `no tracepoint category '${category}'`,
      hint: `list them with: probes 'tracepoint:${category}:*'`,
    });
  }
  if (cookie !== undefined) {
    const opts = BPF_TRACEPOINT_OPTS.alloc();
    BPF_TRACEPOINT_OPTS.set(opts, "bpf_cookie", cookie);
    return attachWithLibbpf(
      ctx,
      () => libbpf().bpf_program__attach_tracepoint_opts(ctx.ptr, cstr(category), cstr(name), opts),
    );
  }
  return attachWithLibbpf(
    ctx,
    () => libbpf().bpf_program__attach_tracepoint(ctx.ptr, cstr(category), cstr(name)),
  );
}
