/**
 * Starting a probe program through the direct back end: compile (parse, resolve, check,
 * emit's layouts), generate the BPF instructions, load, run `BEGIN`, attach. No C
 * compiler runs and nothing is cached: all of it takes a few milliseconds. The runner
 * (reading the ring, printing maps) loads after, so the probes are attached before most
 * of bpfsh is read.
 *
 * `BPFSH_PROBE_BACKEND` picks the back end: `auto` (the default: direct when the program
 * is in its subset and the kernel loads what it generated, else C), `direct` (direct only:
 * what it cannot build is an error) or `c`.
 *
 * @module
 */

import { BpfError } from "../../ffi/errors.ts";
import { compileProbePartsAsync } from "../pipeline.ts";
import type { SourceText } from "../diagnostic.ts";
import type { ProbeSpec } from "../spec.ts";
import { type DirectProgram, DirectUnsupported, generate } from "./gen.ts";
import { DirectLoad } from "./load.ts";
import { verifierError } from "../verifier_error.ts";

/** Which back end builds probe programs. */
export type ProbeBackend = "auto" | "direct" | "c";

/**
 * The back end `BPFSH_PROBE_BACKEND` asks for.
 *
 * @returns `auto` unless the variable says `direct` or `c`.
 * @example
 * ```ts
 * probeBackend(); // "auto"
 * ```
 */
export function probeBackend(): ProbeBackend {
  const v = Deno.env.get("BPFSH_PROBE_BACKEND");
  return v === "direct" || v === "c" ? v : "auto";
}

/** Options of {@link startDirect}. */
export interface DirectStartOptions {
  /** Positional parameters `$1`, `$2`, … */
  params?: string[];
  /** The name errors give the program. */
  name?: string;
  /** Called with the probe count just before BEGIN runs. */
  onAttaching?: (probes: number) => void;
  /** Refuse instead of returning undefined when the direct back end cannot build it. */
  strict?: boolean;
}

/** A probe program loaded, begun and attached by the direct back end. */
export interface DirectStart {
  src: SourceText;
  spec: ProbeSpec;
  load: DirectLoad;
}

/** A program compiled and generated for the direct back end, not loaded yet. */
export interface DirectBuild {
  src: SourceText;
  spec: ProbeSpec;
  programs: DirectProgram[];
}

/**
 * Compile a probe program and generate its instructions (nothing is loaded).
 *
 * @param text The program.
 * @param opts Parameters, the source name.
 * @returns The build, or the construct the direct back end does not cover.
 * @throws {ProbeError} For errors in the program itself (the same as the C back end's).
 * @example
 * ```ts
 * const built = await buildDirect("BEGIN { exit(); }");
 * if (!(built instanceof DirectUnsupported)) startBuilt(built)?.load.close();
 * ```
 */
export async function buildDirect(
  text: string,
  opts: Pick<DirectStartOptions, "params" | "name"> = {},
): Promise<DirectBuild | DirectUnsupported> {
  const parts = await compileProbePartsAsync(text, {
    params: opts.params,
    name: opts.name,
    specOnly: true,
  });
  try {
    const programs = generate(parts.resolved, parts.checked, parts.spec);
    return { src: parts.src, spec: parts.spec, programs };
  } catch (e) {
    if (e instanceof DirectUnsupported) return e;
    throw e;
  }
}

/**
 * The error for a program outside the direct back end's subset when only that back end
 * may build it (`BPFSH_PROBE_BACKEND=direct`).
 *
 * @param e What {@link buildDirect} returned.
 * @returns The error, naming the construct.
 * @example
 * ```ts
 * const built = await buildDirect("BEGIN { @[kstack] = count(); }");
 * if (built instanceof DirectUnsupported) throw directRefusal(built);
 * ```
 */
export function directRefusal(e: DirectUnsupported): BpfError {
  return new BpfError({
    op: "build probe program",
    message: `the direct back end does not build ${e.message}`,
    hint: "unset BPFSH_PROBE_BACKEND (or set it to c) to build it through C",
  });
}

/**
 * Load a built program, run BEGIN and attach it.
 *
 * @param built What {@link buildDirect} made.
 * @param opts The attaching notice; `strict` to throw when the kernel refuses the load.
 * @returns The attached program, or undefined when the kernel refused what was generated
 *   (and not `strict`).
 * @throws {BpfError} When strict and the kernel refuses the load (with the verifier's log
 *   under the probe it came from), or when a probe cannot be attached.
 * @example
 * ```ts
 * const built = await buildDirect("BEGIN { exit(); }");
 * if (!(built instanceof DirectUnsupported)) startBuilt(built)?.load.close();
 * ```
 */
export function startBuilt(
  built: DirectBuild,
  opts: Pick<DirectStartOptions, "onAttaching" | "strict"> = {},
): DirectStart | undefined {
  let load: DirectLoad;
  try {
    load = DirectLoad.load(built.spec, built.programs);
  } catch (e) {
    if (opts.strict) throw verifierError(e, built.spec, built.src, "direct");
    if (e instanceof BpfError) return undefined;
    throw e;
  }
  try {
    opts.onAttaching?.(built.spec.probeCount);
    if (built.spec.init) load.testRun(built.spec.init);
    for (const p of built.spec.programs) if (p.provider === "BEGIN") load.testRun(p.name);
    load.attach();
  } catch (e) {
    load.close();
    throw e;
  }
  return { src: built.src, spec: built.spec, load };
}

/**
 * Compile, load, run BEGIN and attach a probe program with the direct back end.
 *
 * @param text The program.
 * @param opts Parameters, the source name, the attaching notice.
 * @returns The attached program, or undefined when the direct back end does not cover it
 *   (a construct outside its subset, or a program the kernel refused) and not `strict`.
 * @throws {ProbeError} For errors in the program itself (the same as the C back end's).
 * @throws {BpfError} When strict and the kernel refuses what was generated, or when a
 *   probe cannot be attached.
 * @example
 * ```ts
 * const started = await startDirect("BEGIN { exit(); }");
 * started?.load.close();
 * ```
 */
export async function startDirect(
  text: string,
  opts: DirectStartOptions = {},
): Promise<DirectStart | undefined> {
  const built = await buildDirect(text, opts);
  if (built instanceof DirectUnsupported) {
    if (!opts.strict) return undefined;
    throw directRefusal(built);
  }
  return startBuilt(built, opts);
}
