/**
 * A program the kernel refused, as a diagnostic at the probe it came from: the probe's
 * source under a caret, the verifier's log kept (and its last lines in the message), and
 * a hint for the back end that built it.
 *
 * @module
 */

import { BpfError } from "../ffi/errors.ts";
import { ProbeError, type SourceText } from "./diagnostic.ts";
import type { ProbeSpec } from "./spec.ts";

/** The last lines of a verifier log a diagnostic shows (the error is at the end). */
const LOG_TAIL = 12;

/**
 * A load failure as a diagnostic at the probe whose program the verifier rejected.
 *
 * @param e What the load threw.
 * @param spec The compiled program.
 * @param src Its text.
 * @param backend Which back end built the instructions (the hint differs).
 * @returns A {@link ProbeError} for a rejection, else `e` unchanged.
 * @example
 * ```ts
 * try { load(); } catch (e) { throw verifierError(e, spec, src, "c"); }
 * ```
 */
export function verifierError(
  e: unknown,
  spec: ProbeSpec,
  src: SourceText,
  backend: "c" | "direct" = "c",
): unknown {
  if (!(e instanceof BpfError)) return e;
  const text = `${e.message}\n${e.log ?? ""}`;
  const m = /prog '(probe_\d+)(?:_\d+)?'/.exec(text);
  const prog = m
    ? spec.programs.find((p) => p.name === m[1] || p.name.startsWith(`${m[1]}_`))
    : undefined;
  if (prog && (prog.provider === "kfunc" || prog.provider === "kretfunc") && e.errno === 1) {
    return new ProbeError(
      src,
      prog.span,
      `${prog.provider} probes (fentry/fexit) are refused by this kernel (${e.code})`,
      "use a tracepoint (bpfsh -l 'tracepoint:*') or a rawtracepoint instead",
    );
  }
  const log = e.log?.trimEnd();
  const hint = !log
    ? e.hint
    : backend === "direct"
    ? "the log is of the instructions bpfsh generated directly; BPFSH_PROBE_BACKEND=c builds " +
      "the program through C instead (bpfsh --emit-c prints that C)"
    : "bpfsh --emit-c prints the C the log refers to";
  const tail = log ? log.split("\n").slice(-LOG_TAIL).join("\n") : "";
  const err = new ProbeError(
    src,
    prog?.span,
    `the kernel verifier rejected ${
      prog ? `the program of this probe (${prog.name})` : "the program"
    }`,
    hint,
  );
  Object.defineProperty(err, "log", { value: e.log });
  if (tail) {
    const more = `\nthe end of the verifier's log:\n${tail}`;
    Object.defineProperty(err, "diagnostic", { value: err.diagnostic + more });
    Object.defineProperty(err, "message", { value: err.message + more });
  }
  return err;
}
