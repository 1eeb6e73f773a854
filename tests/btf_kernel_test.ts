// @guest: runs on the guest lane's kernel too (tools/vmtest.sh)
/**
 * The running kernel's BTF (/sys/kernel/btf/vmlinux, world-readable: no root needed).
 * Skipped, with the reason, on kernels built without CONFIG_DEBUG_INFO_BTF.
 */

import { assert, assertEquals, assertMatch } from "./assert.ts";
import { Btf, KERNEL_BTF_PATH } from "../bpf/btf/btf.ts";
import { kernelAtLeast } from "./helpers.ts";

/** iov_iter's iovec pointer: Linux 6.4 renamed it from `iov` to `__iov`. */
const IOV = kernelAtLeast(6, 4) ? "__iov" : "iov";
const OLD_IOV = IOV === "__iov" ? "iov" : "__iov";

/** Kernels without CONFIG_DEBUG_INFO_BTF have no vmlinux BTF to test. */
const NO_BTF = (() => {
  try {
    return !Deno.statSync(KERNEL_BTF_PATH).isFile;
  } catch {
    return true;
  }
})();

Deno.test({
  name: "Btf.kernel() parses vmlinux once and caches it",
  ignore: NO_BTF,
  fn() {
    const k = Btf.kernel();
    assert(k === Btf.kernel());
    assert(k.count > 10_000, `only ${k.count} types`);
    assertEquals(k.typeById(0).kind, "void");
  },
});

Deno.test({
  name: `Btf.kernel().hasField() finds iov_iter.${IOV} inside anonymous unions, not ${OLD_IOV}`,
  ignore: NO_BTF,
  fn() {
    const k = Btf.kernel();
    // The iovec pointer sits in an anonymous union (and, from 6.4, an anonymous struct).
    assert(k.hasField("iov_iter", IOV), `no iov_iter.${IOV} on ${Deno.osRelease()}`);
    assert(!k.hasField("iov_iter", OLD_IOV), `iov_iter.${OLD_IOV} on ${Deno.osRelease()}`);
    assert(k.hasField("struct iov_iter", "count"));
    assert(k.hasField("task_struct", "pid"));
    assert(k.hasField("task_struct", "mm"));
    assert(k.hasField("sk_buff", "len"));
    assert(!k.hasField("no_such_struct_here", "x"));
  },
});

Deno.test({
  name: "Btf.kernel() finds, sizes and names core kernel types",
  ignore: NO_BTF,
  fn() {
    const k = Btf.kernel();
    const task = k.find("struct task_struct");
    assert(task?.kind === "struct");
    assert(task.size > 1000);
    assertEquals(k.sizeOf(k.findId("u64")!), 8);
    assertEquals(k.nameOf(k.findId("struct task_struct")!), "struct task_struct");
    assertEquals(k.kind(k.resolve(k.findId("pid_t")!)), "int");
    const pid = k.field("task_struct", "pid");
    assert(pid && pid.bitOffset % 8 === 0);
    assertEquals(k.nameOf(pid.type), "pid_t");
  },
});

Deno.test({
  name: "Btf.kernel().format() lays out iov_iter with anonymous members inline",
  ignore: NO_BTF,
  fn() {
    const text = Btf.kernel().format("struct iov_iter");
    assertMatch(text, /^struct iov_iter \{\n/);
    // Nested at least one level (the anonymous union), with its offset and size.
    assertMatch(text, new RegExp(`\\t\\t+const struct iovec \\*${IOV};\\s+/\\*\\s+\\d+\\s+8 \\*/`));
    assertMatch(text, /\/\* size: \d+, cachelines: \d+, members: \d+ \*\//);
  },
});

Deno.test({
  name: "Btf.kernel().names() completes struct names",
  ignore: NO_BTF,
  fn() {
    const names = Btf.kernel().names("struct task_s");
    assert(names.includes("struct task_struct"), names.join(", "));
    assert(names.every((n) => n.startsWith("struct task_s")));
  },
});

Deno.test({
  name: "Btf.kernel() codecs build for big structs and decode zeroes",
  ignore: NO_BTF,
  fn() {
    const k = Btf.kernel();
    const c = k.codec<Record<string, unknown>>("struct task_struct");
    const v = c.decode(new Uint8Array(c.size));
    assertEquals(v.pid, 0);
    assertEquals(v.comm, "");
    const back = c.decode(c.encode(v));
    assertEquals(back.pid, 0);
    const sk = k.codec("struct sk_buff");
    assertEquals(sk.size, k.sizeOf(k.findId("struct sk_buff")!));
  },
});
