/**
 * The probe command line (`bpfsh -e`, `FILE.bt`) as one pre-built JavaScript file: the
 * set-up bundles the command line, the compiler, the direct back end and the runner
 * (tools/bundle.ts, into {@link BUNDLE_DIR}), because Deno loads one 200 KB file in a third
 * of the time it takes over the thirty-odd modules it was made from (bench/NOTES.md).
 *
 * The bundle holds only what a direct one-liner needs. Its modules import the rest (the C
 * back end, option parsing, listings, provider support) through {@link importLater}:
 * from the source tree that is a dynamic import, inside the bundle it throws
 * {@link OutsideBundle} before anything was loaded, attached or printed, and
 * {@link runProbeCommandLine} runs the same command line again from the source tree. The
 * two worlds never share an object: a class of the bundle is not the source's class.
 *
 * A bundle older than any of its sources is not used (its manifest lists each source's
 * size and modification time), nor is one when `BPFSH_PROBE_BUNDLE=off`.
 *
 * @module
 */

/** Where the bundle is, relative to the repository. */
export const BUNDLE_DIR = "build/bundle";
/** The bundle's entry module, in {@link BUNDLE_DIR}. */
export const BUNDLE_ENTRY = "bundle_entry.js";
/** The bundle's manifest, in {@link BUNDLE_DIR}: each source it was made from. */
export const BUNDLE_MANIFEST = "manifest.json";

/** What {@link BUNDLE_MANIFEST} holds. */
export interface BundleManifest {
  /** Each source (relative to the repository) with its size and modification time (ms). */
  sources: [path: string, size: number, mtimeMs: number][];
}

/** Thrown inside the bundle when a module outside it is needed. */
export class OutsideBundle extends Error {
  override name = "OutsideBundle";
  /**
   * @param module The module needed (relative to the repository).
   */
  constructor(readonly module: string) {
    super(`${module} is not in the probe bundle`);
  }
}

/** Set by the bundle's entry module: the repository, and the modules bundled with it. */
let bundled: { root: URL; modules: Record<string, () => Promise<unknown>> } | undefined;

/**
 * Declare the running code a bundle: called once, by the bundle's entry module.
 *
 * @param root The repository the bundle was built in.
 * @param modules How to load each module of the bundle that others import later, by its
 *   path relative to the repository.
 * @example
 * ```ts ignore
 * registerBundle(new URL("../../", import.meta.url), {
 *   "probe/direct/start.ts": () => Promise.resolve(start),
 * });
 * ```
 */
export function registerBundle(
  root: URL,
  modules: Record<string, () => Promise<unknown>>,
): void {
  bundled = { root, modules };
}

/**
 * Whether this code runs from the bundle.
 *
 * @returns True inside the bundle.
 * @example
 * ```ts
 * inBundle(); // false: this example runs from the source tree
 * ```
 */
export function inBundle(): boolean {
  return bundled !== undefined;
}

/**
 * The repository's copy of a file, from the source tree or from the bundle.
 *
 * @param path A path relative to the repository.
 * @returns Its URL.
 * @example
 * ```ts
 * repoUrl("scripts/lib/stack_pids.bpf.h").pathname.endsWith("/scripts/lib/stack_pids.bpf.h"); // true
 * ```
 */
export function repoUrl(path: string): URL {
  return new URL(path, bundled?.root ?? new URL("../", import.meta.url));
}

/**
 * Import a module on first use. The specifier is computed, not a string literal, on
 * purpose: Deno loads every literal `import("...")` of a module, and all it imports, with
 * the module itself.
 *
 * @param path The module, relative to the repository.
 * @returns The module.
 * @throws {OutsideBundle} Inside the bundle, for a module the bundle does not hold.
 * @example
 * ```ts
 * const { quickProbeArgs } = await importLater<typeof import("./cli.ts")>("probe/cli.ts");
 * quickProbeArgs(["-e", "BEGIN { exit(); }"])?.program; // "BEGIN { exit(); }"
 * ```
 */
export function importLater<T>(path: string): Promise<T> {
  if (bundled) {
    const load = bundled.modules[path];
    return load ? load() as Promise<T> : Promise.reject(new OutsideBundle(path));
  }
  return import(repoUrl(path).href);
}

/**
 * Whether an error is {@link OutsideBundle}, thrown from either world.
 *
 * @param e The error.
 * @returns True for the bundle's signal to run from the source tree.
 * @example
 * ```ts
 * isOutsideBundle(new OutsideBundle("probe/prepare.ts")); // true
 * ```
 */
export function isOutsideBundle(e: unknown): boolean {
  return e instanceof Error && e.name === "OutsideBundle";
}

/**
 * Whether the bundle is there and was made from the sources as they are now.
 *
 * @param root The repository's directory (this one's unless given).
 * @returns True when the bundle may be used.
 * @example
 * ```ts
 * bundleIsFresh("/nonexistent/"); // false: no manifest there
 * ```
 */
export function bundleIsFresh(root = decodeURIComponent(repoUrl("").pathname)): boolean {
  if (Deno.env.get("BPFSH_PROBE_BUNDLE") === "off") return false;
  const dir = root.endsWith("/") ? root : `${root}/`;
  try {
    const manifest: BundleManifest = JSON.parse(
      Deno.readTextFileSync(`${dir}${BUNDLE_DIR}/${BUNDLE_MANIFEST}`),
    );
    for (const [path, size, mtimeMs] of manifest.sources) {
      const st = Deno.statSync(dir + path);
      if (st.size !== size || st.mtime?.getTime() !== mtimeMs) return false;
    }
    return true;
  } catch {
    return false; // no bundle, or a source gone
  }
}

/** What the command line's module (probe/cli.ts) gives, in the bundle and in the sources. */
interface ProbeCli {
  probeMain(argv: string[]): Promise<number>;
}

/**
 * Run a probe-language command line: from the bundle when it is fresh, else (or when the
 * bundle meets a module it does not hold) from the source tree.
 *
 * @param argv The arguments (as given to bpfsh).
 * @returns The exit status.
 * @example
 * ```ts ignore
 * Deno.exit(await runProbeCommandLine(["-e", "BEGIN { printf(\"hi\\n\"); exit(); }"]));
 * ```
 */
export async function runProbeCommandLine(argv: string[]): Promise<number> {
  if (bundleIsFresh()) {
    const fromBundle: ProbeCli = await import(repoUrl(`${BUNDLE_DIR}/${BUNDLE_ENTRY}`).href);
    try {
      return await fromBundle.probeMain(argv);
    } catch (e) {
      if (!isOutsideBundle(e)) throw e;
    }
  }
  const cli = await importLater<ProbeCli>("probe/cli.ts");
  return await cli.probeMain(argv);
}
