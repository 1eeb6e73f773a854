// @guest: runs on the guest lane's kernel too (tools/vmtest.sh)
// Tail calls: a raw_tp on sys_enter dispatches by syscall number through a prog_array.
// Needs root; CI runs as root.
import { BpfError, BpfObject } from "../mod.ts";
import { assert, assertEquals, assertMatch, assertThrows } from "./assert.ts";
import { fixture, leakGuard, NOT_ROOT } from "./helpers.ts";

const libc = Deno.dlopen("libc.so.6", { getpid: { parameters: [], result: "i32" } });
const SYS_GETPID = 39;
const SYS_CLOSE = 3;

Deno.test({
  name: "a prog_array dispatches sys_enter to handlers by syscall number",
  ignore: NOT_ROOT || Deno.build.arch !== "x86_64",
  async fn() {
    const guard = leakGuard();
    const obj = await BpfObject.open(fixture("tailcall"));
    obj.globals.target_tgid = Deno.pid;
    obj.load();
    const jmp = obj.progArray("jmp");
    jmp.set(SYS_GETPID, obj.program("on_getpid")).set(SYS_CLOSE, obj.program("on_close"));
    assertEquals(jmp.get(SYS_GETPID)?.name, "on_getpid");
    assertEquals(jmp.list(), [[SYS_CLOSE, "on_close"], [SYS_GETPID, "on_getpid"]]);
    // Test runs: the context is struct bpf_raw_tracepoint_args { u64 args[2]; }.
    const ctx = (nr: number) => new Uint8Array(new BigUint64Array([0n, BigInt(nr)]).buffer);
    const dispatch = obj.program("dispatch");
    obj.globals.target_tgid; // readable
    assertEquals(dispatch.testRun({ ctx: ctx(SYS_GETPID) }).retval, 39, "tail-called handler");
    assertEquals(dispatch.testRun({ ctx: ctx(1) }).retval, 1, "no handler: falls through");
    // Live: attach the dispatcher and make real syscalls.
    obj.program("dispatch").attach();
    guard.seen();
    const handled = obj.map<number, bigint>("handled");
    const base = handled.get(SYS_GETPID) ?? 0n;
    for (let i = 0; i < 4; i++) libc.symbols.getpid();
    Deno.openSync("/dev/null").close();
    assert((handled.get(SYS_GETPID) ?? 0n) - base >= 4n, "getpid handler ran for each call");
    assert((handled.get(SYS_CLOSE) ?? 0n) >= 1n, "close handler ran");
    assert(jmp.delete(SYS_GETPID));
    const after = handled.get(SYS_GETPID);
    libc.symbols.getpid();
    assertEquals(handled.get(SYS_GETPID), after, "an emptied slot stops dispatching");
    obj.close();
    await guard.check();
  },
});

Deno.test({
  name: "a program of the wrong type is refused with both types named",
  ignore: NOT_ROOT,
  async fn() {
    using obj = await BpfObject.open(fixture("tailcall"));
    obj.load();
    const jmp = obj.progArray("jmp");
    const e = assertThrows(() => jmp.set(1, obj.program("wrong_type")), BpfError);
    assertMatch(e.message, "socket_filter");
    assertMatch(e.message, "raw_tracepoint");
    assertThrows(() => jmp.set(600, obj.program("on_close")), BpfError, "outside prog array");
    assertThrows(() => obj.progArray("handled"), BpfError, "not a prog_array");
  },
});
