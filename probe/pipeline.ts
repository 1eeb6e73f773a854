/**
 * The probe compiler's pipeline, parse → resolve → check → emit, with only the modules a
 * program's providers need: {@link compileProbeAsync} loads the support of `kfunc:`,
 * `uprobe:` and `rawtracepoint:` (the BTF parser, the ELF reader, libbpf's bindings) when
 * the program uses them, so a tracepoint, interval, profile or BEGIN/END program compiles
 * without loading any of it. probe/compile.ts's `compileProbe` is the same pipeline,
 * synchronous, with every provider's support imported up front.
 *
 * @module
 */

import type { Program } from "./ast.ts";
import { check, type CheckedProgram } from "./check.ts";
import type { SourceText } from "./diagnostic.ts";
import { emit, type EmitOptions } from "./emit.ts";
import { parseProgram } from "./parse.ts";
import { loadProviderSupport, type ProviderSupport } from "./providers.ts";
import { programProviders, resolve, type ResolvedProgram } from "./resolve.ts";
import type { ProbeSpec } from "./spec.ts";

/** Options of {@link compileProbeAsync} (and of probe/compile.ts's `compileProbe`). */
export interface CompileProbeOptions extends EmitOptions {
  /** Positional parameters `$1`, `$2`, … */
  params?: string[];
  /** The name errors give the program (`stdin` for `-e`, else the file). */
  name?: string;
}

/**
 * Compile a probe program to BPF C and its spec, loading first what its providers need.
 *
 * @param text The program.
 * @param opts Parameters, the source name, and emit options.
 * @returns The spec; its `c` is the BPF C.
 * @throws {ProbeError} With a bpftrace-style diagnostic on any error (the same as
 *   `compileProbe`'s).
 * @example
 * ```ts
 * const spec = await compileProbeAsync("tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }");
 * console.log(spec.c);
 * ```
 */
export async function compileProbeAsync(
  text: string,
  opts: CompileProbeOptions = {},
): Promise<ProbeSpec> {
  return (await compileProbePartsAsync(text, opts)).spec;
}

/** What each pass of {@link compileProbePartsAsync} made. */
export interface CompiledParts {
  src: SourceText;
  resolved: ResolvedProgram;
  checked: CheckedProgram;
  spec: ProbeSpec;
}

/**
 * Compile a probe program as {@link compileProbeAsync} does, keeping what each pass made
 * (the direct back end reads the resolved and checked program beside the spec).
 *
 * @param text The program.
 * @param opts Parameters, the source name, and emit options.
 * @returns The source, the resolved and checked program, and the spec.
 * @throws {ProbeError} With a bpftrace-style diagnostic on any error.
 * @example
 * ```ts
 * const { spec } = await compileProbePartsAsync("BEGIN { exit(); }");
 * spec.programs[0].provider; // "BEGIN"
 * ```
 */
export async function compileProbePartsAsync(
  text: string,
  opts: CompileProbeOptions = {},
): Promise<CompiledParts> {
  const src: SourceText = { name: opts.name ?? "stdin", text };
  const prog = parseProgram(src);
  const support = await loadProviderSupport(programProviders(src, prog, opts.params));
  return compileParsedParts(src, prog, opts, support);
}

/**
 * The passes after parsing, keeping what each made.
 *
 * @param src The program text.
 * @param prog Its parse.
 * @param opts Parameters and emit options.
 * @param support The support modules of the providers it names.
 * @returns The source, the resolved and checked program, and the spec.
 * @example
 * ```ts
 * const src = { name: "stdin", text: "BEGIN { exit(); }" };
 * compileParsedParts(src, parseProgram(src), {}, {}).checked.maps.size; // 0
 * ```
 */
export function compileParsedParts(
  src: SourceText,
  prog: Program,
  opts: CompileProbeOptions,
  support: ProviderSupport,
): CompiledParts {
  const resolved = resolve(src, prog, { params: opts.params, support });
  const checked = check(src, resolved);
  return { src, resolved, checked, spec: emit(src, resolved, checked, opts) };
}

/**
 * The passes after parsing, with the providers' support given.
 *
 * @param src The program text.
 * @param prog The parsed program.
 * @param opts Parameters and emit options.
 * @param support The support modules of the providers the program uses.
 * @returns The spec.
 * @throws {ProbeError} On any error in the program.
 * @example
 * ```ts
 * const src = { name: "stdin", text: "BEGIN { exit(); }" };
 * compileParsed(src, parseProgram(src), {}, {}).c;
 * ```
 */
export function compileParsed(
  src: SourceText,
  prog: Program,
  opts: CompileProbeOptions,
  support: ProviderSupport,
): ProbeSpec {
  return compileParsedParts(src, prog, opts, support).spec;
}
