// @guest: runs on the guest lane's kernel too (tools/vmtest.sh)
// The object model on the real kernel: open, load, attach, trigger, read back, close.
// Needs root: loading BPF programs requires CAP_BPF/CAP_PERFMON (CI runs as root).
import { BpfError, BpfObject } from "../mod.ts";
import { assert, assertEquals, assertMatch, assertThrows } from "./assert.ts";
import { fixture, kernelAtLeast, leakGuard, NO_CLANG, NOT_ROOT, run } from "./helpers.ts";

Deno.test({
  name: "a tracepoint program counts execve per uid: exec /bin/true and read the count",
  ignore: NOT_ROOT,
  async fn() {
    const guard = leakGuard();
    const obj = await BpfObject.open(fixture("exec_count"));
    obj.load();
    const links = obj.attachAll();
    assertEquals(links.map((l) => l.target), ["tracepoint/syscalls/sys_enter_execve"]);
    guard.seen();
    const counts = obj.map<number, bigint>("exec_counts");
    const before = counts.get(0) ?? 0n;
    for (let i = 0; i < 3; i++) assertEquals(run("/bin/true"), 0);
    const after = counts.get(0) ?? 0n;
    assert(after - before >= 3n, `expected at least 3 more execs by uid 0, got ${after - before}`);
    assertEquals(counts.keyType, "u32");
    assertEquals(counts.valueType, "u64");
    obj.close();
    await guard.check();
  },
});

Deno.test({
  name: "BpfObject lists programs and maps with their types and sizes",
  ignore: NOT_ROOT,
  async fn() {
    using obj = await BpfObject.open(fixture("exec_count"));
    assertEquals(obj.programs.map((p) => [p.name, p.section, p.type]), [
      ["count_exec", "tracepoint/syscalls/sys_enter_execve", "tracepoint"],
    ]);
    const m = obj.map("exec_counts");
    assertEquals([m.type, m.keySize, m.valueSize, m.maxEntries], ["hash", 4, 8, 1024]);
    assertEquals(obj.program("count_exec").fd, -1, "no fd before load");
    obj.load();
    assert(obj.program("count_exec").fd > 0, "an fd after load");
  },
});

Deno.test({
  name: "closing an object detaches its links: the count stops growing",
  ignore: NOT_ROOT,
  async fn() {
    const guard = leakGuard();
    const obj = await BpfObject.open(fixture("exec_count"));
    obj.load();
    const [link] = obj.attachAll();
    guard.seen();
    link.close();
    assertEquals(link.attached, false);
    const counts = obj.map<number, bigint>("exec_counts");
    const before = counts.get(0) ?? 0n;
    run("/bin/true");
    assertEquals(counts.get(0) ?? 0n, before, "a detached program must not count");
    obj.close();
    obj.close(); // idempotent
    assertThrows(() => obj.map("exec_counts"), BpfError, "closed");
    await guard.check();
  },
});

Deno.test({
  name: "unknown program and map names throw a BpfError listing the names that exist",
  ignore: NOT_ROOT,
  async fn() {
    using obj = await BpfObject.open(fixture("exec_count"));
    const e = assertThrows(() => obj.program("nope"), BpfError, "no program named 'nope'");
    assertEquals(e.code, "ENOENT");
    assertMatch(e.message, "programs are: count_exec");
    assertThrows(() => obj.map("nope"), BpfError, "maps are: exec_counts");
  },
});

Deno.test("a missing file gives a clear BpfError", async () => {
  const e = await BpfObject.open("/nonexistent/x.bpf.o").then(() => undefined, (e) => e);
  assert(e instanceof BpfError, `expected BpfError, got ${e}`);
  assertEquals(e.code, "ENOENT");
  assertMatch(e.message, "open '/nonexistent/x.bpf.o': no such file");
});

Deno.test({
  name: "a corrupt ELF gives a clear BpfError, not a crash",
  ignore: NOT_ROOT,
  fn() {
    assertThrows(
      () =>
        BpfObject.fromBytes(new TextEncoder().encode("hello, not an ELF file at all".repeat(4))),
      BpfError,
      "not an ELF file",
    );
    // A real object with its section table smashed: libbpf must refuse it with its reason.
    const bytes = Deno.readFileSync(fixture("exec_count"));
    const broken = bytes.slice(0, 400);
    const e = assertThrows(() => BpfObject.fromBytes(broken, { name: "broken" }), BpfError);
    assertMatch(e.message, "open 'broken'");
    const smashed = bytes.slice();
    smashed.fill(0xff, 40, 64); // e_shoff, e_flags, sizes: garbage
    assertThrows(
      () => BpfObject.fromBytes(smashed, { name: "smashed" }),
      BpfError,
      "open 'smashed'",
    );
  },
});

Deno.test({
  name: "a verifier rejection carries the verifier log and shows its last lines",
  ignore: NOT_ROOT,
  async fn() {
    const guard = leakGuard();
    using obj = await BpfObject.open(fixture("verifier_reject"));
    const e = assertThrows(() => obj.load(), BpfError, "program 'bad_access' was rejected");
    assert(e.log, "the error has a log");
    assertMatch(e.log!, /invalid mem access|map_value_or_null/);
    assertMatch(e.message, /invalid mem access|map_value_or_null/);
    assertEquals(e.code, "EACCES");
    obj.close();
    await guard.check();
  },
});

Deno.test({
  name: "an fentry program the kernel refuses is explained, with the alternative named",
  ignore: NOT_ROOT,
  async fn() {
    using obj = await BpfObject.open(fixture("fentry"));
    let err: unknown;
    try {
      obj.load();
      obj.attachAll();
    } catch (e) {
      err = e;
    }
    if (err === undefined) return; // a kernel that allows fentry: nothing to explain
    assert(err instanceof BpfError, `expected BpfError, got ${err}`);
    assertMatch(err.message, "programs (fentry/fexit/lsm) are refused by this kernel");
    assertMatch(err.hint ?? "", /tp_btf|raw_tp/);
  },
});

Deno.test({
  name: "autoload off skips a program; a pinned program outlives its object until unpinned",
  ignore: NOT_ROOT,
  async fn() {
    const guard = leakGuard();
    const obj = await BpfObject.open(fixture("globals"));
    obj.program("ret_bss").autoload = false;
    assertEquals(obj.program("ret_bss").autoload, false);
    obj.load();
    guard.seen();
    assertEquals(obj.program("ret_bss").fd, -1);
    assertThrows(() => obj.program("ret_bss").testRun(), BpfError, "autoload is off");
    assertThrows(() => (obj.program("ret_data").autoload = false), BpfError, "already loaded");
    const path = `/sys/fs/bpf/bpfsh_prog_${Deno.pid}`;
    obj.program("ret_data").pin(path);
    assert(Deno.statSync(path).isFile, "the pin exists in bpffs");
    Deno.removeSync(path);
    assertThrows(() => obj.program("ret_data").pin("/tmp/not-bpffs"), BpfError, "not inside bpffs");
    obj.close();
    await guard.check();
  },
});

Deno.test({
  name: "BpfObject.open() compiles a .bpf.c source and loads it",
  ignore: NOT_ROOT || NO_CLANG,
  async fn() {
    using obj = await BpfObject.open(
      new URL("./fixtures/exec_count.bpf.c", import.meta.url).pathname,
    );
    obj.load();
    assertEquals(obj.programs.map((p) => p.name), ["count_exec"]);
  },
});

Deno.test({
  name: "a failed CO-RE relocation names the type and field the kernel lacks, and the one it has",
  ignore: NOT_ROOT,
  async fn() {
    // Linux 6.4 renamed iov_iter.iov to __iov: read the name this kernel lacks.
    const [lacks, has, prog] = kernelAtLeast(6, 4)
      ? ["iov", "__iov", "read_old_field"]
      : ["__iov", "iov", "read_new_field"];
    using obj = await BpfObject.open(fixture("core_fail"));
    for (const p of obj.programs) p.autoload = p.name === prog;
    const e = assertThrows(() => obj.load(), BpfError);
    assertMatch(e.message, `struct iov_iter has no field '${lacks}'`);
    assertMatch(e.message, new RegExp(`similar: (.*, )?${has}\\b`));
    assertMatch(e.hint ?? "", "bpf_core_field_exists");
  },
});
