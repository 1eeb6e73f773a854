/**
 * Syscall numbers and names of the host, read at run time from the kernel headers
 * (`asm/unistd_64.h` on x86_64, `asm-generic/unistd.h` on arm64), with a small built-in
 * table when the headers are not installed.
 *
 * @module
 */

/** The few x86_64 syscalls the scripts name even without kernel headers. */
const X86_64_FALLBACK: Record<string, number> = {
  read: 0,
  write: 1,
  open: 2,
  close: 3,
  openat: 257,
  execve: 59,
  clone: 56,
  exit_group: 231,
};

/** Where the host's `#define __NR_name number` lines are. */
function headerPaths(): string[] {
  return Deno.build.arch === "aarch64"
    ? ["/usr/include/asm-generic/unistd.h", "/usr/include/aarch64-linux-gnu/asm/unistd.h"]
    : ["/usr/include/x86_64-linux-gnu/asm/unistd_64.h", "/usr/include/asm/unistd_64.h"];
}

/**
 * Parse `#define __NR_name number` lines.
 *
 * @param text A unistd header.
 * @returns Name → number.
 * @example
 * ```ts
 * parseUnistd("#define __NR_read 0\n#define __NR_write 1"); // Map { read → 0, write → 1 }
 * ```
 */
export function parseUnistd(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^#define\s+__NR3?2?_(\w+)\s+(\d+)\s*$/gm)) {
    out.set(m[1], Number(m[2]));
  }
  return out;
}

let byName: Map<string, number> | undefined;
let byNumber: Map<number, string> | undefined;

function load(): void {
  if (byName) return;
  byName = new Map();
  for (const path of headerPaths()) {
    try {
      byName = parseUnistd(Deno.readTextFileSync(path));
      if (byName.size) break;
    } catch {
      // Try the next place; the fallback below covers a system without headers.
    }
  }
  if (!byName.size && Deno.build.arch === "x86_64") {
    byName = new Map(Object.entries(X86_64_FALLBACK));
  }
  byNumber = new Map();
  for (const [name, nr] of byName) if (!byNumber.has(nr)) byNumber.set(nr, name);
}

/**
 * The name of a syscall number.
 *
 * @param nr The number.
 * @returns Its name, or `syscall_<nr>` when unknown.
 * @example
 * ```ts
 * syscallName(59); // "execve" on x86_64
 * ```
 */
export function syscallName(nr: number): string {
  load();
  return byNumber!.get(nr) ?? `syscall_${nr}`;
}

/**
 * The number of a syscall name.
 *
 * @param name The name, e.g. `"openat"`.
 * @returns Its number, or undefined when this architecture has no such syscall.
 * @example
 * ```ts
 * syscallNumber("openat"); // 257 on x86_64
 * ```
 */
export function syscallNumber(name: string): number | undefined {
  load();
  return byName!.get(name);
}
