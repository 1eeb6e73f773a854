/**
 * Build the probe command line's bundle (probe/bundle.ts): `deno bundle` of its two
 * entries (probe/bundle_entry.ts, probe/bundle_runner.ts, the modules they share in a
 * chunk) into build/bundle/, and the manifest of the sources it was made from (each one's
 * size and mtime), by which `bpfsh -e` tells a stale bundle. The set-up runs it; run it by
 * hand after editing the probe modules (a stale bundle is not used: the command line then
 * runs from the source tree, only slower to start).
 *
 *   deno run -A tools/bundle.ts
 *
 * @module
 */

import { BUNDLE_DIR, BUNDLE_MANIFEST, type BundleManifest } from "../probe/bundle.ts";

const root = new URL("../", import.meta.url);
const at = (path: string) => new URL(path, root).pathname;
const ENTRIES = ["probe/bundle_entry.ts", "probe/bundle_runner.ts"];

async function deno(args: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: at("."),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  if (!out.success) {
    throw new Error(
      `deno ${args[0]} failed:\n${text.decode(out.stderr)}${text.decode(out.stdout)}`,
    );
  }
  return text.decode(out.stdout);
}

/** The repository's files an entry's code imports (type-only imports are not bundled). */
async function sources(entry: string): Promise<string[]> {
  const info = JSON.parse(await deno(["info", "--json", entry])) as {
    roots: string[];
    modules: {
      specifier: string;
      dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[];
    }[];
  };
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const visit = (specifier: string) => {
    if (seen.has(specifier) || !specifier.startsWith(root.href)) return;
    seen.add(specifier);
    for (const d of bySpecifier.get(specifier)?.dependencies ?? []) {
      if (d.code && !d.isDynamic) visit(d.code.specifier);
    }
  };
  info.roots.forEach(visit);
  return [...seen].map((s) => s.slice(root.href.length));
}

function remove(path: string): void {
  try {
    Deno.removeSync(path, { recursive: true });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

// The manifest is taken before bundling: a source edited meanwhile leaves the bundle stale.
const paths = [...new Set((await Promise.all(ENTRIES.map(sources))).flat())].sort();
const manifest: BundleManifest = {
  sources: paths.map((path) => {
    const st = Deno.statSync(at(path));
    return [path, st.size, st.mtime!.getTime()];
  }),
};
// Built beside the old one, then swapped in: a bpfsh starting meanwhile finds either
// bundle whole, or none (and runs from the source tree).
const dir = at(BUNDLE_DIR);
const fresh = `${dir}.new`;
remove(fresh);
await deno([
  "bundle",
  "--quiet",
  "--platform",
  "deno",
  "--code-splitting",
  "--outdir",
  fresh,
  ...ENTRIES,
]);
Deno.writeTextFileSync(`${fresh}/${BUNDLE_MANIFEST}`, JSON.stringify(manifest) + "\n");
remove(`${dir}.old`);
try {
  Deno.renameSync(dir, `${dir}.old`);
} catch (e) {
  if (!(e instanceof Deno.errors.NotFound)) throw e;
}
Deno.renameSync(fresh, dir);
remove(`${dir}.old`);
console.error(`bundle: ${BUNDLE_DIR}/ from ${paths.length} modules`);
