/**
 * What the tables of builtins (./builtins.ts) and functions (./functions.ts) see of the
 * compiler: the probe a use sits in (for the check pass) and a C code sink (for the emit
 * pass). Kept apart from both passes so the tables import neither.
 *
 * @module
 */

import type { AttachPoint } from "./attach.ts";
import type { Expr } from "./ast.ts";
import type { Span } from "./diagnostic.ts";
import type { TracepointField } from "./tracefs.ts";

/**
 * The name of the return value's slot in a `kretfunc:` argument layout (./kfunc.ts): no
 * parameter can be called this.
 */
export const RETVAL_FIELD = "$retval";

/** Probe providers. */
export type Provider = AttachPoint["provider"];

/** The probe a builtin or function is used in, as the check pass sees it. */
export interface ProbeSite {
  /** The providers of the program being built (one program type per program). */
  provider: Provider;
  /** Report an error at a span (never returns). */
  fail(span: Span, reason: string, hint?: string): never;
  /** A field of the program's `args` layout (kretfunc: also the return value's slot). */
  field(name: string): TracepointField | undefined;
}

/** A C code sink for one program, as the emit pass gives it to the tables. */
export interface EmitSink {
  /** The provider of the program. */
  provider: Provider;
  /**
   * Declare a local variable at the top of the function.
   *
   * @param cType Its C type (`"__u64"`, `"char"`).
   * @param arrayLen For arrays: the length.
   * @returns Its name.
   */
  local(cType: string, arrayLen?: number): string;
  /** Append a statement (a line of C) to the current block. */
  stmt(code: string): void;
  /** Add a file-scope definition once (helpers, extra maps), by a unique name. */
  define(name: string, code: string): void;
  /** The C expression of the program's target index (constant, or the attach cookie). */
  targetIndex(): string;
  /** The context pointer's C name. */
  ctx: string;
  /** The C expression reading a field of the program's `args` layout. */
  field(name: string): string;
  /** The C expression of an integer (or special kind) sub-expression. */
  int(e: Expr): string;
  /** A string sub-expression, evaluated into a zeroed local buffer: its name and size. */
  str(e: Expr): { buf: string; size: number };
}
