/**
 * Build the core library's bundle: `core.ts` and every module it imports as one JavaScript
 * file, `build/core/core.js` (with `core.js.map`, so stack traces name the source files),
 * and `build/core/manifest.json`, the stamps `mod.ts` checks before using it (see
 * core_bundle.ts). Run by tools/build.ts at set-up; nothing is done when the bundle is up to
 * date.
 *
 * ```sh
 * deno run -A tools/bundle.ts           # build it when missing or stale
 * deno run -A tools/bundle.ts --force   # build it anyway
 * ```
 *
 * @module
 */

import {
  BUNDLE_DIR,
  BUNDLE_FORMAT,
  bundleIsFresh,
  type BundleManifest,
  fileStamp,
} from "../core_bundle.ts";

/** The repository root, ending in "/". */
const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname);
/**
 * Sources changed more recently than this are waited for before they are stamped: the
 * stamp's ctime has whole seconds, so a later write in the same second as the stamp, of the
 * same size, could otherwise go unseen. (Its mtime has milliseconds: the wait covers that.)
 */
const SETTLE_MS = 2100;

/** What a build did. */
export interface BundleResult {
  /** `"built"`, or `"up to date"` when nothing had to be done. */
  status: "built" | "up to date";
  /** The bundle, relative to the root. */
  path: string;
  /** How many source modules it holds (when built). */
  modules?: number;
}

async function output(cmd: string, args: string[]): Promise<string> {
  const r = await new Deno.Command(cmd, { args, cwd: ROOT, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder();
  if (!r.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${text.decode(r.stderr).trim()}`);
  }
  return text.decode(r.stdout);
}

/**
 * The files the bundle is made from: core.ts's module graph (local files), deno.json and
 * this file (a change of the bundler's options makes a new bundle too).
 */
async function inputs(deno: string): Promise<{ files: string[]; modules: number }> {
  const info = JSON.parse(await output(deno, ["info", "--json", "core.ts"]));
  const files: string[] = [];
  for (const m of info.modules as { specifier: string }[]) {
    if (!m.specifier.startsWith("file://")) {
      throw new Error(`core.ts imports '${m.specifier}': only local modules can be bundled`);
    }
    const path = decodeURIComponent(new URL(m.specifier).pathname);
    if (!path.startsWith(ROOT)) throw new Error(`core.ts imports '${path}', outside ${ROOT}`);
    files.push(path.slice(ROOT.length));
  }
  const modules = files.length;
  files.push("tools/bundle.ts");
  try {
    Deno.statSync(`${ROOT}deno.json`);
    files.push("deno.json");
  } catch {
    // No configuration file: nothing else shapes the output.
  }
  return { files: files.sort(), modules };
}

function stamps(files: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of files) {
    const s = fileStamp(ROOT + f);
    if (!s) throw new Error(`cannot read '${f}'`);
    out[f] = s;
  }
  return out;
}

function same(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

/** Wait until no input changed in the last SETTLE_MS (at most that long). */
async function settle(files: string[]): Promise<void> {
  let newest = 0;
  for (const f of files) {
    const s = Deno.statSync(ROOT + f);
    newest = Math.max(newest, s.mtime?.getTime() ?? 0, s.ctime?.getTime() ?? 0);
  }
  const wait = newest + SETTLE_MS - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, Math.min(wait, SETTLE_MS)));
}

/**
 * Build the bundle when it is missing or stale (or always, with `force`).
 *
 * @param opts `force`: build even when up to date.
 * @returns What was done.
 * @example
 * ```ts
 * const r = await buildCoreBundle();
 * console.log(r.status, r.path);
 * ```
 */
export async function buildCoreBundle(opts: { force?: boolean } = {}): Promise<BundleResult> {
  const path = `${BUNDLE_DIR}/core.js`;
  // Fresh means no file it was made from changed: a module new to the graph is imported by
  // one of them, which changed.
  if (!opts.force && bundleIsFresh(ROOT)) return { status: "up to date", path };
  const deno = Deno.execPath();
  const dir = `${ROOT}${BUNDLE_DIR}`;
  // A sibling of the final directory, so the map's relative source paths stay right.
  const tmp = `${dir}.tmp-${Deno.pid}`;
  await Deno.mkdir(tmp, { recursive: true });
  try {
    for (let attempt = 1;; attempt++) {
      const { files, modules } = await inputs(deno);
      await settle(files);
      const before = stamps(files);
      await output(deno, [
        "bundle",
        "--quiet",
        // Without comments and blanks the bundle loads ~1.5 ms sooner. Functions and classes
        // keep their `name`; stack traces name the source files and lines (the map), but
        // private methods by their minified names (`#a`).
        "--minify",
        "--keep-names",
        "--sourcemap=linked",
        "core.ts",
        "-o",
        `${tmp}/core.js`,
      ]);
      // A source that changed while it was read: its stamp would not describe the bundle. A
      // module new to the graph since the list was made: it would not be stamped.
      const after = await inputs(deno);
      if (same(before, stamps(after.files))) {
        await Deno.mkdir(dir, { recursive: true });
        await Deno.remove(`${dir}/manifest.json`).catch(() => {});
        await Deno.rename(`${tmp}/core.js.map`, `${dir}/core.js.map`);
        await Deno.rename(`${tmp}/core.js`, `${dir}/core.js`);
        const manifest: BundleManifest = {
          format: BUNDLE_FORMAT,
          deno: Deno.version.deno,
          bundle: fileStamp(`${dir}/core.js`)!,
          sources: before,
        };
        await Deno.writeTextFile(`${tmp}/manifest.json`, JSON.stringify(manifest, null, 1) + "\n");
        await Deno.rename(`${tmp}/manifest.json`, `${dir}/manifest.json`);
        return { status: "built", path, modules };
      }
      if (attempt === 3) throw new Error("the sources kept changing while they were bundled");
    }
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const start = performance.now();
  try {
    const r = await buildCoreBundle({ force: Deno.args.includes("--force") });
    const ms = Math.round(performance.now() - start);
    const modules = r.modules ? `, ${r.modules} modules` : "";
    console.log(`ok    core.ts -> ${r.path} (${r.status}${modules}, ${ms} ms)`);
  } catch (e) {
    console.log(`FAIL  core.ts -> ${BUNDLE_DIR}/core.js\n      ${(e as Error).message}`);
    Deno.exit(1);
  }
}
