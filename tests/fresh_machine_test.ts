// A fresh machine in miniature: in a private mount namespace, tracefs, debugfs and bpffs are
// unmounted and HOME is an empty directory (no compile cache, no Deno cache). There, the
// README's main command must trace, and the kernel-facing tests that need tracefs or bpffs
// (tracepoint attach, CO-RE loads, trace_pipe, pins) must pass. Needs root and unshare(1).
import { assert, assertEquals } from "./assert.ts";
import { NOT_ROOT, ROOT } from "./helpers.ts";

const HAS_UNSHARE = (() => {
  try {
    return new Deno.Command("unshare", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

/** The tests that exercise every path needing tracefs or bpffs. */
const KERNEL_TESTS = [
  "tests/attach_test.ts",
  "tests/core_btf_test.ts",
  "tests/tracepipe_test.ts",
  "tests/maps_test.ts",
  "tests/object_test.ts",
];

Deno.test({
  name: "on a fresh machine (tracefs, debugfs, bpffs unmounted; empty HOME) bpfsh demo traces " +
    "and the tracefs/bpffs tests pass",
  ignore: NOT_ROOT || !HAS_UNSHARE,
  async fn() {
    const home = await Deno.makeTempDir({ prefix: "bpfsh-fresh-home-" });
    const script = `
      set -u
      for m in /sys/kernel/debug/tracing /sys/kernel/tracing /sys/kernel/debug /sys/fs/bpf; do
        while mountpoint -q "$m"; do umount "$m" || exit 90; done
      done
      grep -qE ' (tracefs|debugfs|bpf) ' /proc/self/mounts && { echo "still mounted"; exit 91; }
      export HOME=${home}
      unset BPFSH_CACHE DENO_DIR XDG_CACHE_HOME
      (sleep 2; /bin/true; /bin/true) &
      ./bpfsh demo --duration 4 || exit 92
      echo "demo-status 0"
      NO_COLOR=1 node_modules/.bin/deno test -A --no-prompt --no-check ${KERNEL_TESTS.join(" ")} \\
        2>&1 | tail -n 30
      exit \${PIPESTATUS[0]:-0}
    `;
    const out = await new Deno.Command("unshare", {
      args: ["-m", "--propagation", "private", "bash", "-c", script],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    const err = new TextDecoder().decode(out.stderr);
    await Deno.remove(home, { recursive: true });
    const context = `stdout:\n${text}\nstderr:\n${err}`;
    assert(text.includes("demo-status 0"), `bpfsh demo ran on a fresh machine\n${context}`);
    assert(/\btrue\b/.test(text), `bpfsh demo printed an exec of /bin/true\n${context}`);
    assert(/^ok \| \d+ passed \| 0 failed/m.test(text), `the kernel tests passed\n${context}`);
    assertEquals(out.code, 0, context);
  },
});
