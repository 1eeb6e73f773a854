/**
 * Small file checks the kernel-facing code asks often: does a path exist, what kind of file
 * it is when it is not a regular one, a file's text when it can be read, and the kernel id
 * of a BPF fd (from its fdinfo).
 *
 * @module
 */

/**
 * Whether a path exists (following symlinks).
 *
 * @param path The path.
 * @returns False when stat fails for any reason.
 * @example
 * ```ts
 * pathExists("/sys/kernel/btf/vmlinux"); // true on kernels with BTF
 * ```
 */
export function pathExists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * A file's text, or undefined when it cannot be read.
 *
 * @param path The file.
 * @returns The text, or undefined.
 * @example
 * ```ts
 * readTextIfAny("/sys/kernel/tracing/available_events")?.split("\n").length;
 * ```
 */
export function readTextIfAny(path: string | undefined): string | undefined {
  if (!path) return undefined;
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}

/**
 * What a file is when it is not a regular file, in words; undefined for a regular file.
 * Opening a FIFO blocks and a device reads forever, so readers of user-given paths refuse
 * anything else before opening it.
 *
 * @param st The file's stat.
 * @returns E.g. `"a FIFO"`, or undefined.
 * @example
 * ```ts
 * nonRegularKind(Deno.statSync("/dev/null")); // "a character device"
 * ```
 */
export function nonRegularKind(st: Deno.FileInfo): string | undefined {
  if (st.isFile) return undefined;
  if (st.isDirectory) return "a directory";
  if (st.isFifo) return "a FIFO";
  if (st.isCharDevice) return "a character device";
  if (st.isBlockDevice) return "a block device";
  if (st.isSocket) return "a socket";
  return "a special file";
}

/**
 * The kernel id of a BPF fd of this process (what bpftool shows), from /proc/self/fdinfo.
 *
 * @param fd The fd.
 * @param key `"prog_id"`, `"map_id"` or `"link_id"`.
 * @returns The id, or undefined.
 * @example
 * ```ts
 * kernelId(prog.fd, "prog_id"); // 705
 * ```
 */
export function kernelId(fd: number, key: "prog_id" | "map_id" | "link_id"): number | undefined {
  if (fd < 0) return undefined;
  try {
    const text = Deno.readTextFileSync(`/proc/self/fdinfo/${fd}`);
    const m = new RegExp(`${key}:\\s*(\\d+)`).exec(text);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}
