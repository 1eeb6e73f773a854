/**
 * One symbolized stack frame, and the ways a frame is printed: bpftrace's (`name+offset`),
 * perf's (`address name+offset (module)`) and bare addresses.
 *
 * @module
 */

/** A stack frame with what is known about it. */
export interface Frame {
  /** The address the stack held (an instruction pointer or a return address). */
  readonly address: bigint;
  /** Whether the address is in the kernel. */
  readonly kernel: boolean;
  /** The function's name, when known. */
  readonly symbol?: string;
  /** The distance from the function's start, in bytes, when the symbol is known. */
  readonly offset?: number;
  /**
   * Where the code lives: a kernel module (`"[bpf]"`, `"[nf_tables]"`; undefined for the
   * kernel image), or the file a user address is mapped from (`"/usr/bin/bash"`,
   * `"[vdso]"`, `"[perf-map]"` for JIT code).
   */
  readonly module?: string;
  /** Why there is no symbol, when there is none, e.g. `"no symbols in /usr/bin/x"`. */
  readonly unknown?: string;
}

/** How frames are printed: see {@link formatFrame}. */
export type FrameStyle = "bpftrace" | "perf" | "raw";

/**
 * A frame as one line of text.
 *
 * - `"bpftrace"`: `do_syscall_64+506`; an unknown frame as its address and the reason;
 * - `"perf"`: the address in hex, then `name+offset`, then the module in parentheses;
 * - `"raw"`: the address in hex alone.
 *
 * @param f The frame.
 * @param style The style (default `"bpftrace"`).
 * @returns The text, without indentation.
 * @example
 * ```ts
 * formatFrame({ address: 0xffffffff81e5c1fan, kernel: true, symbol: "do_syscall_64", offset: 506 });
 * // "do_syscall_64+506"
 * formatFrame({ address: 0x5589db2c117en, kernel: false, unknown: "no symbols in /tmp/x" });
 * // "0x5589db2c117e [unknown: no symbols in /tmp/x]"
 * ```
 */
export function formatFrame(f: Frame, style: FrameStyle = "bpftrace"): string {
  if (style === "raw") return `0x${f.address.toString(16)}`;
  const name = f.symbol === undefined ? undefined : f.offset ? `${f.symbol}+${f.offset}` : f.symbol;
  if (style === "perf") {
    const what = name ?? `[unknown: ${f.unknown ?? "no symbol"}]`;
    const module = f.module ?? (f.kernel ? "[kernel.kallsyms]" : "[unknown]");
    return `${f.address.toString(16)} ${what} (${module})`;
  }
  return name ?? `0x${f.address.toString(16)} [unknown: ${f.unknown ?? "no symbol"}]`;
}

/**
 * A frame's name for folded stacks and profiles: the symbol without its offset, else the
 * address in hex (so equal code folds into one entry).
 *
 * @param f The frame.
 * @returns E.g. `"do_syscall_64"`, `"0x5589db2c117e"`.
 * @example
 * ```ts
 * frameName({ address: 0x401000n, kernel: false, symbol: "main", offset: 12 }); // "main"
 * ```
 */
export function frameName(f: Frame): string {
  return f.symbol ?? `0x${f.address.toString(16)}`;
}

/**
 * A whole stack as bpftrace prints `kstack`/`ustack` in `printf("%s")` and in map keys: a
 * newline, then one frame per line, indented (8 spaces in bpftrace's mode, a tab in perf's),
 * each ending with a newline. Frames with no symbol carry the reason in brackets, where
 * bpftrace prints the bare address.
 *
 * @param frames The frames, innermost first.
 * @param style `"bpftrace"` (default), `"perf"` or `"raw"`.
 * @param indent What starts each frame's line (default 8 spaces; perf's style: a tab);
 *   bpftrace indents the stacks of map keys by 4 spaces.
 * @returns The text.
 * @example
 * ```ts
 * formatStack([
 *   { address: 0xffffffff821ed69an, kernel: true, symbol: "do_syscall_64", offset: 506 },
 *   { address: 0xffffffff82400076n, kernel: true, symbol: "entry_SYSCALL_64_after_hwframe", offset: 118 },
 * ]);
 * // "\n        do_syscall_64+506\n        entry_SYSCALL_64_after_hwframe+118\n"
 * ```
 */
export function formatStack(
  frames: readonly Frame[],
  style: FrameStyle = "bpftrace",
  indent: string = style === "perf" ? "\t" : "        ",
): string {
  let out = "\n";
  for (const f of frames) {
    out += style === "perf" && f.kernel && !f.module && f.symbol !== undefined
      ? `${indent}${f.address.toString(16)} ${f.offset ? `${f.symbol}+${f.offset}` : f.symbol}\n`
      : `${indent}${formatFrame(f, style)}\n`;
  }
  return out;
}
