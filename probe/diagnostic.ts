/**
 * Diagnostics of the probe language: every error names where it is in the program
 * (`line:column`) and shows that line with a caret under the construct, as bpftrace does:
 *
 * ```
 * stdin:1:38-42: ERROR: unknown function 'cont'
 * tracepoint:syscalls:sys_enter_openat { @[comm] = cont(); }
 *                                                  ^~~~
 * ```
 *
 * @module
 */

import { BpfError } from "../ffi/errors.ts";

/** A span of the program text: 0-based offsets, `end` exclusive. */
export interface Span {
  /** First character. */
  start: number;
  /** One past the last character. */
  end: number;
}

/** A program's text and the name errors give it (`stdin` for `-e`, else the file). */
export interface SourceText {
  /** The name shown before `line:column`. */
  name: string;
  /** The whole program. */
  text: string;
}

/**
 * An error in a probe program: a {@link BpfError} (op `"probe"`) whose message is the
 * bpftrace-style diagnostic. `line`/`column` are 1-based.
 *
 * @example
 * ```ts
 * try {
 *   await startProbe("BEGIN { @x = nope(); }");
 * } catch (e) {
 *   // stdin:1:14-18: ERROR: Unknown function: nope, the line, and a caret under "nope"
 *   if (e instanceof ProbeError) console.error(e.diagnostic);
 * }
 * ```
 */
export class ProbeError extends BpfError {
  /** 1-based line of the construct. */
  readonly line: number;
  /** 1-based column of its first character. */
  readonly column: number;
  /** The diagnostic as printed: location, message, source line and caret. */
  readonly diagnostic: string;
  /** The message alone. */
  readonly reason: string;

  /**
   * An error at a span of a program's text (made by the compiler's passes).
   *
   * @param src The program's text and name.
   * @param span Where, when known.
   * @param reason What is wrong.
   * @param hint What to do about it.
   * @ignore
   */
  constructor(src: SourceText, span: Span | undefined, reason: string, hint?: string) {
    const where = span ? locate(src.text, span) : undefined;
    const head = where
      ? `${src.name}:${where.line}:${where.column}${
        where.endColumn > where.column + 1 ? `-${where.endColumn}` : ""
      }: ERROR: ${reason}`
      : `${src.name}: ERROR: ${reason}`;
    const body = where
      ? `\n${where.text}\n${caret(where.text, where.column, where.endColumn)}`
      : "";
    const diagnostic = head + body + (hint ? `\nHINT: ${hint}` : "");
    super({ op: "probe", message: head.replace(/: ERROR:/, ":") + body, hint });
    this.name = "ProbeError";
    this.line = where?.line ?? 0;
    this.column = where?.column ?? 0;
    this.diagnostic = diagnostic;
    this.reason = reason;
  }
}

/** Where a span is: 1-based line and columns, and the text of its (first) line. */
function locate(text: string, span: Span) {
  const start = Math.max(0, Math.min(span.start, text.length));
  const lineStart = text.lastIndexOf("\n", start - 1) + 1;
  let lineEnd = text.indexOf("\n", start);
  if (lineEnd < 0) lineEnd = text.length;
  const line = text.slice(0, start).split("\n").length;
  const column = start - lineStart + 1;
  const end = Math.min(Math.max(span.end, start + 1), lineEnd + 1);
  return { line, column, endColumn: end - lineStart + 1, text: text.slice(lineStart, lineEnd) };
}

/** `^~~~` under columns `[from, to)` of a line (tabs kept, so it lines up). */
function caret(line: string, from: number, to: number): string {
  const pad = line.slice(0, from - 1).replace(/[^\t]/g, " ");
  return pad + "^" + "~".repeat(Math.max(0, to - from - 1));
}

/**
 * Throw a {@link ProbeError}.
 *
 * @param src The program.
 * @param span Where; undefined for errors about the whole program.
 * @param reason What is wrong, naming the construct.
 * @param hint What to do instead, when known.
 * @returns Never.
 * @example
 * ```ts
 * fail(src, node.span, "while loops are not supported", "unroll it by hand");
 * ```
 */
export function fail(
  src: SourceText,
  span: Span | undefined,
  reason: string,
  hint?: string,
): never {
  throw new ProbeError(src, span, reason, hint);
}

/**
 * The names closest to a misspelt one (edit distance), for "did you mean" hints.
 *
 * @param name What the user wrote.
 * @param names What exists.
 * @param max How many to return.
 * @returns Up to `max` names, nearest first; only reasonably close ones.
 * @example
 * ```ts
 * nearest("sys_enter_opnat", ["sys_enter_openat", "sys_exit_openat"]); // ["sys_enter_openat", …]
 * ```
 */
export function nearest(name: string, names: Iterable<string>, max = 3): string[] {
  const scored: [number, string][] = [];
  const limit = Math.max(2, Math.floor(name.length / 3));
  for (const n of names) {
    if (Math.abs(n.length - name.length) > limit + 4) continue;
    const d = distance(name, n);
    if (d <= limit || n.includes(name) || name.includes(n) && n.length > 3) scored.push([d, n]);
  }
  scored.sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : 1));
  return scored.slice(0, max).map(([, n]) => n);
}

/** Levenshtein distance. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}
