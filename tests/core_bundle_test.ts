// The core bundle (core_bundle.ts, tools/bundle.ts): used only while every file it was built
// from is unchanged, and the same API as the sources.
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { ROOT } from "./helpers.ts";
import {
  BUNDLE_DIR,
  BUNDLE_FORMAT,
  bundleIsFresh,
  type BundleManifest,
  fileStamp,
} from "../core_bundle.ts";
import { buildCoreBundle } from "../tools/bundle.ts";

/** A fake repository with one source and a bundle whose manifest matches it. */
function fakeRoot(): { root: string; manifest: BundleManifest } {
  const root = Deno.makeTempDirSync({ prefix: "bpfsh_bundle_" }) + "/";
  Deno.mkdirSync(`${root}${BUNDLE_DIR}`, { recursive: true });
  Deno.mkdirSync(`${root}bpf`);
  Deno.writeTextFileSync(`${root}bpf/x.ts`, "export const x = 1;\n");
  Deno.writeTextFileSync(`${root}${BUNDLE_DIR}/core.js`, "export const x = 1;\n");
  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    deno: Deno.version.deno,
    bundle: fileStamp(`${root}${BUNDLE_DIR}/core.js`)!,
    sources: { "bpf/x.ts": fileStamp(`${root}bpf/x.ts`)! },
  };
  writeManifest(root, manifest);
  return { root, manifest };
}

function writeManifest(root: string, m: BundleManifest): void {
  Deno.writeTextFileSync(`${root}${BUNDLE_DIR}/manifest.json`, JSON.stringify(m));
}

/** Run a snippet with the repository's Deno; its stdout, trimmed. */
async function evalOut(code: string, env: Record<string, string> = {}): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    cwd: ROOT,
    env,
    stderr: "inherit",
  }).output();
  assert(out.success, `deno eval failed: ${code}`);
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test("bundleIsFresh() is true only while the bundle and every source keep their stamps", async () => {
  const { root, manifest } = fakeRoot();
  try {
    assert(bundleIsFresh(root), "a matching manifest");

    // An edit of the same size still changes the mtime (and ctime).
    const later = new Date(Date.now() + 5000);
    Deno.writeTextFileSync(`${root}bpf/x.ts`, "export const x = 2;\n");
    Deno.utimeSync(`${root}bpf/x.ts`, later, later);
    assert(!bundleIsFresh(root), "an edited source");

    // A file put back with its old mtime has a new ctime (whole seconds: tools/bundle.ts only
    // stamps files changed more than 2 s before, so a later change is in a later second).
    writeManifest(root, { ...manifest, sources: { "bpf/x.ts": fileStamp(`${root}bpf/x.ts`)! } });
    assert(bundleIsFresh(root), "a manifest made after the edit");
    const ctime = Deno.statSync(`${root}bpf/x.ts`).ctime!.getTime();
    await new Promise((r) => setTimeout(r, ctime + 1100 - Date.now()));
    Deno.removeSync(`${root}bpf/x.ts`);
    assert(!bundleIsFresh(root), "a removed source");
    Deno.writeTextFileSync(`${root}bpf/x.ts`, "export const x = 2;\n");
    Deno.utimeSync(`${root}bpf/x.ts`, later, later);
    assert(!bundleIsFresh(root), "a source replaced by a copy that keeps the mtime");

    const { root: r2, manifest: m2 } = fakeRoot();
    try {
      writeManifest(r2, { ...m2, deno: "0.0.0" });
      assert(!bundleIsFresh(r2), "another Deno version");
      writeManifest(r2, { ...m2, format: BUNDLE_FORMAT + 1 });
      assert(!bundleIsFresh(r2), "another manifest format");
      writeManifest(r2, m2);
      Deno.writeTextFileSync(`${r2}${BUNDLE_DIR}/core.js`, "export const x = 3;\n");
      assert(!bundleIsFresh(r2), "a rewritten bundle");
      Deno.removeSync(`${r2}${BUNDLE_DIR}/manifest.json`);
      assert(!bundleIsFresh(r2), "no manifest");
    } finally {
      Deno.removeSync(r2, { recursive: true });
    }
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("the core bundle exports what core.ts exports, and mod.ts loads it only when asked", async () => {
  await buildCoreBundle();
  const probe = `import * as m from "./mod.ts";
    import { coreLoaded } from "./core_bundle.ts";
    console.log(JSON.stringify({ core: coreLoaded(), names: Object.keys(m).sort() }));`;
  const source = JSON.parse(await evalOut(probe));
  const bundle = JSON.parse(await evalOut(probe, { BPFSH_CORE: "bundle" }));
  assertEquals(source.core, "source");
  assertEquals(bundle.core, "bundle");
  assertEquals(bundle.names, source.names);
  const core = await import("../core.ts");
  assertEquals(source.names, Object.keys(core).sort());
  // The bundle keeps the names of functions and classes, as the sources have them.
  const named = await evalOut(
    `const m = await import("./${BUNDLE_DIR}/core.js");
    console.log(m.BpfObject.name, m.RingBuffer.name, m.tracePipe.name, new m.BpfError({ op: "x" }).name);`,
  );
  assertEquals(named, "BpfObject RingBuffer tracePipe BpfError");
});

/**
 * Run `source` as a script through `shell/main.ts run` (what `bpfsh run` does).
 *
 * @returns Its stdout and stderr, trimmed; the run must succeed.
 */
async function bpfshRun(
  source: string,
  env: Record<string, string> = {},
): Promise<{ stdout: string; stderr: string }> {
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(script, source);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-prompt", `${ROOT}/shell/main.ts`, "run", script],
      env,
    }).output();
    const text = new TextDecoder();
    assert(out.success, `bpfsh run failed: ${text.decode(out.stderr)}`);
    return { stdout: text.decode(out.stdout).trim(), stderr: text.decode(out.stderr).trim() };
  } finally {
    await Deno.remove(script);
  }
}

Deno.test("bpfsh run script.ts loads the core from the bundle, BPFSH_CORE=source from the sources", async () => {
  await buildCoreBundle();
  const which = `import "${ROOT}/mod.ts";
    import { coreLoaded } from "${ROOT}/core_bundle.ts";
    console.log(coreLoaded());`;
  assertEquals((await bpfshRun(which)).stdout, "bundle");
  assertEquals((await bpfshRun(which, { BPFSH_CORE: "source" })).stdout, "source");
  // A module of ffi/ imported from its sources first: the core keeps to the sources.
  assertEquals((await bpfshRun(`import "${ROOT}/ffi/libbpf.ts";\n${which}`)).stdout, "source");
});

Deno.test("a second copy of the core (sources next to the bundle) is reported", async () => {
  await buildCoreBundle();
  const { stderr } = await bpfshRun(
    `import "${ROOT}/mod.ts";
    await import("${ROOT}/ffi/libbpf.ts");`,
  );
  assertMatch(stderr, "the core is loaded twice");
});
