/**
 * Symbolized stacks with a value (a count, or nanoseconds), and Brendan Gregg's folded
 * format for flame graphs (`flamegraph.pl`, speedscope, inferno):
 * `comm;outermost;...;innermost value`, one line per distinct stack.
 *
 * @module
 */

import { type Frame, frameName } from "./frame.ts";

/** One stack and how often (or how long) it was seen. */
export interface StackSample {
  /** The process id (tgid). */
  readonly pid: number;
  /** The command name. */
  readonly comm: string;
  /** The kernel frames, innermost first (empty when not taken). */
  readonly kernel: readonly Frame[];
  /** The user frames, innermost first (empty when not taken). */
  readonly user: readonly Frame[];
  /** The count, or the time in nanoseconds. */
  readonly value: number;
  /** Notes about the stack: a lost stack, a walk cut short. */
  readonly notes?: readonly string[];
}

/**
 * A stack as one folded line: the command, then user frames from the outermost in, then
 * kernel frames, then the value. Semicolons inside names become colons.
 *
 * @param s The sample.
 * @returns E.g. `"chain;main;alpha;beta;gamma;do_syscall_64 42"`.
 * @example
 * ```ts
 * const user = [
 *   { address: 0x1010n, kernel: false, symbol: "f", offset: 16 },
 *   { address: 0x1110n, kernel: false, symbol: "main", offset: 9 },
 * ];
 * foldedLine({ pid: 1, comm: "x", user, kernel: [], value: 3 }); // "x;main;f 3"
 * ```
 */
export function foldedLine(s: StackSample): string {
  const parts = [clean(s.comm)];
  for (let i = s.user.length - 1; i >= 0; i--) parts.push(clean(frameName(s.user[i])));
  for (let i = s.kernel.length - 1; i >= 0; i--) parts.push(clean(frameName(s.kernel[i])));
  return `${parts.join(";")} ${s.value}`;
}

/**
 * Samples as folded lines, equal stacks merged (their values added), biggest first.
 *
 * @param samples The samples.
 * @returns The lines.
 * @example
 * ```ts
 * const user = [{ address: 0x1010n, kernel: false, symbol: "main", offset: 16 }];
 * const samples = [1, 2].map((value) => ({ pid: 1, comm: "x", user, kernel: [], value }));
 * toFolded(samples); // ["x;main 3"]
 * ```
 */
export function toFolded(samples: Iterable<StackSample>): string[] {
  const sums = new Map<string, number>();
  for (const s of samples) {
    const line = foldedLine(s);
    const cut = line.lastIndexOf(" ");
    const key = line.slice(0, cut);
    sums.set(key, (sums.get(key) ?? 0) + s.value);
  }
  return [...sums].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([k, v]) => `${k} ${v}`);
}

function clean(name: string): string {
  return name.replaceAll(";", ":").replaceAll("\n", " ");
}
