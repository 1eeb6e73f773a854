// The probe command line's bundle (probe/bundle.ts): `bpfsh -e` runs from build/bundle/
// when it was made from the sources as they are, and from the sources otherwise (stale,
// turned off, or a command line that needs a module the bundle does not hold), with the
// same output either way and nothing printed twice.
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { modulesLoadedBy, NOT_ROOT, ROOT } from "./helpers.ts";
import {
  BUNDLE_DIR,
  BUNDLE_MANIFEST,
  bundleIsFresh,
  importLater,
  inBundle,
  isOutsideBundle,
  OutsideBundle,
} from "../probe/bundle.ts";

Deno.test("bundleIsFresh() holds until a source changes, goes missing, or the bundle is turned off", () => {
  const root = Deno.makeTempDirSync();
  try {
    Deno.mkdirSync(`${root}/${BUNDLE_DIR}`, { recursive: true });
    Deno.mkdirSync(`${root}/probe`);
    const source = `${root}/probe/x.ts`;
    const manifest = `${root}/${BUNDLE_DIR}/${BUNDLE_MANIFEST}`;
    const record = () => {
      const st = Deno.statSync(source);
      Deno.writeTextFileSync(
        manifest,
        JSON.stringify({ sources: [["probe/x.ts", st.size, st.mtime!.getTime()]] }),
      );
    };
    assertEquals(bundleIsFresh(root), false, "no manifest");
    Deno.writeTextFileSync(source, "export const x = 1;\n");
    record();
    assertEquals(bundleIsFresh(root), true);
    Deno.env.set("BPFSH_PROBE_BUNDLE", "off");
    try {
      assertEquals(bundleIsFresh(root), false, "turned off");
    } finally {
      Deno.env.delete("BPFSH_PROBE_BUNDLE");
    }
    Deno.writeTextFileSync(source, "export const x = 22;\n");
    assertEquals(bundleIsFresh(root), false, "a longer source");
    record();
    // The same size, a later mtime.
    Deno.writeTextFileSync(source, "export const x = 33;\n");
    Deno.utimeSync(source, new Date(), new Date(Date.now() + 5000));
    assertEquals(bundleIsFresh(root), false, "an edit of the same size");
    record();
    Deno.removeSync(source);
    assertEquals(bundleIsFresh(root), false, "a source gone");
    Deno.writeTextFileSync(manifest, "{not json");
    assertEquals(bundleIsFresh(root), false, "a torn manifest");
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("from the sources, importLater() imports by repository path; OutsideBundle is told from either world", async () => {
  assertEquals(inBundle(), false);
  const { quickProbeArgs } = await importLater<typeof import("../probe/cli.ts")>("probe/cli.ts");
  assertEquals(quickProbeArgs(["-e", "BEGIN {}"])?.program, "BEGIN {}");
  assert(isOutsideBundle(new OutsideBundle("probe/prepare.ts")));
  // The bundle's own class is another class: the name is what tells it.
  const other = Object.assign(new Error("x"), { name: "OutsideBundle" });
  assert(isOutsideBundle(other));
  assert(!isOutsideBundle(new Error("x")));
});

/** `bpfsh -e` as the launcher runs it, with Deno's debug log: the output and the modules loaded. */
async function probeRun(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string; loaded: string[] }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--no-prompt",
      "-L",
      "debug",
      "--v8-flags=--max-semi-space-size=4,--no-lazy",
      `${ROOT}/shell/main.ts`,
      ...args,
    ],
    env: { DENO_DIR: `${ROOT}/build/deno`, NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  const loaded = modulesLoadedBy(err);
  const plain = err.split("\n").filter((l) => !/^(DEBUG|TRACE|INFO) /.test(l)).join("\n");
  return { code: out.code, out: new TextDecoder().decode(out.stdout), err: plain, loaded };
}

const PROGRAM = 'BEGIN { printf("hi %d\\n", 6 * 7); @n[comm] = count(); exit(); }';
const bundleBuilt = bundleIsFresh();

Deno.test({
  name: "bpfsh -e runs from the bundle when it is fresh: no probe module is read from the sources",
  // The set-up builds the bundle (tools/test.sh runs it first): a suite without one fails.
  ignore: NOT_ROOT,
  async fn() {
    assert(bundleBuilt, `no fresh bundle in ${BUNDLE_DIR}: run tools/bundle.ts (the set-up does)`);
    const r = await probeRun(["-e", PROGRAM]);
    assertEquals(r.code, 0, r.err);
    assertEquals(r.out, "Attaching 1 probe...\nhi 42\n\n\n@n[deno]: 1\n");
    assert(r.loaded.includes(`${BUNDLE_DIR}/bundle_entry.js`), r.loaded.join("\n"));
    assert(r.loaded.includes(`${BUNDLE_DIR}/bundle_runner.js`), r.loaded.join("\n"));
    const sources = r.loaded.filter((m) => /^(probe|bpf|ffi)\/.*\.ts$/.test(m));
    assertEquals(sources, ["probe/argv.ts", "probe/bundle.ts"], "read from the sources");
    // bpftrace's JSON output, before -e or after the program, is read by the bundle too.
    const json = await probeRun(["-e", PROGRAM, "-f", "json"]);
    assertEquals(json.code, 0, json.err);
    assertMatch(json.out, /"type": "printf", "data": "hi 42\\n"/);
    assert(!json.loaded.includes("probe/cli.ts"), json.loaded.join("\n"));
  },
});

Deno.test({
  name:
    "bpfsh -e turned off, or needing what the bundle lacks, runs from the sources: the same output, once",
  ignore: NOT_ROOT,
  async fn() {
    const off = await probeRun(["-e", PROGRAM], { BPFSH_PROBE_BUNDLE: "off" });
    assertEquals(off.code, 0, off.err);
    assertEquals(off.out, "Attaching 1 probe...\nhi 42\n\n\n@n[deno]: 1\n");
    assert(!off.loaded.some((m) => m.startsWith(BUNDLE_DIR)), "the bundle was loaded");
    assert(off.loaded.includes("probe/parse.ts"), off.loaded.join("\n"));
    // The long option needs the option parser (node:util), which the bundle leaves out.
    const json = await probeRun(["--format", "json", "-e", PROGRAM]);
    assertEquals(json.code, 0, json.err);
    const lines = json.out.trim().split("\n").filter((l) => l);
    assertEquals(lines.filter((l) => l.includes('"attached_probes"')).length, 1, json.out);
    assertMatch(json.out, /"type": "printf", "data": "hi 42\\n"/);
    if (bundleBuilt) {
      assert(json.loaded.includes(`${BUNDLE_DIR}/bundle_entry.js`), "the bundle was tried first");
      assert(json.loaded.includes("probe/cli.ts"), "then the sources ran it");
    }
    // A syntax error is reported by the bundle itself, as the sources would.
    const bad = await probeRun(["-e", "BEGIN { @x = ; }"]);
    const badSrc = await probeRun(["-e", "BEGIN { @x = ; }"], { BPFSH_PROBE_BUNDLE: "off" });
    assertEquals(bad.code, 1);
    assertEquals(bad.err, badSrc.err);
    assertMatch(bad.err, /stdin:1:\d+/);
  },
});
