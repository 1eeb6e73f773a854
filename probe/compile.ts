/**
 * The probe compiler's pipeline: parse → resolve → check → emit, text to
 * {@link ProbeSpec} (the C and what the runner needs). Each pass is its own module.
 *
 * @module
 */

import { check, type CheckedProgram } from "./check.ts";
import type { SourceText } from "./diagnostic.ts";
import { emit, type EmitOptions } from "./emit.ts";
import { parseProgram } from "./parse.ts";
import { resolve, type ResolvedProgram } from "./resolve.ts";
import type { ProbeSpec } from "./spec.ts";

/** Options of {@link compileProbe}. */
export interface CompileProbeOptions extends EmitOptions {
  /** Positional parameters `$1`, `$2`, … */
  params?: string[];
  /** The name errors give the program (`stdin` for `-e`, else the file). */
  name?: string;
}

/**
 * Compile a probe program to BPF C and its spec.
 *
 * @param text The program.
 * @param opts Parameters, the source name, and emit options.
 * @returns The spec; its `c` is the BPF C.
 * @throws {ProbeError} With a bpftrace-style diagnostic on any error.
 * @example
 * ```ts
 * const spec = compileProbe("tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }");
 * console.log(spec.c);
 * ```
 */
export function compileProbe(text: string, opts: CompileProbeOptions = {}): ProbeSpec {
  return compileProbeParts(text, opts).spec;
}

/** What each pass of {@link compileProbeParts} made. */
export interface CompiledParts {
  src: SourceText;
  resolved: ResolvedProgram;
  checked: CheckedProgram;
  spec: ProbeSpec;
}

/**
 * Compile a probe program, keeping what each pass made (the direct back end reads the
 * resolved and checked program beside the spec).
 *
 * @param text The program.
 * @param opts As for {@link compileProbe}.
 * @returns The source, the resolved and checked program, and the spec.
 * @throws {ProbeError} With a bpftrace-style diagnostic on any error.
 * @example
 * ```ts
 * const { spec } = compileProbeParts("BEGIN { exit(); }");
 * spec.programs[0].provider; // "BEGIN"
 * ```
 */
export function compileProbeParts(text: string, opts: CompileProbeOptions = {}): CompiledParts {
  const src: SourceText = { name: opts.name ?? "stdin", text };
  const prog = parseProgram(src);
  const resolved = resolve(src, prog, { params: opts.params });
  const checked = check(src, resolved);
  return { src, resolved, checked, spec: emit(src, resolved, checked, opts) };
}
