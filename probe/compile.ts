/**
 * The probe compiler's pipeline: parse → resolve → check → emit, text to
 * {@link ProbeSpec} (the C and what the runner needs), synchronously. Each pass is its own
 * module; the pipeline is probe/pipeline.ts's. This module imports the support of every
 * provider (the BTF parser, the ELF reader, libbpf's bindings): what starts fast imports
 * probe/pipeline.ts's `compileProbeAsync` instead, which loads only what a program needs.
 *
 * @module
 */

import * as listing from "../bpf/link/listing.ts";
import type { SourceText } from "./diagnostic.ts";
import * as kfunc from "./kfunc.ts";
import { parseProgram } from "./parse.ts";
import {
  type CompiledParts,
  compileParsed,
  compileParsedParts,
  type CompileProbeOptions,
} from "./pipeline.ts";
import type { ProviderSupport } from "./providers.ts";
import type { ProbeSpec } from "./spec.ts";
import * as symbols from "./symbols.ts";

export type { CompiledParts, CompileProbeOptions } from "./pipeline.ts";

/** Every provider's support. */
const SUPPORT: ProviderSupport = { kfunc, symbols, listing };

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
  const src: SourceText = { name: opts.name ?? "stdin", text };
  return compileParsed(src, parseProgram(src), opts, SUPPORT);
}

/**
 * Compile a probe program, keeping what each pass made (synchronously, with every
 * provider's support loaded: see probe/pipeline.ts's `compileProbePartsAsync`).
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
  return compileParsedParts(src, parseProgram(src), opts, SUPPORT);
}
