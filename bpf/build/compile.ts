/**
 * Compile BPF C on the fly: clang for the BPF target, a generated `vmlinux.h`, and a
 * content-addressed cache so that reopening an unchanged source costs a hash, not a clang.
 *
 * @example
 * ```ts
 * import { compile } from "../bpf/compile.ts";
 * const { objectPath, cached } = await compile("scripts/execsnoop.bpf.c");
 * ```
 *
 * @module
 */

import { BpfError } from "../../ffi/errors.ts";
import {
  absolute,
  cacheDir,
  dirname,
  exists,
  OBJECT_LIMIT,
  PRIVATE,
  sha256Hex,
  tempBeside,
  writeFileAtomic,
} from "./cache.ts";
import { readRegularFile } from "./bounded_read.ts";
import { trustedCacheDir, trustedEntry } from "./trust.ts";
import { findTool, runTool, toolIdentity, toolRuns } from "./toolchain.ts";
import { makeCoreBtf } from "./core_btf.ts";
import { kernelKey, vmlinuxHeaderDir } from "./vmlinux.ts";

/** What to compile: a path to a `.bpf.c` file, or C source text with an optional name. */
export type CompileInput = string | { source: string; name?: string };

/** Options of {@link compile}. */
export interface CompileOptions {
  /** Extra clang flags, placed after the defaults (so `-O1` or `-DX=1` win). */
  cflags?: string[];
  /** The cache directory; defaults to {@link cacheDir}. */
  cacheDir?: string;
  /** Also copy the object to this path, and return it as `objectPath`. */
  output?: string;
  /** Stop clang (and fail) when this aborts. */
  signal?: AbortSignal;
  /** Kill clang after this many milliseconds (default 120 s). */
  timeoutMs?: number;
  /**
   * Make the object's minimal CO-RE BTF (default true). Code without CO-RE relocations
   * (the probe language's, which reads tracepoint records at their tracefs offsets) skips
   * it: one bpftool run less on a cache miss, one file read less on a hit.
   */
  coreBtf?: boolean;
  /** Strip the DWARF `-g` adds (default true); small objects skip the llvm-strip run. */
  strip?: boolean;
  /** Called once clang has started (a cache miss): a caller can do other work while it runs. */
  onClang?: () => void;
}

/** The outcome of {@link compile}. */
export interface CompileResult {
  /** The compiled object: `output` when given, else the cached `<key>.o`. */
  objectPath: string;
  /** True when the object came from the cache and no clang ran. */
  cached: boolean;
  /** Milliseconds the call took. */
  ms: number;
  /** The object's contents: the bytes whose digest was checked against what clang wrote. */
  bytes: Uint8Array;
}

/** A source resolved to a file clang can read. */
interface Source {
  /** The path clang compiles. */
  path: string;
  /** How messages name it: the path as given, or the name of a source string. */
  display: string;
  /** Its text. */
  text: string;
  /** The directory its quoted includes are searched in (after the includer's own). */
  includeDir: string;
  /** For source strings: the file still has to be written before clang runs. */
  pending: boolean;
}

const decoder = new TextDecoder();

/** Lines of clang's diagnostics the message shows, from the first error on. */
const EXCERPT_LINES = 10;
/** Bumped when the way objects are made changes, so old cache entries are not reused. */
const CACHE_FORMAT = "bpfsh-object-3";
/** The most a source, or one file it includes, may hold (a vmlinux.h is about 3 MiB). */
const SOURCE_LIMIT = 32 << 20;
/** clang's address-space limit: a source that includes `/dev/zero` fails, not the host. */
const CLANG_MEMORY = 4 << 30;
/** How long clang may run by default. */
const CLANG_TIMEOUT_MS = 120_000;
/** The libbpf header whose identity stands for the installed helper headers. */
const LIBBPF_HEADER = "/usr/include/bpf/libbpf_version.h";

/**
 * How many clang processes this process has started: a cache hit leaves it unchanged.
 *
 * @returns The count since the process started.
 * @example
 * ```ts
 * const before = clangRuns();
 * await compile("x.bpf.c");
 * clangRuns() === before; // true when the object was cached
 * ```
 */
export function clangRuns(): number {
  return toolRuns["clang"] ?? 0;
}

/**
 * The `-D__TARGET_ARCH_*` value for the host, as libbpf's `bpf_tracing.h` expects it.
 *
 * @returns `"x86"` on x86_64, `"arm64"` on aarch64.
 * @example
 * ```ts
 * targetArch(); // "x86"
 * ```
 */
export function targetArch(): string {
  return Deno.build.arch === "aarch64" ? "arm64" : "x86";
}

/** The Debian multiarch include directory, where `<asm/types.h>` lives. */
function multiarchInclude(): string {
  return `/usr/include/${Deno.build.arch === "aarch64" ? "aarch64" : "x86_64"}-linux-gnu`;
}

/**
 * Compile a BPF C program into an object file, or return the cached object when the same
 * source (with its local `#include "..."` files), flags, clang and kernel were compiled
 * before. clang runs with `-g -O2 -target bpf -D__TARGET_ARCH_<arch>` and can include
 * `"vmlinux.h"` (generated for the running kernel), `<bpf/bpf_helpers.h>` and friends,
 * `<linux/bpf.h>`, and files beside the source.
 *
 * @param input A path to a `.bpf.c` file, or `{ source, name }` for C text.
 * @param opts Extra `cflags`, a `cacheDir`, an `output` path to copy the object to.
 * @returns The object's path, whether it was cached, and the milliseconds taken.
 * @throws {BpfError} op `"compile"`: clang's diagnostics in `.log` (the first errors in the
 *   message), or a hint when clang or bpftool is missing.
 * @example
 * ```ts
 * const r = await compile("tests/fixtures/minimal.bpf.c");
 * console.log(r.objectPath, r.cached, r.ms);
 * const source = '#include "vmlinux.h"\n#include <bpf/bpf_helpers.h>\nchar LICENSE[] SEC("license") = "GPL";\n';
 * await compile({ source, name: "empty" }); // an object with a license and nothing else
 * ```
 */
export async function compile(
  input: CompileInput,
  opts: CompileOptions = {},
): Promise<CompileResult> {
  const start = performance.now();
  const dir = trustedCacheDir(absolute(opts.cacheDir ?? cacheDir()));
  const cflags = opts.cflags ?? [];
  const src = await resolveSource(input, dir);
  const includes = await localIncludes(src, cflags);
  const clang = await findTool("clang");

  const vmlinuxDir = `${dir}/vmlinux/${await kernelKey()}`;
  const args = [
    "-g",
    "-O2",
    "-target",
    "bpf",
    `-D__TARGET_ARCH_${targetArch()}`,
    "-Wno-unused-command-line-argument",
    ...cflags,
    "-I",
    vmlinuxDir,
    "-I",
    src.includeDir,
    "-I",
    multiarchInclude(),
    "-c",
    src.path,
  ];
  const key = await sha256Hex([
    CACHE_FORMAT,
    src.path,
    src.text,
    ...includes.flatMap(([path, text]) => [path, text]),
    ...args,
    await toolIdentity(clang),
    await toolIdentity(LIBBPF_HEADER),
    await kernelKey(),
    opts.strip === false ? "unstripped" : "",
  ]);
  const cachedObject = `${dir}/${key}.o`;

  let bytes = await readCachedObject(cachedObject);
  const cached = bytes !== undefined;
  if (!bytes) {
    if (src.pending) await writeFileAtomic(src.path, src.text, PRIVATE);
    const texts = [src.text, ...includes.map(([, text]) => text)];
    if (texts.some((t) => t.includes("vmlinux.h"))) await vmlinuxHeaderDir({ cacheDir: dir });
    bytes = await runClang(clang, args, cachedObject, src.display, opts);
  }

  // The object's minimal CO-RE BTF makes every later load skip the kernel BTF parse.
  if (opts.coreBtf !== false) await makeCoreBtf(cachedObject, dir, bytes);

  let objectPath = cachedObject;
  if (opts.output) {
    await writeFileAtomic(opts.output, bytes);
    objectPath = opts.output;
  }
  return { objectPath, cached, ms: performance.now() - start, bytes };
}

/** Where the digest of a cached object is kept: written with it, checked on every hit. */
function digestPath(object: string): string {
  return `${object}.sha256`;
}

/**
 * A cached object's bytes, once its digest matches the one recorded when clang made it (the
 * check every cache hit of {@link compile} makes); undefined when there is no complete entry.
 *
 * @param object A path {@link compile} returned as `objectPath` (with no `output`).
 * @returns The object's bytes, or undefined.
 * @throws {BpfError} op `"compile cache"` when the object or its digest is not trusted, or
 *   the object is not the one clang wrote.
 * @example
 * ```ts
 * const { objectPath } = await compile("tests/fixtures/minimal.bpf.c");
 * (await readCachedObject(objectPath))?.length; // the object's size
 * ```
 */
export async function readCachedObject(object: string): Promise<Uint8Array | undefined> {
  if (!trustedEntry(object) || !trustedEntry(digestPath(object))) return undefined;
  const bytes = await readRegularFile(object, {
    op: "compile cache",
    what: "object",
    limit: OBJECT_LIMIT,
  });
  const recorded = (await Deno.readTextFile(digestPath(object))).trim();
  const actual = await sha256Hex([bytes]);
  if (recorded !== actual) {
    throw new BpfError({
      op: "compile cache",
      message: `'${object}' is not the object that was compiled (its digest differs from the ` +
        `one recorded in '${digestPath(object)}')`,
      hint: `remove both files; bpfsh compiles the source again`,
    });
  }
  return bytes;
}

/** Read a path, or place a source string under the cache, into a {@link Source}. */
async function resolveSource(input: CompileInput, dir: string): Promise<Source> {
  if (typeof input === "string") {
    const path = absolute(input);
    const text = decoder.decode(
      await readRegularFile(input, { op: "compile", what: "source", limit: SOURCE_LIMIT }),
    );
    return { path, display: input, text, includeDir: dirname(path), pending: false };
  }
  const name = (input.name ?? "inline").replace(/[^A-Za-z0-9_.-]/g, "_");
  const file = /\.c$/.test(name) ? name : `${name}.bpf.c`;
  // The path ends up in the object's line info, so it is derived from the content only.
  const id = (await sha256Hex([input.source, file])).slice(0, 32);
  return {
    path: `${dir}/src/${id}/${file}`,
    display: file,
    text: input.source,
    includeDir: Deno.cwd(),
    pending: true,
  };
}

/** The `-I` directories named in extra flags (`-Idir` and `-I dir`). */
function flagIncludeDirs(cflags: string[]): string[] {
  const dirs: string[] = [];
  for (let i = 0; i < cflags.length; i++) {
    if (cflags[i] === "-I" && i + 1 < cflags.length) dirs.push(absolute(cflags[++i]));
    else if (cflags[i].startsWith("-I")) dirs.push(absolute(cflags[i].slice(2)));
  }
  return dirs;
}

/**
 * The local files a source includes with `#include "..."`, transitively, with their text:
 * they belong in the cache key. Names not found locally (vmlinux.h, system headers) are
 * covered by the kernel and toolchain parts of the key instead. An include that names a
 * FIFO, a device or an oversized file stops the compile here (clang would read it for
 * ever); so does an absolute `#include <...>` of one.
 */
async function localIncludes(src: Source, cflags: string[]): Promise<[string, string][]> {
  const searchDirs = [...flagIncludeDirs(cflags), src.includeDir];
  const seen = new Set<string>([src.path]);
  const out: [string, string][] = [];
  const queue: [string, string][] = [[src.path, src.text]];
  while (queue.length) {
    const [path, text] = queue.shift()!;
    for (const m of text.matchAll(/^[ \t]*#[ \t]*include[ \t]*(?:"([^"\n]+)"|<(\/[^>\n]+)>)/gm)) {
      const name = m[1] ?? m[2];
      const candidates = name.startsWith("/")
        ? [name]
        : [dirname(path), ...searchDirs].map((d) => `${d}/${name}`);
      for (const candidate of candidates) {
        if (seen.has(candidate)) break;
        let incText: string;
        try {
          incText = decoder.decode(
            await readRegularFile(candidate, {
              op: `compile '${src.display}'`,
              what: "included file",
              limit: SOURCE_LIMIT,
            }),
          );
        } catch (e) {
          if (e instanceof BpfError && e.code === "ENOENT") continue;
          throw e;
        }
        seen.add(candidate);
        out.push([candidate, incText]);
        queue.push([candidate, incText]);
        break;
      }
    }
  }
  return out;
}

/**
 * Run clang into a temporary file, bounded in time and memory, then record the object's
 * digest and move it into the cache (digest first: an object without one is not used).
 */
async function runClang(
  clang: string,
  args: string[],
  object: string,
  display: string,
  opts: CompileOptions,
): Promise<Uint8Array> {
  await Deno.mkdir(dirname(object), { recursive: true, mode: 0o700 });
  const tmp = tempBeside(object);
  try {
    const running = runTool("clang", clang, [...args, "-o", tmp], undefined, {
      signal: opts.signal,
      timeoutMs: opts.timeoutMs ?? CLANG_TIMEOUT_MS,
      memoryBytes: CLANG_MEMORY,
    });
    opts.onClang?.();
    const out = await running;
    if (out.code !== 0) throw compileError(display, out.stderr, out.code);
    if (opts.strip !== false) await stripDwarf(clang, tmp);
    await Deno.chmod(tmp, PRIVATE.mode);
    const bytes = await readRegularFile(tmp, {
      op: "compile",
      what: "object",
      limit: OBJECT_LIMIT,
    });
    await writeFileAtomic(digestPath(object), await sha256Hex([bytes]), PRIVATE);
    await Deno.rename(tmp, object);
    return bytes;
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/**
 * Drop the DWARF sections `-g` adds (about 95% of an object that includes vmlinux.h); the
 * BTF and line info libbpf needs stay. Uses the llvm-strip of clang's own LLVM and is
 * skipped when there is none: the unstripped object works just as well.
 */
async function stripDwarf(clang: string, object: string): Promise<void> {
  let strip: string;
  try {
    strip = `${dirname(await Deno.realPath(clang))}/llvm-strip`;
    if (!(await exists(strip))) return;
  } catch {
    return;
  }
  const out = await runTool("llvm-strip", strip, ["-g", object]);
  if (out.code !== 0) {
    throw new BpfError({
      op: "compile",
      message: `llvm-strip failed for '${object}'`,
      log: out.stderr,
    });
  }
}

/**
 * A {@link BpfError} for failed clang run: the message shows the first error with its
 * source excerpt (file:line:col intact), `.log` keeps all of clang's output.
 */
function compileError(display: string, stderr: string, code: number): BpfError {
  const lines = stderr.replace(/\s+$/, "").split("\n");
  let first = lines.findIndex((l) => /\b(fatal )?error: /.test(l));
  if (first < 0) first = 0;
  const diagnostic = (l: string) =>
    !/^\d+ (errors?|warnings?)( and \d+ errors?)? generated\.$/.test(l);
  const excerpt = lines.slice(first, first + EXCERPT_LINES).filter(diagnostic);
  const hidden = lines.slice(first + EXCERPT_LINES).filter(diagnostic).length;
  if (hidden) excerpt.push(`(${hidden} more lines in .log)`);
  // The message quotes clang's first error (the one that matters), not the log's tail.
  return new BpfError({
    op: "compile",
    message: `clang failed for '${display}'` +
      (excerpt.length ? `\n${excerpt.join("\n")}` : ` (exit code ${code})`),
    log: stderr,
    showLog: false,
  });
}
