/**
 * cgroup programs (`cgroup_skb/ingress|egress`, `cgroup/connect4`, `cgroup/sock_create`,
 * `sockops`, `cgroup/dev`, `cgroup/sysctl`, …) on a cgroup v2 directory, through a BPF link
 * (Linux 5.7+): closing it, or the process ending, detaches the program.
 *
 * @module
 */

import { ERRNO } from "../../ffi/abi.ts";
import { BpfError } from "../../ffi/errors.ts";
import { libbpf } from "../../ffi/libbpf.ts";
import { O_DIRECTORY } from "../../ffi/libc.ts";
import { mountPointOf } from "../system/mounts.ts";
import { type AttachContext, attachThroughFile, type LinkRelease } from "./link.ts";

/**
 * The cgroup v2 directory a target names: an absolute path inside a cgroup2 mount, or a
 * path relative to the first cgroup2 mount (`""` or `"/"` for its root).
 *
 * @param target `"/sys/fs/cgroup/my.slice"` or `"my.slice"`.
 * @param op The operation, for errors.
 * @returns The absolute directory.
 * @throws {BpfError} When no cgroup2 is mounted or the path is not a cgroup v2 directory.
 * @example
 * ```ts
 * cgroupPath("system.slice", "attach"); // "/sys/fs/cgroup/system.slice"
 * ```
 */
export function cgroupPath(target: string, op: string): string {
  const root = mountPointOf("cgroup2");
  if (!root) {
    throw new BpfError({
      op,
      errno: ERRNO.ENOENT,
      message: "no cgroup v2 hierarchy is mounted",
      hint: "mount one: mount -t cgroup2 none /sys/fs/cgroup",
    });
  }
  const path = target.startsWith("/") ? target : `${root}/${target}`.replace(/\/+$/, "");
  const normal = path.replace(/\/+/g, "/").replace(/\/$/, "") || "/";
  if (normal !== root && !normal.startsWith(`${root}/`)) {
    throw new BpfError({
      op,
      message: `'${target}' is not inside the cgroup v2 hierarchy at ${root}`,
      hint: `give a directory under ${root}/ (cgroup v1 hierarchies take no BPF programs)`,
    });
  }
  if (normal.split("/").includes("..")) {
    throw new BpfError({ op, message: `'${target}' may not contain '..'` });
  }
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(normal);
  } catch {
    throw new BpfError({ op, errno: ERRNO.ENOENT, message: `no cgroup '${normal}'` });
  }
  if (!info.isDirectory) {
    throw new BpfError({ op, errno: ERRNO.ENOTDIR, message: `'${normal}' is not a cgroup` });
  }
  return normal;
}

/**
 * Attach a cgroup program to a cgroup v2 directory.
 *
 * @param ctx The loaded program.
 * @param target The cgroup (see {@link cgroupPath}).
 * @returns The link's release.
 * @example
 * ```ts
 * attachCgroup(ctx, "/sys/fs/cgroup/test.slice");
 * ```
 */
export function attachCgroup(ctx: AttachContext, target: string): LinkRelease {
  const path = cgroupPath(target, ctx.op);
  return attachThroughFile(
    ctx,
    path,
    O_DIRECTORY,
    (fd) => libbpf().bpf_program__attach_cgroup(ctx.ptr, fd),
    (code) =>
      code === ERRNO.EBADF
        ? `'${path}' is not a cgroup v2 directory`
        : code === ERRNO.EINVAL
        ? "the program's section names no cgroup attach type (cgroup_skb/ingress, " +
          "cgroup/connect4, sockops, …)"
        : undefined,
  );
}
