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
import type { ProbeObject } from "../probe/loaded.ts";
import type { DirectObject } from "../probe/direct/object.ts";
import type { BpfObject } from "../bpf/object/object.ts";
import type { ProbeSpec } from "../probe/spec.ts";
import {
  buildDirect,
  type DirectBuild,
  directRefusal,
  probeBackend,
  startBuilt,
} from "../probe/direct/start.ts";
import { DirectUnsupported } from "../probe/direct/gen.ts";
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
  /** The direct back end's build, when it covers the program (no C compiler needed). */
  readonly #built?: DirectBuild;
  /** The C back end's, compiled up front when the direct one does not cover the program. */
  #prepared?: Prepared;
  #program?: ProbeProgram<ProbeObject>;
  #partial = "";
  #early: string[] = [];
  #sink?: LineSink;
  #closed = false;

  private constructor(
    text: string,
    opts: ProbeUnitOptions,
    built: { direct: DirectBuild } | { prepared: Prepared },
  ) {
    this.#text = text;
    this.#opts = opts;
    if ("direct" in built) this.#built = built.direct;
    else this.#prepared = built.prepared;
    const spec: ProbeSpec = "direct" in built ? built.direct.spec : built.prepared.spec;
    this.source = opts.source;
    const { plans, skipped } = probeMetricPlans(spec.maps, opts.source);
    this.plans = plans;
    this.skipped = skipped;
  }

  /**
   * Compile a program (nothing is loaded yet): for the direct back end where it covers the
   * program (a host without clang serves it), else through C.
   *
   * @param text The program.
   * @param opts Its source, name, parameters.
   * @returns The unit.
   * @throws {ProbeError} For errors in the program: line:column, the line, a caret.
   */
  static async compile(text: string, opts: ProbeUnitOptions): Promise<ProbeUnit> {
    const name = opts.name ?? "stdin";
    const backend = probeBackend();
    if (backend !== "c") {
      const built = await buildDirect(text, { params: opts.params, name });
      if (!(built instanceof DirectUnsupported)) {
        return new ProbeUnit(text, opts, { direct: built });
      }
      if (backend === "direct") throw directRefusal(built);
    }
    return new ProbeUnit(text, opts, { prepared: await ProbeUnit.#prepare(text, opts) });
  }

  static #prepare(text: string, opts: ProbeUnitOptions): Promise<Prepared> {
    return prepare(text, {
      params: opts.params,
      name: opts.name ?? "stdin",
      cacheDir: opts.cacheDir,
    });
  }

  /** The running program (after start()). */
  get program(): ProbeProgram<ProbeObject> | undefined {
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
    const output = {
      params: this.#opts.params,
      name: this.#opts.name ?? "stdin",
      onOutput: (text: string) => this.#output(text),
    };
    const strict = probeBackend() === "direct";
    // A program the kernel refuses in its direct form is built through C after all.
    const started = this.#built && startBuilt(this.#built, { strict });
    const p: ProbeProgram<ProbeObject> = started
      ? ProbeProgram.adopt(started, output)
      : await ProbeProgram.start(this.#text, {
        ...output,
        prepared: this.#prepared ??= await ProbeUnit.#prepare(this.#text, this.#opts),
        cacheDir: this.#opts.cacheDir,
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
  /**
   * What it has loaded: its programs (name and fd) and how many probes are attached.
   *
   * @returns Nothing loaded before start() and after close().
   */
  loaded(): { programs: { name: string; fd: number }[]; links: number } {
    const obj = this.#program?.object;
    if (!obj || obj.closed) return { programs: [], links: 0 };
    if ("load" in obj) {
      // The direct back end's: its fds.
      const load = (obj as DirectObject).load;
      return {
        programs: [...load.programs].map(([name, fd]) => ({ name, fd })),
        links: load.linkCount,
      };
    }
    const bpf = obj as BpfObject;
    return {
      programs: bpf.loaded ? bpf.programs.map((p) => ({ name: p.name, fd: p.fd })) : [],
      links: bpf.links.length,
    };
  }

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
