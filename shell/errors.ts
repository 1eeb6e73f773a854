/**
 * The shell's own user errors (an unknown map name, a bad value), and the one place that
 * turns any thrown value into the parts of an error line.
 *
 * @module
 */

import type { ErrorLine } from "./output.ts";

/**
 * A mistake in what the user typed: printed as one line, with the usage when `usage` is set.
 *
 * @example
 * ```ts
 * throw new ShellError("no map named 'cnts'", { hint: "maps: counts, events" });
 * ```
 */
export class ShellError extends Error {
  /** What to do about it. */
  readonly hint?: string;
  /** Print the command's usage after the message. */
  readonly usage: boolean;

  constructor(message: string, opts: { hint?: string; usage?: boolean } = {}) {
    super(message);
    this.name = "ShellError";
    this.hint = opts.hint;
    this.usage = opts.usage ?? false;
  }
}

/** How many trailing lines of a verifier or compiler log an error shows. */
const LOG_LINES = 8;

/** What a BpfError looks like, without importing the core to check `instanceof`. */
interface BpfErrorLike {
  name: string;
  message: string;
  op: string;
  code: string;
  hint?: string;
  log?: string;
}

/**
 * Whether a value is a BpfError (checked by shape: the core may not be imported yet).
 *
 * @param e Anything thrown.
 * @returns True for a BpfError.
 * @example
 * ```ts
 * if (isBpfError(e)) console.log(e.code);
 * ```
 */
export function isBpfError(e: unknown): e is BpfErrorLike {
  return e instanceof Error && e.name === "BpfError" && "op" in e && "code" in e;
}

/**
 * The parts of an error line for anything thrown by a command.
 *
 * @param command The command, e.g. `"map dump"`.
 * @param e The thrown value.
 * @returns The message (first line only), hint and code.
 * @example
 * ```ts
 * out.error(describeError("load", e));
 * ```
 */
export function describeError(command: string, e: unknown): ErrorLine {
  if (isBpfError(e)) {
    const [first, ...rest] = e.message.split("\n");
    // A compile error's message quotes clang's first errors with their source lines (the
    // ones that matter: later errors follow from them); a verifier rejection's log matters
    // at its end; elsewhere (attach) the libbpf chatter only repeats the error line.
    const log = e.log && /^load/.test(e.op) ? e.log.trimEnd().split("\n") : [];
    const tail = /^compile/.test(e.op) && e.log
      ? rest.filter((l) => !l.startsWith("hint: "))
      : log.slice(-LOG_LINES);
    if (log.length > LOG_LINES) {
      tail.unshift(`(${log.length - LOG_LINES} earlier lines: lastError.log, or --debug)`);
    }
    // "load: load 'bad': …" says the command twice: the core's message already names it.
    const named = first.startsWith(`${command} `) || first.startsWith(`${command}:`);
    return {
      command: named ? "" : command,
      message: first,
      hint: e.hint,
      code: e.code,
      log: tail.length ? tail : undefined,
    };
  }
  if (e instanceof ShellError) return { command, message: e.message, hint: e.hint };
  if (e instanceof Error) {
    const name = e.name && e.name !== "Error" ? `${e.name}: ` : "";
    return { command, message: name + e.message.split("\n")[0] };
  }
  return { command, message: String(e) };
}
