// @guest
// Nothing an attachment made outlives its process, however it ends: the tcx link, or the
// netlink tc filter and the clsact qdisc bpfsh created, cgroup attachments, socket filters,
// uprobes and iterators are gone after close, a normal exit, SIGTERM and SIGINT (what tc,
// bpftool and tracefs list is compared before and after). SIGKILL: link_reaper_test.ts.
import { BpfObject } from "../mod.ts";
import { kernelId } from "../bpf/system/files.ts";
import { tcxAvailable } from "../bpf/link/tcx.ts";
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { bpfTest, fixture, kernelProgIds, NOT_ROOT, OutputText, ROOT } from "./helpers.ts";
import {
  cgroupPrograms,
  eventually,
  hasClsact,
  probeEventsOf,
  tcBpfFilters,
  tcpExchange,
  tcProgramIds,
  withCgroup,
} from "./link_helpers.ts";

bpfTest(
  "a tc program counts lo's packets, as a tcx link and as a netlink filter; close removes it",
  async () => {
    const hadClsact = hasClsact("lo");
    using obj = await BpfObject.open(fixture("net_kinds"));
    obj.load();
    const id = kernelId(obj.program("on_tc").fd, "prog_id");
    for (const mechanism of tcxAvailable() ? ["tcx", "netlink"] : ["netlink"]) {
      Deno.env.set("BPFSH_TC", mechanism);
      try {
        const link = obj.program("on_tc").attach("lo:ingress");
        const on = tcProgramIds("lo", "ingress");
        if (mechanism === "tcx") {
          assertEquals(on.tcx.filter((p) => p === id).length, 1, "one tcx link");
          assertEquals(on.filters.filter((p) => p === id), [], "no netlink filter");
          assertMatch(link.via ?? "", /^tcx link \d+$/);
        } else {
          assertEquals(on.filters.filter((p) => p === id).length, 1, "one netlink filter");
          assert(hasClsact("lo"), "clsact is there while attached");
        }
        const before = obj.map<number, bigint>("seen").get(7) ?? 0n;
        await tcpExchange();
        assert((obj.map<number, bigint>("seen").get(7) ?? 0n) > before, `${mechanism}: tc saw lo`);
        link.close();
        const after = tcProgramIds("lo", "ingress");
        assertEquals([...after.filters, ...after.tcx].filter((p) => p === id), [], mechanism);
        assertEquals(
          hasClsact("lo"),
          hadClsact,
          "the qdisc is removed only if this attach made it",
        );
      } finally {
        Deno.env.delete("BPFSH_TC");
      }
    }
  },
);

async function holdAndEnd(how: "SIGTERM" | "SIGINT" | "exit", cgroup: string) {
  const hadClsact = hasClsact("lo");
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${ROOT}/tests/fixtures/hold_links.ts`,
      how === "exit" ? "exit" : "wait",
      cgroup,
    ],
    // The netlink path: what the process itself must remove (tcx links go with their fd).
    env: { BPFSH_TC: "netlink" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = new OutputText(child.stdout);
  const err = new Response(child.stderr).text();
  await out.until("\n");
  const ids = JSON.parse(/ready (\[.*\])/.exec(out.text)?.[1] ?? "null") as number[] | null;
  if (!ids) {
    await child.status;
    throw new Error(`the child did not get ready: ${out.text} ${await err}`);
  }
  if (how !== "exit") {
    assert(tcBpfFilters("lo", "ingress").some((n) => n.includes("on_tc")), "tc filter attached");
    assertEquals(cgroupPrograms(cgroup), ["skb_in"]);
    child.kill(how);
  }
  const status = await child.status;
  await out.close();
  await err;
  if (how === "SIGTERM") assertEquals(status.code, 143);
  if (how === "SIGINT") assertEquals(status.code, 130);
  if (how === "exit") assertEquals(status.code, 0);
  assertEquals(tcBpfFilters("lo", "ingress").filter((n) => n.includes("on_tc")), [], how);
  assertEquals(hasClsact("lo"), hadClsact, `${how}: the clsact qdisc bpfsh made is gone`);
  assertEquals(cgroupPrograms(cgroup), [], `${how}: no cgroup attachment left`);
  assertEquals(probeEventsOf(child.pid), [], `${how}: no legacy probe event left`);
  await eventually(`${how}: every program unloaded`, () => {
    const live = kernelProgIds();
    return ids.every((id) => !live.has(id));
  }, 3000);
}

Deno.test({
  name:
    "after a normal end, SIGTERM and SIGINT no tc filter, qdisc, cgroup link or program is left",
  ignore: NOT_ROOT,
  async fn() {
    await withCgroup(async (cg) => {
      for (const how of ["exit", "SIGTERM", "SIGINT"] as const) await holdAndEnd(how, cg);
    });
  },
});
