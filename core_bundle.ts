/**
 * Which copy of the core library `mod.ts` loads: the sources (`core.ts` and its ~35
 * modules) or their bundle, one minified JavaScript file built by `tools/bundle.ts` into
 * `build/core/` (with a source map: stack traces name the source files). Importing the
 * sources costs ~8 ms of start-up (Deno reads, hashes and looks up every module, twice), the
 * bundle ~3 ms.
 *
 * A bundle is only used while it is what the sources would give: its manifest holds a stamp
 * (size, mtime in ms, ctime in s, inode) of every source module, of deno.json, of
 * tools/bundle.ts and of the bundle itself, and the Deno version; one differing stamp and
 * the sources are loaded instead. Any write to a file changes its mtime and ctime (a copy
 * that keeps the mtime still changes the ctime), and the build only stamps files last
 * changed more than 2 s before it starts, so no later change can fall in the same ctime
 * second (see tools/bundle.ts). Checking the ~38 stamps costs ~1 ms; hashing the 380 KB of
 * sources would cost ~2.
 *
 * The bundle is used when asked for: by `bpfsh` (shell/main.ts calls
 * {@link preferCoreBundle}) or with `BPFSH_CORE=bundle`; `BPFSH_CORE=source` never uses it.
 * A plain `deno run`/`deno test` keeps the sources, so a program that imports modules of
 * bpf/ or ffi/ itself shares them. A second copy (the sources next to the bundle) would
 * share nothing with the first (instanceof, libbpf's log, closeAll): when a copy was loaded
 * before mod.ts the sources are used, and ffi/libbpf.ts reports a second copy loaded later.
 *
 * Either way mod.ts imports the core at run time, so it needs read access to the repository
 * (`-A`, as documented, gives it).
 *
 * @module
 */

/** Where the bundle is built, relative to the repository root. */
export const BUNDLE_DIR = "build/core";
/** The bundle's manifest format; a manifest of another format is ignored. */
export const BUNDLE_FORMAT = 1;

/** `build/core/manifest.json`: what the bundle was built from. */
export interface BundleManifest {
  /** {@link BUNDLE_FORMAT}. */
  format: number;
  /** The Deno version that built it (`Deno.version.deno`). */
  deno: string;
  /** The stamp of `core.js`. */
  bundle: string;
  /** Stamps of the files it was built from, by path relative to the repository root. */
  sources: Record<string, string>;
}

const PREFER = Symbol.for("bpfsh.core.preferBundle");
/** The copies of the core evaluated so far (see ffi/libbpf.ts). */
const COPIES = Symbol.for("bpfsh.core.copies");
/** The repository root: this file's directory. */
const ROOT_URL = new URL(".", import.meta.url);
/** The same as a path ending in "/". */
const ROOT = decodeURIComponent(ROOT_URL.pathname);
let loaded: "bundle" | "source" | undefined;

/**
 * A file's stamp: size, mtime (ms), ctime (s: all Deno gives) and inode.
 *
 * @param path The file.
 * @returns The stamp, or undefined when the file cannot be read.
 * @example
 * ```ts
 * fileStamp("mod.ts"); // "5310:1795322611372:1795322611:5308533"
 * ```
 */
export function fileStamp(path: string): string | undefined {
  try {
    const s = Deno.statSync(path);
    return `${s.size}:${s.mtime?.getTime()}:${s.ctime?.getTime()! / 1000 | 0}:${s.ino}`;
  } catch {
    return undefined;
  }
}

/**
 * Whether the bundle is there and up to date: its manifest matches the Deno version and the
 * stamp of every file it names.
 *
 * @param root The repository root, ending in "/" (default: this file's directory).
 * @returns True when the bundle may be used.
 * @example
 * ```ts
 * if (!bundleIsFresh()) console.log("run tools/bundle.ts");
 * ```
 */
export function bundleIsFresh(root: string = ROOT): boolean {
  let m: BundleManifest;
  try {
    m = JSON.parse(Deno.readTextFileSync(`${root}${BUNDLE_DIR}/manifest.json`));
  } catch {
    return false;
  }
  if (m.format !== BUNDLE_FORMAT || m.deno !== Deno.version.deno) return false;
  if (fileStamp(`${root}${BUNDLE_DIR}/core.js`) !== m.bundle) return false;
  for (const path in m.sources) {
    if (fileStamp(root + path) !== m.sources[path]) return false;
  }
  return true;
}

/**
 * Ask `mod.ts` to load the bundle when it is fresh (before anything imports mod.ts).
 *
 * @example
 * ```ts
 * preferCoreBundle();
 * await import("./mod.ts");
 * ```
 */
export function preferCoreBundle(): void {
  (globalThis as Record<symbol, unknown>)[PREFER] = true;
}

/**
 * The module `mod.ts` should import: the bundle when it is wanted and fresh, else core.ts.
 * A stale bundle explicitly asked for (`BPFSH_CORE=bundle`) is reported on stderr.
 *
 * @returns A module URL.
 * @example
 * ```ts
 * const core = await import(coreModule());
 * ```
 */
export function coreModule(): string {
  const mode = Deno.env.get("BPFSH_CORE");
  // Modules of the core imported from their sources already (ffi/libbpf.ts registers each
  // copy): the sources, so that there is one copy.
  const g = globalThis as Record<symbol, unknown>;
  const sourcesLoaded = (g[COPIES] as unknown[] | undefined)?.length;
  if (mode !== "source" && !sourcesLoaded && (mode === "bundle" || g[PREFER])) {
    if (bundleIsFresh()) {
      loaded = "bundle";
      return new URL(`${BUNDLE_DIR}/core.js`, ROOT_URL).href;
    }
    if (mode === "bundle") {
      console.error(
        `bpfsh: ${BUNDLE_DIR}/core.js is missing or older than the sources; using the sources` +
          " (rebuild it: deno run -A tools/bundle.ts)",
      );
    }
  }
  loaded = "source";
  return new URL("core.ts", ROOT_URL).href;
}

/**
 * Which copy of the core `mod.ts` loaded.
 *
 * @returns `"bundle"`, `"source"`, or undefined before mod.ts was imported.
 * @example
 * ```ts
 * import "./mod.ts";
 * coreLoaded(); // "source"
 * ```
 */
export function coreLoaded(): "bundle" | "source" | undefined {
  return loaded;
}
