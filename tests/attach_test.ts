// @guest: runs on the guest lane's kernel too (tools/vmtest.sh)
// Every attach kind this kernel offers, triggered for real; and the kinds it lacks.
// Needs root (CI runs as root).
import { BpfError, BpfObject } from "../mod.ts";
import { assert, assertEquals, assertMatch, assertThrows } from "./assert.ts";
import { fixture, leakGuard, NOT_ROOT, run } from "./helpers.ts";
import { hitsFixture } from "./link_helpers.ts";

const libc = Deno.dlopen("libc.so.6", { getpid: { parameters: [], result: "i32" } });

const hooks = () => hitsFixture("hooks");

Deno.test({
  name: "Program.attach() with an explicit tracepoint target counts close() calls",
  ignore: NOT_ROOT,
  async fn() {
    const guard = leakGuard();
    const { obj, hit } = await hooks();
    const link = obj.program("on_close_tp").attach("syscalls/sys_enter_close");
    guard.seen();
    assertEquals(link.target, "syscalls/sys_enter_close");
    for (let i = 0; i < 5; i++) Deno.openSync("/dev/null").close();
    assert(hit(0) >= 5n, `expected ≥5 closes, got ${hit(0)}`);
    obj.close();
    await guard.check();
  },
});

Deno.test({
  name: "raw_tp, tp_btf, uprobe, perf_event and xdp programs attach and fire",
  ignore: NOT_ROOT,
  async fn() {
    const guard = leakGuard();
    const { obj, hit } = await hooks();
    obj.program("on_sys_enter").attach();
    obj.program("on_exec_btf").attach();
    obj.program("on_uprobe").attach("libc.so.6:getpid");
    obj.program("on_perf").attach("cpu-clock:1000hz");
    obj.program("on_xdp").attach("lo");
    guard.seen();
    assertEquals(obj.links.length, 5);
    libc.symbols.getpid();
    run("/bin/true");
    // Loopback traffic passes the XDP program.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
    const peer = await listener.accept();
    await conn.write(new Uint8Array(16));
    await peer.read(new Uint8Array(16));
    conn.close();
    peer.close();
    listener.close();
    const until = Date.now() + 2000;
    while (hit(4) === 0n && Date.now() < until) { // perf sampling needs CPU time
      for (let i = 0; i < 1e6; i++) Math.sqrt(i);
      await new Promise((r) => setTimeout(r, 1));
    }
    assert(hit(1) > 0n, "raw_tp sys_enter fired");
    assert(hit(2) > 0n, "tp_btf sched_process_exec fired");
    assert(hit(3) > 0n, "uprobe on libc getpid fired");
    assert(hit(4) > 0n, "perf_event cpu-clock fired");
    assert(hit(5) > 0n, "xdp on lo fired");
    obj.close();
    await guard.check();
  },
});

Deno.test({
  name: "a kprobe attach explains that this kernel has no kprobes and names a tracepoint",
  ignore: NOT_ROOT,
  async fn() {
    const { obj } = await hooks();
    try {
      let link;
      try {
        link = obj.program("on_kprobe").attach();
      } catch (e) {
        assert(e instanceof BpfError, `expected BpfError, got ${e}`);
        assertMatch(e.message, "kprobes are not available on this kernel");
        assertMatch(e.hint ?? "", "tracepoint");
        return;
      }
      link.close(); // a kernel with kprobes: fine too
    } finally {
      obj.close();
    }
  },
});

Deno.test({
  name: "attach errors: bad targets, unknown interfaces and unloaded objects",
  ignore: NOT_ROOT,
  async fn() {
    using obj = await BpfObject.open(fixture("hooks"));
    assertThrows(() => obj.program("on_close_tp").attach(), BpfError, "not loaded");
    obj.load();
    assertThrows(() => obj.program("on_close_tp").attach("nocategory"), BpfError, "CATEGORY/NAME");
    assertThrows(() => obj.program("on_xdp").attach("nosuchif0"), BpfError, "no network interface");
    assertThrows(
      () => obj.program("on_uprobe").attach("/nonexistent/bin:main"),
      BpfError,
      "not found",
    );
    const e = assertThrows(
      () => obj.program("on_close_tp").attach("syscalls/sys_enter_nosuchcall"),
      BpfError,
    );
    assertEquals(e.code, "ENOENT");
  },
});
