// Pure parsing of attach targets (no kernel needed).
import { BpfError } from "../ffi/errors.ts";
import { kindFromSection, planAttach } from "../bpf/link/target.ts";
import { kprobeAlternative } from "../bpf/system/kernel_limits.ts";
import { assertEquals, assertThrows } from "./assert.ts";

Deno.test("planAttach() reads tracepoint targets with or without a prefix", () => {
  const want = { kind: "tracepoint", category: "syscalls", name: "sys_enter_close" };
  assertEquals(planAttach("tracepoint", "tp/a/b", "syscalls/sys_enter_close"), want);
  assertEquals(planAttach("tracepoint", "tp/a/b", "tracepoint/syscalls/sys_enter_close"), want);
  assertEquals(planAttach("tracepoint", "tp/a/b", "tp/syscalls/sys_enter_close"), want);
  assertEquals(planAttach("tracepoint", "tp/a/b"), { kind: "auto" });
});

Deno.test("planAttach() reads raw_tp, uprobe, perf event, xdp and tc targets", () => {
  assertEquals(planAttach("raw_tracepoint", "raw_tp/x", "sys_exit"), {
    kind: "raw_tp",
    name: "sys_exit",
  });
  assertEquals(planAttach("kprobe", "uprobe", "/bin/bash:readline"), {
    kind: "uprobe",
    retprobe: false,
    binary: "/bin/bash",
    func: "readline",
    offset: 0,
    pid: -1,
  });
  assertEquals(planAttach("kprobe", "uretprobe", "bash:readline+0x10", { pid: 42 }), {
    kind: "uprobe",
    retprobe: true,
    binary: "bash",
    func: "readline",
    offset: 16,
    pid: 42,
  });
  assertEquals(planAttach("kprobe", "uprobe", "uretprobe//usr/lib/libc.so.6:0x1234"), {
    kind: "uprobe",
    retprobe: true,
    binary: "/usr/lib/libc.so.6",
    offset: 0x1234,
    pid: -1,
  });
  assertEquals(planAttach("perf_event", "perf_event", "cpu-clock:49hz"), {
    kind: "perf_event",
    event: "cpu-clock",
    frequency: 49,
  });
  assertEquals(planAttach("perf_event", "perf_event", "page-faults:10"), {
    kind: "perf_event",
    event: "page-faults",
    period: 10,
  });
  assertEquals(planAttach("xdp", "xdp", "lo"), { kind: "xdp", iface: "lo" });
  assertEquals(planAttach("sched_cls", "tc", "eth0:egress"), {
    kind: "tc",
    iface: "eth0",
    direction: "egress",
  });
});

Deno.test("planAttach() rejects malformed targets with the expected form", () => {
  assertThrows(() => planAttach("tracepoint", "tp/a/b", "x"), BpfError, "CATEGORY/NAME");
  assertThrows(() => planAttach("kprobe", "uprobe", "uprobe/bash"), BpfError, "BINARY:SYMBOL");
  assertThrows(() => planAttach("sched_cls", "tc", "eth0"), BpfError, "ingress");
  assertThrows(() => planAttach("perf_event", "perf_event", "cpu-clock:fast"), BpfError, "NHz");
  assertThrows(() => planAttach("socket_filter", "socket", "eth0"), BpfError, "section only");
});

Deno.test("kindFromSection() and kprobeAlternative() point kprobe users to tracepoints", () => {
  assertEquals(kindFromSection("kprobe/do_sys_openat2"), "kprobe");
  assertEquals(kindFromSection("fentry/do_unlinkat"), "trace");
  assertEquals(kindFromSection("socket"), undefined);
  assertEquals(
    kprobeAlternative("__x64_sys_openat").startsWith("tracepoint/syscalls/sys_enter_openat"),
    true,
  );
  assertEquals(kprobeAlternative("do_nanosleep").includes("raw_tp"), true);
});
