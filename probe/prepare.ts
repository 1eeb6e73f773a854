/**
 * From program text to a compiled object: the probe compiler (parse → resolve → check →
 * emit), then clang through bpf/build's compile cache. Programs whose meaning cannot change
 * while the kernel stays the same (no wildcards, no uprobes) also keep their compiled spec
 * in the cache, so a second run loads neither the compiler nor clang's cache key inputs:
 * it reads one small JSON file, checks the object is there, and loads it.
 *
 * The compiler itself is imported on a cache miss only.
 *
 * @module
 */

import { cacheDir, exists, sha256Hex, writeFileAtomic } from "../bpf/build/cache.ts";
import { kernelBuildId } from "../bpf/build/core_btf.ts";
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
}

/** A compiled program, ready to load. */
export interface Prepared {
  spec: ProbeSpec;
  /** The compiled object. */
  objectPath: string;
  /** True when neither the compiler nor clang ran. */
  cached: boolean;
}

/** Bumped when the spec's shape changes. */
const SPEC_FORMAT = "bpfsh-probe-spec-1";

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
  const key = build
    ? await sha256Hex([SPEC_FORMAT, text, JSON.stringify(opts.params ?? []), build, identity()])
    : undefined;
  const entry = key ? `${dir}/probe/${key}.json` : undefined;
  if (entry) {
    try {
      const hit = JSON.parse(await Deno.readTextFile(entry)) as {
        spec: ProbeSpec;
        objectPath: string;
      };
      if (await exists(hit.objectPath)) return { ...hit, cached: true };
    } catch {
      // A miss (or a damaged entry): compile.
    }
  }
  const [{ compileProbe }, { compile }] = await Promise.all([
    import(new URL("./compile.ts", import.meta.url).href) as Promise<typeof import("./compile.ts")>,
    import(new URL("../bpf/build/compile.ts", import.meta.url).href) as Promise<
      typeof import("../bpf/build/compile.ts")
    >,
  ]);
  const spec = compileProbe(text, { params: opts.params, name: opts.name });
  const src: SourceText = { name: opts.name ?? "stdin", text };
  let objectPath: string;
  try {
    // No CO-RE relocations (records are read at their tracefs offsets): no CO-RE BTF to
    // make, and these small objects keep their DWARF rather than pay for an llvm-strip run.
    ({ objectPath } = await compile({ source: spec.c, name: "probe" }, {
      cacheDir: opts.cacheDir,
      coreBtf: false,
      strip: false,
    }));
  } catch (e) {
    throw compileError(e, spec, src);
  }
  if (entry && spec.cacheable) {
    await writeFileAtomic(entry, JSON.stringify({ spec, objectPath })).catch(() => {});
  }
  return { spec, objectPath, cached: false };
}

/**
 * A clang failure on generated C: the BPF stack limit names the probe that needs too much
 * of it; anything else is a bpfsh bug, reported with clang's words and where it points.
 */
function compileError(e: unknown, spec: ProbeSpec, src: SourceText): unknown {
  if (!(e instanceof BpfError) || e.op !== "compile") return e;
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
