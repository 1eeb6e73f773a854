/**
 * Network-namespace programs (`sk_lookup`, `flow_dissector`) on a namespace, through a
 * BPF link (Linux 5.7+ for flow_dissector, 5.9+ for sk_lookup).
 *
 * @module
 */

import { ERRNO } from "../../ffi/abi.ts";
import { BpfError } from "../../ffi/errors.ts";
import { libbpf } from "../../ffi/libbpf.ts";
import { type AttachContext, attachThroughFile, type LinkRelease } from "./link.ts";

/**
 * The namespace file a target names: a path (`/proc/PID/ns/net`, `/run/netns/NAME`), or a
 * name made by `ip netns add` (looked up in /run/netns).
 *
 * @param target The path or name.
 * @param op The operation, for errors.
 * @returns The path.
 * @example
 * ```ts
 * netnsPath("blue", "attach"); // "/run/netns/blue"
 * ```
 */
export function netnsPath(target: string, op: string): string {
  const path = target.includes("/") ? target : `/run/netns/${target}`;
  try {
    Deno.statSync(path);
  } catch {
    throw new BpfError({
      op,
      errno: ERRNO.ENOENT,
      message: `no network namespace '${target}'`,
      hint: "give /proc/PID/ns/net, /run/netns/NAME or a name from `ip netns list`",
    });
  }
  return path;
}

/**
 * Attach an sk_lookup or flow_dissector program to a network namespace.
 *
 * @param ctx The loaded program.
 * @param target The namespace (see {@link netnsPath}).
 * @returns The link's release.
 * @example
 * ```ts
 * attachNetns(ctx, "/proc/self/ns/net");
 * ```
 */
export function attachNetns(ctx: AttachContext, target: string): LinkRelease {
  const path = netnsPath(target, ctx.op);
  return attachThroughFile(
    ctx,
    path,
    0,
    (fd) => libbpf().bpf_program__attach_netns(ctx.ptr, fd),
    (code) =>
      code === ERRNO.EINVAL
        ? `'${path}' is not a network namespace file`
        : code === ERRNO.EEXIST
        ? "that namespace already has a flow dissector program (bpftool net)"
        : undefined,
  );
}
