// @guest
// fentry, fexit and fmod_ret (BPF trampolines): where the doctor's probe loads them they
// attach and count (Debian's 6.1 in the guest lane); where the kernel refuses them, the
// load fails with the clear error and points to tp_btf/raw_tp.
import { BpfError, BpfObject } from "../mod.ts";
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { bpfTest, fixture } from "./helpers.ts";
import { doctorSays, unlinkSome } from "./link_helpers.ts";

bpfTest("fentry, fexit and fmod_ret attach and count, or the load is refused clearly", async () => {
  const works = await doctorSays("fentry");
  using obj = await BpfObject.open(fixture("tracing"));
  obj.globals.target_tgid = Deno.pid;
  obj.program("on_chosen").setAttachTarget("vfs_unlink");
  try {
    obj.load();
  } catch (e) {
    assert(!works, `the doctor loaded fentry programs, but this load failed: ${e}`);
    assert(e instanceof BpfError, String(e));
    assertMatch(e.message, "refused by this kernel");
    assertMatch(e.hint ?? "", "tp_btf");
    return;
  }
  const links = ["on_unlink_entry", "on_unlink_exit", "on_unlink_check", "on_chosen"]
    .map((p) => obj.program(p).attach());
  assertEquals(links.map((l) => l.target), [
    "fentry/do_unlinkat",
    "fexit/do_unlinkat",
    "fmod_ret/security_path_unlink",
    "fentry/vfs_unlink",
  ]);
  unlinkSome(3);
  const hits = obj.map<number, bigint>("hits");
  for (
    const [slot, what] of ["fentry", "fexit", "fmod_ret", "fentry (setAttachTarget)"].entries()
  ) {
    const n = hits.get(slot) ?? 0n;
    assert(n >= 3n, `${what} counted ${n} of 3 unlinks`);
  }
  // The function is fixed at load: another one is refused with the way to choose it.
  try {
    obj.program("on_unlink_entry").attach("fentry/vfs_read");
    throw new Error("retargeted a loaded fentry program");
  } catch (e) {
    assert(e instanceof BpfError, String(e));
    assertMatch(e.message, "setAttachTarget");
  }
  obj.close();
  assertEquals(links.filter((l) => l.attached).length, 0, "closing the object detaches all");
  assert(works, "fentry programs loaded and counted, so the doctor must report fentry working");
});

bpfTest("setAttachTarget() refuses after load and takes only a function name", async () => {
  using obj = await BpfObject.open(fixture("tracing"));
  const prog = obj.program("on_chosen");
  try {
    prog.setAttachTarget("vfs_read; rm -rf");
    throw new Error("took a bad name");
  } catch (e) {
    assert(e instanceof BpfError && /not a function name/.test(e.message), String(e));
  }
});

bpfTest("an lsm program attaches to its hook and counts where the BPF LSM is active", async () => {
  const works = await doctorSays("lsm");
  using obj = await BpfObject.open(fixture("lsm"));
  obj.globals.target_tgid = Deno.pid;
  try {
    obj.load();
  } catch (e) {
    assert(!works, `the doctor attached an lsm program, but this load failed: ${e}`);
    assert(e instanceof BpfError, String(e));
    assertMatch(e.message, "refused by this kernel");
    return;
  }
  const link = obj.program("on_path_unlink").attach();
  assertEquals(link.target, "lsm/path_unlink");
  unlinkSome(3);
  const n = obj.map<number, bigint>("hits").get(0) ?? 0n;
  assert(n >= 3n, `lsm/path_unlink counted ${n} of 3 unlinks`);
  assert(works, "an lsm program attached and counted, so the doctor must report lsm working");
});
