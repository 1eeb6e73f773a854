// @guest
// Nothing outlives a process killed with SIGKILL (or by a signal to its whole process group):
// tc programs on lo through tcx links (the kernel detaches them with the fd) or through
// netlink filters (BPFSH_TC=netlink, the only way on kernels before 6.6: the reaper removes
// them, and the clsact qdisc when bpfsh created it), XDP, legacy tracefs uprobe events. What
// tc, ip, bpftool and tracefs list is compared before and after. And the reaper undoes only
// what bpfsh made. (The shell's cases: link_reaper_shell_test.ts.)
import { BpfError, BpfObject } from "../mod.ts";
import { applyLine, undoAll } from "../bpf/link/reaper_main.ts";
import { type ReaperTask, reaperTasks } from "../bpf/link/reaper.ts";
import { tcFilterProgram, tcPriorities } from "../bpf/link/tc_netlink.ts";
import { tcxAvailable } from "../bpf/link/tcx.ts";
import { assert, assertEquals, assertMatch, assertThrows } from "./assert.ts";
import { fixture, kernelProgIds, NOT_ROOT, OutputText, ROOT } from "./helpers.ts";
import {
  eventually,
  hasClsact,
  legacyUprobesPossible,
  probeEventsOf,
  processGone,
  tcProgramIds,
  withUprobePmuHidden,
  xdpProgramId,
} from "./link_helpers.ts";

interface Held {
  tc: number;
  xdp: number;
  vias: string[];
  reaper: number | null;
  firstReaper: number | null;
  stray: number;
}

interface KillCase {
  /** `deno run` the fixture, or `bpfsh run` it (the shell's script runner). */
  how: "deno run" | "bpfsh run";
  /** BPFSH_TC, or the kernel's choice. */
  tc?: "netlink";
  /** A clsact qdisc lo had before (then it must stay). */
  clsactBefore?: boolean;
  /** SIGKILL to the process, or SIGINT/SIGKILL to its whole process group. */
  signal: "SIGKILL" | "group SIGINT" | "group SIGKILL";
  /** Hold a uprobe too, through legacy tracefs events (a mount namespace hides the PMU). */
  legacyUprobe?: boolean;
  /** Kill the first reaper between the two tc attaches (a second one takes over). */
  killReaper?: boolean;
}

function tc(...args: string[]): void {
  new Deno.Command("tc", { args, stdout: "null", stderr: "null" }).outputSync();
}

async function holdAndKill(c: KillCase): Promise<void> {
  const what = `${c.how}, ${c.tc ?? "default"} tc, ${
    c.clsactBefore ? "clsact before" : "no clsact"
  }, ${c.signal}${c.legacyUprobe ? ", legacy uprobe" : ""}${c.killReaper ? ", reaper killed" : ""}`;
  if (c.clsactBefore) tc("qdisc", "add", "dev", "lo", "clsact");
  try {
    const before = hasClsact("lo");
    const script = ["run", "-A", "--no-prompt", `${ROOT}/tests/fixtures/hold_kill.ts`];
    const args = c.how === "deno run"
      ? script
      : ["run", "-A", "--no-prompt", `${ROOT}/shell/main.ts`, "run", script[3]];
    // With the PMU hidden, libbpf writes uprobe_events, as on kernels without it.
    const [cmd, ...cmdArgs] = c.legacyUprobe
      ? withUprobePmuHidden([Deno.execPath(), ...args])
      : [Deno.execPath(), ...args];
    const env: Record<string, string> = { NO_COLOR: "1" };
    if (c.tc) env.BPFSH_TC = c.tc;
    if (c.legacyUprobe) env.HOLD_UPROBE = "1";
    if (c.killReaper) env.HOLD_KILL_REAPER = "1";
    const child = new Deno.Command(cmd, {
      args: cmdArgs as string[],
      env,
      stdout: "piped",
      stderr: "piped",
      detached: c.signal !== "SIGKILL",
    }).spawn();
    const out = new OutputText(child.stdout);
    await out.until("\n");
    let held: Held;
    try {
      held = JSON.parse(out.text) as Held;
    } catch {
      child.kill("SIGKILL");
      const err = await new Response(child.stderr).text();
      throw new Error(`${what}: the child did not get ready: ${out.text} ${err}`);
    }

    // While it lives: the kernel shows what it attached.
    const netlink = c.tc === "netlink" || !tcxAvailable();
    for (const dir of ["ingress", "egress"] as const) {
      const on = tcProgramIds("lo", dir);
      if (netlink) assertEquals(on.filters, [held.tc], `${what}: a netlink filter on ${dir}`);
      else assertEquals(on.tcx.filter((id) => id === held.tc).length, 2, `${what}: tcx links`);
    }
    assert(held.vias.every((v) => v.startsWith(netlink ? "tc filter (netlink)" : "tcx link ")));
    assertEquals(xdpProgramId("lo"), held.xdp, `${what}: XDP on lo`);
    const events = probeEventsOf(child.pid);
    if (c.legacyUprobe) assertEquals(events.length, 1, `${what}: a legacy uprobe event`);
    // The reaper runs only when something needs it: netlink filters, legacy events.
    assertEquals(held.reaper !== null, netlink || !!c.legacyUprobe, `${what}: reaper started`);
    if (c.killReaper) {
      assert(held.reaper !== held.firstReaper, `${what}: a second reaper`);
      assertEquals(held.stray, 0, `${what}: tasks written into a file that took the pipe's fd`);
    }

    if (c.signal === "SIGKILL") child.kill("SIGKILL");
    else Deno.kill(-child.pid, c.signal === "group SIGINT" ? "SIGINT" : "SIGKILL");
    const status = await child.status;
    await out.close();
    await child.stderr.cancel().catch(() => {});
    assertEquals(status.signal, c.signal === "group SIGINT" ? "SIGINT" : "SIGKILL", what);
    if (held.reaper) await processGone(held.reaper);

    // After: nothing of it is left, and what was there before still is.
    for (const dir of ["ingress", "egress"] as const) {
      const on = tcProgramIds("lo", dir);
      assertEquals(on.filters.filter((id) => id === held.tc), [], `${what}: ${dir} filter left`);
      assertEquals(on.tcx.filter((id) => id === held.tc), [], `${what}: ${dir} tcx link left`);
    }
    assertEquals(hasClsact("lo"), before, `${what}: clsact qdisc as it was`);
    assertEquals(xdpProgramId("lo"), undefined, `${what}: XDP left on lo`);
    assertEquals(probeEventsOf(child.pid), [], `${what}: legacy probe events left`);
    await eventually(`${what}: programs unloaded`, () => {
      const live = kernelProgIds();
      return !live.has(held.tc) && !live.has(held.xdp);
    }, 3000);
  } finally {
    if (c.clsactBefore) tc("qdisc", "del", "dev", "lo", "clsact");
  }
}

/** Where the kernel has no tcx links, the default is netlink: no need to force it too. */
const MECHANISMS = tcxAvailable() ? [undefined, "netlink"] as const : [undefined];
const LEGACY_UPROBE = legacyUprobesPossible();

Deno.test({
  name: "SIGKILL of a deno run script leaves no tc filter, tcx link, qdisc, XDP, uprobe event",
  ignore: NOT_ROOT,
  async fn() {
    for (const tc of MECHANISMS) {
      for (const clsactBefore of [false, true]) {
        // The first also holds a uprobe through legacy tracefs events, for the reaper.
        const legacyUprobe = LEGACY_UPROBE && !tc && !clsactBefore;
        await holdAndKill({ how: "deno run", tc, clsactBefore, signal: "SIGKILL", legacyUprobe });
      }
    }
  },
});

Deno.test({
  name: "SIGKILL of bpfsh run, a signal to the process group, a killed reaper: nothing left",
  ignore: NOT_ROOT,
  async fn() {
    for (const tc of MECHANISMS) await holdAndKill({ how: "bpfsh run", tc, signal: "SIGKILL" });
    // Ctrl-C reaches the whole foreground group; the reaper, in a session of its own, stays
    // to clean up after a script that does not handle it.
    await holdAndKill({ how: "deno run", tc: "netlink", signal: "group SIGINT" });
    // A reaper killed on its own is replaced, with every task the first one held.
    await holdAndKill({ how: "deno run", tc: "netlink", signal: "SIGKILL", killReaper: true });
    if (tcxAvailable()) {
      await holdAndKill({ how: "deno run", tc: "netlink", signal: "group SIGKILL" });
    }
  },
});

Deno.test({
  name: "the reaper undoes only what bpfsh made: another's filter and its qdisc stay",
  ignore: NOT_ROOT,
  async fn() {
    const hadClsact = hasClsact("lo");
    if (!hadClsact) tc("qdisc", "add", "dev", "lo", "clsact");
    const [priority] = tcPriorities();
    tc(
      "filter",
      "add",
      "dev",
      "lo",
      "ingress",
      "pref",
      String(priority),
      "handle",
      "1",
      "bpf",
      "da",
      "obj",
      `${ROOT}/build/tests/tc_hold.bpf.o`,
      "sec",
      "tc",
    );
    try {
      const theirs = tcFilterProgram({ ifindex: 1, direction: "ingress", handle: 1, priority });
      assert(theirs, "tc added a filter");
      const tasks = new Map<number, ReaperTask>();
      const filter = { ifindex: 1, direction: "ingress", handle: 1, priority, progId: theirs + 1 };
      applyLine(tasks, `+1 ${JSON.stringify({ kind: "clsact", ifindex: 1 })}`);
      applyLine(tasks, `+2 ${JSON.stringify({ kind: "tc-filter", filter })}`);
      applyLine(tasks, `+3 ${JSON.stringify({ kind: "clsact", ifindex: 1 })}`);
      applyLine(tasks, "-3");
      applyLine(tasks, "+4 {torn");
      assertEquals([...tasks.keys()], [1, 2]);
      assertEquals(await undoAll(tasks), [
        `tc-filter 1 ingress ${priority}: not ours`,
        "clsact 1: in use",
      ]);
      assertEquals(tcProgramIds("lo", "ingress").filters, [theirs], "their filter stays");
      assert(hasClsact("lo"), "the qdisc under their filter stays");
    } finally {
      tc("filter", "del", "dev", "lo", "ingress", "pref", String(priority));
      if (!hadClsact) tc("qdisc", "del", "dev", "lo", "clsact");
    }
  },
});

Deno.test({
  name: "netlink tc links share the clsact qdisc bpfsh made: it goes with the last of them",
  ignore: NOT_ROOT,
  async fn() {
    const hadClsact = hasClsact("lo");
    Deno.env.set("BPFSH_TC", "netlink");
    try {
      using obj = await BpfObject.open(fixture("tc_hold"));
      obj.load();
      const p = obj.program("tc_pass");
      const a = p.attach("lo:ingress");
      const b = p.attach("lo:ingress");
      const c = p.attach("lo:egress");
      assertEquals(a.via, `tc filter (netlink) pref ${tcPriorities()[0]} handle 0x1`);
      assertEquals(b.via, `tc filter (netlink) pref ${tcPriorities()[1]} handle 0x1`);
      a.close();
      assertEquals(tcProgramIds("lo", "ingress").filters.length, 1, "b's filter stays");
      b.close();
      assert(hasClsact("lo"), "c still uses the qdisc");
      c.close();
      assertEquals(tcProgramIds("lo", "egress").filters, []);
      assertEquals(hasClsact("lo"), hadClsact, "the qdisc bpfsh made is gone with the last");
    } finally {
      Deno.env.delete("BPFSH_TC");
    }
  },
});

Deno.test({
  name: "a clsact qdisc removed under a netlink tc link is made again by the next attach",
  ignore: NOT_ROOT,
  async fn() {
    const hadClsact = hasClsact("lo");
    if (hadClsact) {
      console.warn("skipped: lo has someone else's clsact qdisc, not ours to remove");
      return;
    }
    Deno.env.set("BPFSH_TC", "netlink");
    try {
      using obj = await BpfObject.open(fixture("tc_hold"));
      obj.load();
      const p = obj.program("tc_pass");
      const a = p.attach("lo:ingress");
      // Someone removes the qdisc (and a's filter with it) while a is held.
      tc("qdisc", "del", "dev", "lo", "clsact");
      assert(!hasClsact("lo"));
      const b = p.attach("lo:egress");
      assert(hasClsact("lo"), "the qdisc is made again");
      assertEquals(tcProgramIds("lo", "egress").filters.length, 1, "b's filter");
      a.close(); // its filter went with the old qdisc: nothing to remove, no error
      assert(hasClsact("lo"), "b still uses the qdisc");
      b.close();
      assertEquals(hasClsact("lo"), false, "the qdisc bpfsh made again is gone with b");
      assertEquals(reaperTasks(), 0, "the reaper holds nothing");
    } finally {
      Deno.env.delete("BPFSH_TC");
      if (hasClsact("lo")) tc("qdisc", "del", "dev", "lo", "clsact");
    }
  },
});

Deno.test({
  name: "BPFSH_TC: tcx forced where the kernel has none fails with a hint; other values refused",
  ignore: NOT_ROOT,
  async fn() {
    using obj = await BpfObject.open(fixture("tc_hold"));
    obj.load();
    try {
      Deno.env.set("BPFSH_TC", "sideways");
      assertThrows(() => obj.program("tc_pass").attach("lo:ingress"), BpfError, "'sideways'");
      if (!tcxAvailable()) {
        Deno.env.set("BPFSH_TC", "tcx");
        const e = assertThrows(() => obj.program("tc_pass").attach("lo:ingress"), BpfError);
        assertMatch(e.hint ?? "", "no tcx links");
      }
    } finally {
      Deno.env.delete("BPFSH_TC");
    }
  },
});
