/**
 * Small file checks the kernel-facing code asks often: does a path exist, and a file's text
 * when it can be read.
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
