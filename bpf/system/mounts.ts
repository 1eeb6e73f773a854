/**
 * bpffs and tracefs, mounted on demand: a fresh machine may have neither.
 *
 * @module
 */

import { BpfError } from "../../ffi/errors.ts";
import { cstr, errno, libc } from "../../ffi/libc.ts";

/** Where bpffs is expected. */
export const BPFFS_PATH = "/sys/fs/bpf";
/** Where tracefs is expected (the debugfs path is a fallback for old set-ups). */
export const TRACEFS_PATH = "/sys/kernel/tracing";

/**
 * The mount point of a filesystem type, from /proc/self/mounts.
 *
 * @param fsType `"bpf"` or `"tracefs"`.
 * @returns The first mount point of that type, or undefined.
 * @example
 * ```ts
 * mountPointOf("bpf"); // "/sys/fs/bpf"
 * ```
 */
export function mountPointOf(fsType: string): string | undefined {
  let text = "";
  try {
    text = Deno.readTextFileSync("/proc/self/mounts");
  } catch {
    return undefined;
  }
  for (const line of text.split("\n")) {
    const [, dir, type] = line.split(" ");
    if (type === fsType) return dir.replace(/\\040/g, " ");
  }
  return undefined;
}

function mountFs(fsType: string, target: string): void {
  Deno.mkdirSync(target, { recursive: true });
  const ret = libc().mount(cstr(fsType), cstr(target), cstr(fsType), 0n, null);
  if (ret !== 0) {
    throw new BpfError({
      op: `mount ${fsType}`,
      errno: errno(),
      message: `cannot mount ${fsType} at '${target}'`,
      hint: "run as root (mounting needs CAP_SYS_ADMIN)",
    });
  }
}

/**
 * Make sure bpffs is mounted, mounting it at /sys/fs/bpf when it is not.
 *
 * @returns The bpffs mount point.
 * @example
 * ```ts
 * const root = ensureBpffs(); // "/sys/fs/bpf"
 * ```
 */
export function ensureBpffs(): string {
  const existing = mountPointOf("bpf");
  if (existing) return existing;
  mountFs("bpf", BPFFS_PATH);
  return BPFFS_PATH;
}

/**
 * Make sure tracefs is mounted, mounting it at /sys/kernel/tracing when it is not.
 *
 * @returns The tracefs mount point.
 * @example
 * ```ts
 * const pipe = `${ensureTracefs()}/trace_pipe`;
 * ```
 */
export function ensureTracefs(): string {
  const existing = mountPointOf("tracefs");
  if (existing) return existing;
  mountFs("tracefs", TRACEFS_PATH);
  return TRACEFS_PATH;
}

/**
 * A path inside tracefs, mounting tracefs first when it is not mounted; undefined when it
 * cannot be mounted (not root): callers that only look (listings, completion) then find
 * nothing rather than fail.
 *
 * @param sub The path inside tracefs, e.g. `"events/syscalls"`.
 * @returns The full path, or undefined.
 * @example
 * ```ts
 * tracefsPath("available_events"); // "/sys/kernel/tracing/available_events"
 * ```
 */
export function tracefsPath(sub: string): string | undefined {
  try {
    return `${ensureTracefs()}/${sub}`;
  } catch {
    return undefined;
  }
}

/**
 * Whether an attach of this kind goes through tracefs: tracepoints read their event id
 * there, and kprobes and uprobes fall back to its legacy probe events.
 *
 * @param kind The attach kind (see bpf/link/target.ts), or undefined.
 * @returns True when tracefs must be mounted first.
 * @example
 * ```ts
 * attachNeedsTracefs("tracepoint"); // true
 * ```
 */
export function attachNeedsTracefs(kind: string | undefined): boolean {
  return kind === "tracepoint" || kind === "kprobe" || kind === "kprobe_multi" ||
    kind === "uprobe" || kind === "usdt";
}

/**
 * Check that a pin path lies in a bpffs mount, mounting bpffs when needed.
 *
 * @param path The pin path.
 * @returns The path, unchanged.
 * @example
 * ```ts
 * map.pin(pinPath("/sys/fs/bpf/counts"));
 * ```
 */
export function pinPath(path: string): string {
  const root = ensureBpffs();
  if (!path.startsWith(root + "/")) {
    throw new BpfError({
      op: "pin",
      message: `path '${path}' is not inside bpffs`,
      hint: `pin under ${root}/`,
    });
  }
  return path;
}
