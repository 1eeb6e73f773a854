// A shell killed while it holds a tc program leaves nothing (the reaper's part is in
// link_reaper_test.ts), and `link list` says how the kernel holds it. Host only: the guest
// runs the same paths through link_reaper_test.ts.
import { tcxAvailable } from "../bpf/link/tcx.ts";
import { assert, assertEquals } from "./assert.ts";
import { NOT_ROOT, ROOT } from "./helpers.ts";
import { eventually, hasClsact, processGone, reaperOf, tcProgramIds } from "./link_helpers.ts";

Deno.test({
  name: "a shell stuck in a runaway JavaScript line, SIGTERM then SIGKILL, leaves no tc filter",
  ignore: NOT_ROOT,
  async fn() {
    const before = hasClsact("lo");
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--no-prompt",
        `${ROOT}/shell/main.ts`,
        "-c",
        `load ${ROOT}/build/tests/tc_hold.bpf.o --no-attach; prog attach tc_pass lo:ingress; ` +
        "while (true) {}",
      ],
      env: { BPFSH_TC: "netlink", BPFSH_JS_TIMEOUT: "60", BPFSH_HISTORY: "", NO_COLOR: "1" },
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      await eventually("the filter is attached", () => {
        return tcProgramIds("lo", "ingress").filters.length > 0;
      }, 10000);
      const [id] = tcProgramIds("lo", "ingress").filters;
      const reaper = reaperOf(child.pid);
      assert(reaper, "the shell started a reaper");
      // The line spins: no signal listener runs until its budget ends, as a service
      // manager's SIGTERM then SIGKILL (after its timeout) would find it.
      child.kill("SIGTERM");
      await new Promise((r) => setTimeout(r, 200));
      child.kill("SIGKILL");
      assertEquals((await child.status).signal, "SIGKILL");
      await processGone(reaper);
      assertEquals(tcProgramIds("lo", "ingress").filters.filter((p) => p === id), []);
      assertEquals(hasClsact("lo"), before, "the qdisc bpfsh created is gone");
    } finally {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
    }
  },
});

Deno.test({
  name: "link list shows how the kernel holds a tc program: a tcx link or a netlink filter",
  ignore: NOT_ROOT,
  async fn() {
    for (const tc of tcxAvailable() ? ["tcx", "netlink"] : ["netlink"]) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "--no-prompt",
          `${ROOT}/shell/main.ts`,
          "--json",
          "-c",
          `load ${ROOT}/build/tests/tc_hold.bpf.o --no-attach; ` +
          "prog attach tc_pass lo:egress; links",
        ],
        env: { BPFSH_TC: tc, BPFSH_HISTORY: "", NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const lines = new TextDecoder().decode(out.stdout).trim().split("\n").map((l) =>
        JSON.parse(l) as { via?: string }
      );
      assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
      const via = lines.at(-1)?.via ?? "";
      assert(
        tc === "tcx" ? /^tcx link \d+$/.test(via) : via.startsWith("tc filter (netlink) pref "),
        `${tc}: via '${via}'`,
      );
    }
  },
});
