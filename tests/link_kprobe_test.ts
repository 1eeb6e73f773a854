// @guest
// kprobes, kretprobes (with offsets) and kprobe.multi: where the kernel has them (Debian's
// 6.1 in the guest lane) they attach and count; where it lacks them they fail with the
// clear error and its hint. What the kernel has comes from its own symbol table and the
// doctor's probe, never from which machine this is.
import { BpfError, type BpfObject } from "../mod.ts";
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { bpfTest, fixture, ROOT } from "./helpers.ts";
import {
  doctorSays,
  hitsFixture,
  kernelHasFunction,
  probeEventsOf,
  unlinkSome,
} from "./link_helpers.ts";

const kprobes = () => hitsFixture("kprobes");

function refusal(e: unknown): void {
  assert(e instanceof BpfError, `a BpfError, not ${e}`);
  assertMatch(e.message, "kprobes are not available on this kernel");
  assertMatch(e.hint ?? "", /tracepoint|raw_tp|tp_btf/);
}

bpfTest("kprobe and kretprobe attach by section and count, or are refused clearly", async () => {
  const has = kernelHasFunction("register_kprobe");
  const { obj, hit } = await kprobes();
  try {
    if (!has) {
      for (const p of ["on_unlink", "on_unlink_ret"]) {
        try {
          obj.program(p).attach();
          throw new Error(`${p} attached on a kernel without kprobes`);
        } catch (e) {
          refusal(e);
        }
      }
      assertEquals(obj.links.length, 0);
    } else {
      attachAndCount(obj, hit);
    }
  } finally {
    obj.close();
  }
  assertEquals(await doctorSays("kprobe"), has, "the doctor agrees with the kernel's symbols");
});

/** Attach on_unlink and on_unlink_ret by their sections and count 3 unlinks. */
function attachAndCount(obj: BpfObject, hit: (slot: number) => bigint): void {
  const entry = obj.program("on_unlink").attach();
  const exit = obj.program("on_unlink_ret").attach();
  assertEquals([entry.target, exit.target], ["kprobe/do_unlinkat", "kretprobe/do_unlinkat"]);
  unlinkSome(3);
  assert(hit(0) >= 3n, `kprobe counted ${hit(0)} of 3 unlinks`);
  assert(hit(1) >= 3n, `kretprobe counted ${hit(1)} of 3 unlinks`);
  entry.close();
  exit.close();
  const before = hit(0);
  unlinkSome(2);
  assertEquals(hit(0), before, "a closed kprobe counts nothing");
  assertEquals(probeEventsOf(Deno.pid), [], "no legacy probe event is left in tracefs");
}

bpfTest("a kprobe at an explicit function and offset counts; a bad offset says why", async () => {
  const has = kernelHasFunction("register_kprobe");
  const { obj, hit } = await kprobes();
  try {
    const prog = obj.program("on_target");
    if (!has) {
      try {
        prog.attach("kprobe/do_unlinkat+5");
        throw new Error("attached on a kernel without kprobes");
      } catch (e) {
        refusal(e);
      }
      return;
    }
    // Inside the first instruction (the 5-byte ftrace call, or endbr64): never a boundary.
    try {
      prog.attach("kprobe/do_unlinkat+1").close();
      throw new Error("a kprobe inside an instruction attached");
    } catch (e) {
      assert(e instanceof BpfError, String(e));
      assertMatch(e.message, /instruction boundary/);
    }
    // The instruction after the ftrace call: at 5, or at 9 behind an endbr64 (IBT kernels).
    let link;
    for (const off of [5, 9]) {
      try {
        link = prog.attach(`kprobe/do_unlinkat+${off}`);
        break;
      } catch (e) {
        if (!(e instanceof BpfError) || e.code !== "EILSEQ") throw e;
      }
    }
    assert(link, "a kprobe after the first instruction attached");
    unlinkSome(3);
    assert(hit(2) >= 3n, `the kprobe at an offset counted ${hit(2)} of 3 unlinks`);
    const e = (() => {
      try {
        prog.attach("kprobe/no_such_function_bpfsh");
      } catch (e) {
        return e;
      }
    })();
    assert(e instanceof BpfError && e.code === "ENOENT", `unknown function: ${e}`);
    assertMatch(e.hint ?? "", "probes 'kprobe:no_such_function_bpfsh*'");
  } finally {
    obj.close();
  }
});

bpfTest("kprobe.multi counts a glob's functions: one fprobe link, or one kprobe each", async () => {
  const hasKprobes = kernelHasFunction("register_kprobe");
  const hasMulti = hasKprobes && kernelHasFunction("register_fprobe");
  const { obj, hit } = await kprobes();
  try {
    const prog = obj.program("on_multi");
    if (!hasKprobes) {
      try {
        prog.attach();
        throw new Error("kprobe.multi attached on a kernel without kprobes");
      } catch (e) {
        return refusal(e);
      }
    }
    const link = prog.attach(); // kprobe.multi/do_unlinka?
    unlinkSome(3);
    assert(hit(3) >= 3n, `kprobe.multi counted ${hit(3)} of 3 unlinks`);
    link.close();
    if (!hasMulti) {
      // Each function is its own kprobe: a glob over thousands of them is refused.
      try {
        prog.attach("kprobe.multi/*").close();
        throw new Error("expanded a glob over every kernel function");
      } catch (e) {
        assert(e instanceof BpfError, String(e));
        assertMatch(e.message, /matches \d+ functions; without kprobe.multi links/);
      }
    }
  } finally {
    obj.close();
  }
});

bpfTest("the shell's attach takes a kprobe, or prints the refusal with its hint", async () => {
  const has = kernelHasFunction("register_kprobe");
  const out = await new Deno.Command(`${ROOT}/bpfsh`, {
    args: ["-c", `load ${fixture("kprobes")} --no-attach; attach on_unlink kprobe/do_unlinkat`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (has) {
    assertEquals(out.code, 0, text);
    assertMatch(text, "attached on_unlink -> kprobe/do_unlinkat");
  } else {
    assertEquals(out.code, 1, text);
    assertMatch(text, /kprobes are not available on this kernel.*hint: attach to/);
  }
});
