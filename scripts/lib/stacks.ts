/**
 * Plumbing of the stack tools (profile, offcputime, stackcount): their common options,
 * reading a `counts` map keyed by stack ids into symbolized samples,
 * and printing them as text (bcc's layout), folded lines, JSON or a pprof file.
 *
 * @module
 */

import type { BpfObject } from "../../mod.ts";
import { StackPidWatch } from "../../bpf/stack/stack_pids.ts";
import { readStack, stackIdProblem } from "../../bpf/stack/capture.ts";
import { formatFrame } from "../../bpf/stack/frame.ts";
import { type StackSample, toFolded } from "../../bpf/stack/folded.ts";
import { encodePprof, type PprofOptions } from "../../bpf/stack/pprof.ts";
import { DEFAULT_DEBUG_DIRS } from "../../bpf/stack/binary.ts";
import type { Symbolizer } from "../../bpf/stack/symbolizer.ts";
import { type Args, type OptionSpec, UsageError } from "./cli.ts";
import type { Stopper } from "./run.ts";
import { jsonValue, type LineSink } from "./output.ts";

/** The options every stack tool takes. */
export const STACK_OPTIONS: Record<string, OptionSpec> = {
  folded: {
    type: "boolean",
    short: "f",
    help: "print folded stacks (comm;frame;...;frame count) for flame graphs",
  },
  pprof: { type: "string", arg: "FILE", help: "also write a gzipped pprof profile to FILE" },
  "kernel-only": { type: "boolean", short: "K", help: "take kernel stacks only" },
  "user-only": { type: "boolean", short: "U", help: "take user stacks only" },
  "debug-dir": {
    type: "string",
    arg: "DIR",
    help: "look for debug files (.build-id/) under DIR before /usr/lib/debug",
  },
};

/** The stack options of one run. */
export interface StackArgs {
  /** Print folded lines. */
  folded: boolean;
  /** Print JSON lines. */
  json: boolean;
  /** Where to write a pprof profile. */
  pprof?: string;
  /** Take kernel stacks. */
  kernel: boolean;
  /** Take user stacks. */
  user: boolean;
  /** Debug directories, in order. */
  debugDirs: string[];
}

/**
 * The stack options given on the command line.
 *
 * @param args The parsed arguments.
 * @returns The options.
 * @throws {UsageError} For -K with -U, or --folded with --json.
 * @example
 * ```ts
 * const opts = stackArgsOf(args); // { folded: false, kernel: true, user: true, ... }
 * ```
 */
export function stackArgsOf(args: Args): StackArgs {
  if (args.flag("kernel-only") && args.flag("user-only")) {
    throw new UsageError("--kernel-only and --user-only exclude each other");
  }
  if (args.flag("folded") && args.flag("json")) {
    throw new UsageError("--folded and --json exclude each other");
  }
  const dir = args.str("debug-dir");
  return {
    folded: args.flag("folded"),
    json: args.flag("json"),
    pprof: args.str("pprof"),
    kernel: !args.flag("user-only"),
    user: !args.flag("kernel-only"),
    debugDirs: dir ? [dir, ...DEFAULT_DEBUG_DIRS] : [...DEFAULT_DEBUG_DIRS],
  };
}

/**
 * Set the capture globals of a tool's object (before load): `kernel_stacks`, `user_stacks`.
 *
 * @param obj The opened object.
 * @param opts The stack options.
 * @example
 * ```ts
 * applyStackArgs(obj, opts);
 * ```
 */
export function applyStackArgs(obj: BpfObject, opts: StackArgs): void {
  obj.globals.kernel_stacks = opts.kernel;
  obj.globals.user_stacks = opts.user;
}

/** A key of a tool's `counts` map (struct stack_key). */
interface StackKey {
  pid: number;
  kernel_stack: number;
  user_stack: number;
  comm: string;
}

/**
 * Read a `counts` map keyed by `struct stack_key` (pid, kernel and user stack ids, comm)
 * into symbolized samples, biggest value first.
 *
 * @param obj The loaded object (maps `counts` and `stacks`).
 * @param sym The symbolizer.
 * @param opts Which stacks were taken.
 * @returns The samples.
 * @example
 * ```ts
 * const samples = readSamples(obj, sym, opts);
 * ```
 */
export function readSamples(
  obj: BpfObject,
  sym: Symbolizer,
  opts: Pick<StackArgs, "kernel" | "user">,
): StackSample[] {
  const counts = obj.map<StackKey, bigint>("counts");
  const stacks = obj.map("stacks");
  const out: StackSample[] = [];
  const kernelCache = new Map<number, ReturnType<Symbolizer["kernelFrames"]>>();
  for (const [key, value] of counts.entries()) {
    const notes: string[] = [];
    let kernel: StackSample["kernel"] = [];
    let user: StackSample["user"] = [];
    if (opts.kernel) {
      const id = key.kernel_stack;
      const problem = stackIdProblem(id);
      if (problem && id !== -14) notes.push(`kernel stack ${problem}`);
      let frames = kernelCache.get(id);
      if (!frames) {
        const addrs = readStack(stacks, id);
        frames = addrs ? sym.kernelFrames(addrs) : [];
        kernelCache.set(id, frames);
      }
      kernel = frames;
    }
    if (opts.user) {
      const id = key.user_stack;
      const problem = stackIdProblem(id, true);
      if (problem && !(id === -14 && kernel.length)) notes.push(`user stack ${problem}`);
      const addrs = readStack(stacks, id);
      if (addrs) {
        user = sym.userFrames(key.pid, addrs);
        const cut = sym.truncation(user);
        if (cut) notes.push(cut);
      }
    }
    out.push({ pid: key.pid, comm: key.comm, kernel, user, value: Number(value), notes });
  }
  return out.sort((a, b) => b.value - a.value);
}

/** How a tool prints its samples. */
export interface PrintOptions {
  /** Folded lines. */
  folded?: boolean;
  /** JSON lines. */
  json?: boolean;
  /** The name of the value in JSON (default `"count"`). */
  valueName?: string;
  /** The value as JSON shows it (default: as is), e.g. nanoseconds to microseconds. */
  toJson?: (v: number) => number;
  /** How to show a value in text (default: as is). */
  formatValue?: (v: number) => string;
  /** Where lines go (default console.log). */
  sink?: LineSink;
}

/**
 * Print samples: bcc's layout (kernel frames, `--`, user frames, `-  comm (pid)`, the
 * value; smallest first so the biggest ends next to the prompt), folded lines, or JSON.
 *
 * @param samples Samples, biggest first.
 * @param opts The format.
 * @example
 * ```ts
 * printSamples(samples, { folded: true });
 * ```
 */
export function printSamples(samples: readonly StackSample[], opts: PrintOptions = {}): void {
  const sink = opts.sink ?? ((l: string) => console.log(l));
  if (opts.folded) {
    for (const line of toFolded(samples)) sink(line);
    return;
  }
  if (opts.json) {
    const name = opts.valueName ?? "count";
    for (const s of samples) {
      sink(JSON.stringify(
        {
          pid: s.pid,
          comm: s.comm,
          [name]: opts.toJson ? opts.toJson(s.value) : s.value,
          kernel: s.kernel.map((f) => formatFrame(f)),
          user: s.user.map((f) => formatFrame(f)),
          ...(s.notes?.length ? { notes: s.notes } : {}),
        },
        jsonValue,
      ));
    }
    return;
  }
  const show = opts.formatValue ?? String;
  for (let i = samples.length - 1; i >= 0; i--) {
    const s = samples[i];
    for (const f of s.kernel) sink(`    ${formatFrame(f)}`);
    if (s.kernel.length && s.user.length) sink("    --");
    for (const f of s.user) sink(`    ${formatFrame(f)}`);
    for (const n of s.notes ?? []) sink(`    [${n}]`);
    sink(`    -                ${s.comm} (${s.pid})`);
    sink(`        ${show(s.value)}`);
    sink("");
  }
}

/**
 * Write samples as a gzipped pprof profile.
 *
 * @param path The file.
 * @param samples The samples.
 * @param opts What the values measure.
 * @returns When written.
 * @example
 * ```ts
 * await writePprof("cpu.pb.gz", samples, { periodNanos: 1e9 / 99 });
 * ```
 */
export async function writePprof(
  path: string,
  samples: readonly StackSample[],
  opts: PprofOptions,
): Promise<void> {
  Deno.writeFileSync(path, await encodePprof(samples, opts));
}

/**
 * Say once, on stderr, where stacks were cut short by code built without frame pointers.
 *
 * @param samples The samples.
 * @param tool The tool's name.
 * @example
 * ```ts
 * noteTruncations(samples, "profile");
 * ```
 */
export function noteTruncations(samples: readonly StackSample[], tool: string): void {
  const notes = new Set<string>();
  for (const s of samples) {
    for (const n of s.notes ?? []) if (n.startsWith("stack may be cut short")) notes.add(n);
  }
  for (const n of notes) console.error(`${tool}: note: some ${n}`);
}

/** What a stack tool reports, once its programs are attached. */
export interface StackReport {
  /** The tool's name, for notes. */
  tool: string;
  /** The "Tracing ..." line. */
  message: string;
  /** How to print (folded and JSON come from the stack options). */
  print?: Omit<PrintOptions, "folded" | "json">;
  /** What a pprof profile's values measure. */
  pprof: PprofOptions;
}

/**
 * The rest of a stack tool's run: announce tracing, read processes' maps as they are
 * notified until Ctrl-C or `--duration`, then read, print and (with `--pprof`) write the
 * stacks, and note stacks cut short by code without frame pointers.
 *
 * @param obj The loaded object with its programs attached.
 * @param sym The symbolizer.
 * @param stop The run's stopper.
 * @param opts The stack options.
 * @param report What to print and write.
 * @returns The samples.
 * @example
 * ```ts
 * await traceAndReport(obj, sym, stop, opts, { tool: "profile", message: "Sampling...", pprof: {} });
 * ```
 */
export async function traceAndReport(
  obj: BpfObject,
  sym: Symbolizer,
  stop: Stopper,
  opts: StackArgs,
  report: StackReport,
): Promise<StackSample[]> {
  const watch = new StackPidWatch(obj, sym);
  const started = Date.now();
  stop.begin(report.message);
  await watch.until(stop.signal);
  const samples = readSamples(obj, sym, opts);
  printSamples(samples, { ...report.print, folded: opts.folded, json: opts.json });
  if (opts.pprof) {
    await writePprof(opts.pprof, samples, {
      startMs: started,
      durationMs: Date.now() - started,
      ...report.pprof,
    });
  }
  noteTruncations(samples, report.tool);
  return samples;
}
