/**
 * A probe-language program served by `bpfsh serve` (`-e 'PROGRAM'`, a `.bt` file, or
 * `probe:` in a config): compiled up front (a bad program stops serve before anything is
 * bound or loaded, with the compiler's diagnostic), started with the other units, its maps
 * read at each scrape ({@link probeReader}), its printed lines (printf, time(), print())
 * handed on one by one, and closed (detached, END run, freed) with the rest.
 *
 * @module
 */

import { prepare, type Prepared } from "../probe/prepare.ts";
import type { ProbeProgram } from "../probe/runner.ts";
import type { MetricReader } from "./bind.ts";
import {
  type ProbeMetricPlan,
  probeMetricPlans,
  type ProbeMetricSkip,
  probeReader,
} from "./probe_metrics.ts";

/** Options of {@link ProbeUnit.compile}. */
export interface ProbeUnitOptions {
  /** Where the program came from, for messages (`-e`, a file, a config). */
  source: string;
  /** The name diagnostics give the program (`stdin` for `-e`, else its file). */
  name?: string;
  /** Positional parameters `$1`, `$2`, … */
  params?: string[];
  /** The compile cache directory. */
  cacheDir?: string;
}

/** Hands on one printed line (without its newline). */
export type LineSink = (line: string) => void;

/**
 * A compiled probe program, then (after {@link ProbeUnit.start}) a running one.
 *
 * @example
 * ```ts
 * const u = await ProbeUnit.compile("tracepoint:sched:sched_process_exec { @[comm] = count(); }", { source: "-e" });
 * const readers = await u.start((line) => console.log(line));
 * readers[0].read(); // [{ labels: ["bash"], value: 3 }]
 * await u.close();
 * ```
 */
export class ProbeUnit {
  /** Tells a serve unit of this kind apart from a BPF object's. */
  readonly kind = "probe";
  /** Where it came from. */
  readonly source: string;
  /** How each map is served. */
  readonly plans: ProbeMetricPlan[];
  /** Maps that are not served, and why. */
  readonly skipped: ProbeMetricSkip[];
  readonly #text: string;
  readonly #opts: ProbeUnitOptions;
  readonly #prepared: Prepared;
  #program?: ProbeProgram;
  #partial = "";
  #early: string[] = [];
  #sink?: LineSink;
  #closed = false;

  private constructor(text: string, opts: ProbeUnitOptions, prepared: Prepared) {
    this.#text = text;
    this.#opts = opts;
    this.#prepared = prepared;
    this.source = opts.source;
    const { plans, skipped } = probeMetricPlans(prepared.spec.maps, opts.source);
    this.plans = plans;
    this.skipped = skipped;
  }

  /**
   * Compile a program (nothing is loaded yet).
   *
   * @param text The program.
   * @param opts Its source, name, parameters.
   * @returns The unit.
   * @throws {ProbeError} For errors in the program: line:column, the line, a caret.
   */
  static async compile(text: string, opts: ProbeUnitOptions): Promise<ProbeUnit> {
    const prepared = await prepare(text, {
      params: opts.params,
      name: opts.name ?? "stdin",
      cacheDir: opts.cacheDir,
    });
    return new ProbeUnit(text, opts, prepared);
  }

  /** The running program (after start()). */
  get program(): ProbeProgram | undefined {
    return this.#program;
  }

  /** Resolves when the program calls exit() (never before start()). */
  get exited(): Promise<void> {
    return this.#program?.exited ?? new Promise(() => {});
  }

  /**
   * Load, run BEGIN, attach every probe.
   *
   * @returns One metric per served map.
   * @throws {ProbeError} for a verifier rejection or a probe that cannot attach; nothing
   *   stays loaded.
   */
  async start(): Promise<MetricReader[]> {
    const { ProbeProgram } = await import(
      new URL("../probe/runner.ts", import.meta.url).href
    ) as typeof import("../probe/runner.ts");
    const p = await ProbeProgram.start(this.#text, {
      prepared: this.#prepared,
      params: this.#opts.params,
      name: this.#opts.name ?? "stdin",
      cacheDir: this.#opts.cacheDir,
      onOutput: (text) => this.#output(text),
    });
    this.#program = p;
    const byName = new Map(p.descriptors.map((d) => [d.name, d]));
    return this.plans.map((plan) => {
      const d = byName.get(plan.map)!;
      return probeReader(plan, () => d.read());
    });
  }

  /**
   * Where printed lines go from now on (those printed before are handed on first).
   *
   * @param sink Receives each line.
   */
  setSink(sink: LineSink): void {
    this.#sink = sink;
    const early = this.#early;
    this.#early = [];
    for (const line of early) sink(line);
  }

  #output(text: string): void {
    const s = this.#partial + text;
    const lines = s.split("\n");
    this.#partial = lines.pop()!;
    for (const line of lines) this.#line(line);
  }

  #line(line: string): void {
    if (this.#sink) this.#sink(line);
    else this.#early.push(line);
  }

  /** Detach every probe and run END; the maps stay readable until close(). */
  async stop(): Promise<void> {
    try {
      await this.#program?.stop();
    } finally {
      this.#flush();
    }
  }

  /** Stop (if not yet), hand on what is left to print, free the programs and maps. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#program?.close();
    } finally {
      this.#flush();
    }
  }

  #flush(): void {
    if (this.#partial) this.#line(this.#partial);
    this.#partial = "";
  }
}
