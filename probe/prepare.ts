/**
 * From program text to a compiled object: the probe compiler (parse → resolve → check →
 * emit), then clang through bpf/build's compile cache. Programs whose meaning cannot change
 * while the kernel and its tracepoints stay the same (no uprobes, no wildcards but
 * tracepoint ones, whose expansion the key covers) also keep their compiled spec
 * in the (private) cache, with the name of their object there, so a second run neither
 * loads the compiler nor works out the compile cache's key: it reads one small JSON file,
 * and the object, which passes the compile cache's checks as on any hit.
 *
 * The compiler itself is imported on a cache miss only.
 *
 * @module
 */

import { absolute, cacheDir, PRIVATE, sha256Hex, writeFileAtomic } from "../bpf/build/cache.ts";
import { kernelBuildId } from "../bpf/build/core_btf.ts";
import { trustedCacheDir } from "../bpf/build/trust.ts";
import { tracefsRoot } from "./tracefs.ts";
import { BpfError } from "../ffi/errors.ts";
import { ProbeError, type SourceText } from "./diagnostic.ts";
import type { ProbeSpec } from "./spec.ts";

/** Options of {@link prepare}. */
export interface PrepareOptions {
  /** Positional parameters. */
  params?: string[];
  /** The name errors give the program. */
  name?: string;
  /** The compile cache directory. */
  cacheDir?: string;
  /**
   * Called once all that is left is waiting: the spec was found in the cache, or clang has
   * started (or was not needed). A caller that loads the rest of bpfsh then, not before,
   * does not hold up the compiler on a miss, and loads while clang runs.
   */
  onWaiting?: () => void;
}

/** A compiled program, ready to load. */
export interface Prepared {
  spec: ProbeSpec;
  /** The compiled object. */
  objectPath: string;
  /** True when neither the probe compiler nor clang ran. */
  cached: boolean;
}

/** Bumped when the spec's shape changes. */
const SPEC_FORMAT = "bpfsh-probe-spec-3";

/** A spec cache entry: the spec and its object's file name in the compile cache. */
interface Entry {
  spec: ProbeSpec;
  object: string;
}

let compilerIdentity: string | undefined;

/** The probe compiler's own files (sizes, times, inodes): a new bpfsh never reads old specs. */
function identity(): string {
  if (compilerIdentity !== undefined) return compilerIdentity;
  const parts: string[] = [];
  for (const sub of ["", "format/"]) {
    const dir = new URL(`./${sub}`, import.meta.url).pathname;
    try {
      for (const e of [...Deno.readDirSync(dir)].sort((a, b) => (a.name < b.name ? -1 : 1))) {
        if (!e.isFile || !e.name.endsWith(".ts")) continue;
        const st = Deno.statSync(`${dir}${e.name}`);
        parts.push(`${sub}${e.name}:${st.size}:${st.mtime?.getTime()}:${st.ino}`);
      }
    } catch {
      parts.push(`${sub}?`);
    }
  }
  // The C of programs that take user stacks carries this header (./stacks.ts).
  try {
    const st = Deno.statSync(new URL("../scripts/lib/stack_pids.bpf.h", import.meta.url));
    parts.push(`stack_pids.bpf.h:${st.size}:${st.mtime?.getTime()}:${st.ino}`);
  } catch {
    parts.push("stack_pids.bpf.h?");
  }
  compilerIdentity = parts.join(",");
  return compilerIdentity;
}

/**
 * Compile a program (or find it compiled).
 *
 * @param text The program.
 * @param opts Parameters, source name, cache directory.
 * @returns The spec and the object's path.
 * @throws {ProbeError} For errors in the program, and for C the kernel cannot take (the BPF
 *   stack limit names its probe).
 * @example
 * ```ts
 * const { spec, objectPath } = await prepare("BEGIN { exit(); }");
 * ```
 */
export async function prepare(text: string, opts: PrepareOptions = {}): Promise<Prepared> {
  const dir = opts.cacheDir ?? cacheDir();
  const build = kernelBuildId();
  const events = eventsList(text);
  const key = build && events !== undefined
    ? await sha256Hex([
      SPEC_FORMAT,
      text,
      JSON.stringify(opts.params ?? []),
      build,
      identity(),
      events,
    ])
    : undefined;
  const entry = key ? `${dir}/probe/${key}.json` : undefined;
  const builder = import(new URL("../bpf/build/compile.ts", import.meta.url).href) as Promise<
    typeof import("../bpf/build/compile.ts")
  >;
  const found = entry ? readEntry(entry) : undefined;
  if (found) {
    opts.onWaiting?.();
    const { readCachedObject } = await builder;
    const objectPath = `${trustedCacheDir(absolute(dir))}/${found.object}`;
    if (await readCachedObject(objectPath)) return { spec: found.spec, objectPath, cached: true };
  }
  const hit = found !== undefined;
  let spec = found?.spec;
  if (!spec) {
    // The pipeline that loads only the providers' support the program needs (./pipeline.ts).
    const { compileProbeAsync } = await import(
      new URL("./pipeline.ts", import.meta.url).href
    ) as typeof import("./pipeline.ts");
    spec = await compileProbeAsync(text, { params: opts.params, name: opts.name });
  }
  const { compile } = await builder;
  const src: SourceText = { name: opts.name ?? "stdin", text };
  let objectPath: string;
  let clang = false;
  try {
    // No CO-RE relocations (records are read at their tracefs offsets): no CO-RE BTF to
    // make, and these small objects keep their DWARF rather than pay for an llvm-strip run.
    const r = await compile({ source: spec.c, name: "probe" }, {
      cacheDir: opts.cacheDir,
      coreBtf: false,
      strip: false,
      onClang: opts.onWaiting,
    });
    opts.onWaiting?.();
    objectPath = r.objectPath;
    clang = !r.cached;
  } catch (e) {
    throw compileError(e, spec, src);
  }
  const object = objectPath.slice(objectPath.lastIndexOf("/") + 1);
  if (entry && spec.cacheable && found?.object !== object) {
    // Only an optimisation: a cache that cannot be written is no error.
    const value: Entry = { spec, object };
    await writeFileAtomic(entry, JSON.stringify(value), PRIVATE).catch(() => {});
  }
  return { spec, objectPath, cached: hit && !clang };
}

/**
 * What a tracepoint wildcard expands from (the kernel's list of tracepoints, which loading a
 * module can grow), for a program that may hold one; "" for one that cannot. Undefined
 * when the list cannot be read: then nothing is cached.
 */
function eventsList(text: string): string | undefined {
  if (!/[*?]/.test(text)) return "";
  try {
    return Deno.readTextFileSync(`${tracefsRoot()}/available_events`);
  } catch {
    return undefined;
  }
}

/**
 * A cached spec, when its file is ours and writable by no one else (as the compile cache
 * trusts its entries); undefined otherwise.
 */
function readEntry(path: string): Entry | undefined {
  try {
    const st = Deno.lstatSync(path);
    if (!st.isFile || st.uid !== Deno.uid() || ((st.mode ?? 0) & 0o022) !== 0) return undefined;
    const e = JSON.parse(Deno.readTextFileSync(path)) as Entry;
    return typeof e?.spec?.c === "string" && Array.isArray(e.spec.programs) &&
        typeof e.object === "string" && /^[0-9a-f]{64}\.o$/.test(e.object)
      ? e
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A clang failure on generated C: the BPF stack limit names the probe that needs too much
 * of it; anything else is a bpfsh bug, reported with clang's words and where it points.
 */
function compileError(e: unknown, spec: ProbeSpec, src: SourceText): unknown {
  if (!(e instanceof BpfError) || e.op !== "compile") return e;
  if (/cannot find 'clang'/.test(e.message)) {
    // Only what the direct back end does not build (probe/direct/) comes here.
    return new ProbeError(
      src,
      undefined,
      "this program needs the C compiler (uprobes, kprobes, kfuncs and stacks are built " +
        "through C), and clang is not installed",
      e.hint,
    );
  }
  const text = `${e.message}\n${e.log ?? ""}`;
  const line = Number(/probe\.bpf\.c:(\d+):\d+: error/.exec(text)?.[1] ?? 0);
  const lines = spec.c.split("\n");
  let unit = -1;
  for (let i = Math.min(line, lines.length) - 1; i >= 0 && line > 0; i--) {
    const m = /^(?:static __always_inline )?int (?:body|probe)_(\d+)/.exec(lines[i]);
    if (m) {
      unit = Number(m[1]);
      break;
    }
  }
  const prog = spec.programs.find((p) =>
    p.name === `probe_${unit}` || p.name.startsWith(`probe_${unit}_`)
  );
  if (/stack limit of 512 bytes/.test(text)) {
    return new ProbeError(
      src,
      prog?.span,
      "this probe needs more than the 512 bytes of stack a BPF program has",
      "use fewer or shorter strings (str(p, N)) in its map keys and variables",
    );
  }
  const first = /error: (.*)/.exec(text)?.[1] ?? e.message;
  const err = new ProbeError(
    src,
    prog?.span,
    `internal error: the C generated for this probe does not compile: ${first}`,
    "bpfsh --emit-c shows the C; please report it",
  );
  Object.defineProperty(err, "log", { value: e.log });
  return err;
}
