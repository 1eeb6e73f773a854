// Pure parsing of attach targets and sections (no kernel needed).
import { BpfError } from "../ffi/errors.ts";
import { type AttachOptions, kindFromSection, planAttach } from "../bpf/link/target.ts";
import { globRegExp } from "../bpf/link/kprobe.ts";
import { kprobeAlternative } from "../bpf/system/kernel_limits.ts";
import { assert, assertEquals, assertThrows } from "./assert.ts";

/** One field of a plan, whatever its kind. */
function field(plan: unknown, key: string): unknown {
  return (plan as Record<string, unknown>)[key];
}

Deno.test("planAttach() reads tracepoint targets with or without a prefix, and sections", () => {
  const want = { kind: "tracepoint", category: "syscalls", name: "sys_enter_close" };
  assertEquals(planAttach("tracepoint", "tp/a/b", "syscalls/sys_enter_close"), want);
  assertEquals(planAttach("tracepoint", "tp/a/b", "tracepoint/syscalls/sys_enter_close"), want);
  assertEquals(planAttach("tracepoint", "tp/a/b", "tp/syscalls/sys_enter_close"), want);
  assertEquals(planAttach("tracepoint", "tp/a/b", "tracepoint:syscalls:sys_enter_close"), want);
  assertEquals(planAttach("tracepoint", "tracepoint/syscalls/sys_enter_close"), want);
  // Categories named like attach kinds stay tracepoints for tracepoint programs.
  assertEquals(planAttach("tracepoint", "tp/a/b", "xdp/xdp_exception"), {
    kind: "tracepoint",
    category: "xdp",
    name: "xdp_exception",
  });
  assertEquals(planAttach("tracepoint", "tp/a/b", "cgroup/cgroup_mkdir").kind, "tracepoint");
});

Deno.test("planAttach() reads kprobe, kretprobe and kprobe.multi sections and targets", () => {
  assertEquals(planAttach("kprobe", "kprobe/do_unlinkat"), {
    kind: "kprobe",
    retprobe: false,
    func: "do_unlinkat",
    offset: 0,
  });
  assertEquals(planAttach("kprobe", "kprobe/x", "kprobe/do_sys_openat2+0x10"), {
    kind: "kprobe",
    retprobe: false,
    func: "do_sys_openat2",
    offset: 16,
  });
  assertEquals(planAttach("kprobe", "kretprobe/x", "vfs_read"), {
    kind: "kprobe",
    retprobe: true,
    func: "vfs_read",
    offset: 0,
  });
  assertEquals(
    field(planAttach("kprobe", "kprobe/x", "kretprobe:vfs_read.isra.0"), "func"),
    "vfs_read.isra.0",
  );
  assertEquals(planAttach("kprobe", "kprobe.multi/tcp_*"), {
    kind: "kprobe_multi",
    retprobe: false,
    pattern: "tcp_*",
  });
  assertEquals(
    field(planAttach("kprobe", "kretprobe.multi/x", "vfs_?ead"), "retprobe") === true,
    true,
  );
  assertThrows(() => planAttach("kprobe", "kprobe/x", "tcp_*"), BpfError, "kprobe.multi");
  assertThrows(() => planAttach("kprobe", "kretprobe/x", "vfs_read+4"), BpfError, "no offset");
  assertThrows(() => planAttach("kprobe", "kprobe"), BpfError, "does not say where");
});

Deno.test("planAttach() reads uprobe and USDT targets: paths, libraries, offsets, pids", () => {
  assertEquals(planAttach("kprobe", "uprobe", "/bin/bash:readline"), {
    kind: "uprobe",
    retprobe: false,
    binary: "/bin/bash",
    func: "readline",
    offset: 0,
    pid: -1,
  });
  assertEquals(planAttach("kprobe", "uretprobe", "bash:readline", { pid: 42 }), {
    kind: "uprobe",
    retprobe: true,
    binary: "bash",
    func: "readline",
    offset: 0,
    pid: 42,
  });
  assertEquals(field(planAttach("kprobe", "uprobe", "libc.so.6:malloc+0x8"), "offset"), 8);
  assertEquals(planAttach("kprobe", "uprobe", "uretprobe//usr/lib/libc.so.6:0x1234"), {
    kind: "uprobe",
    retprobe: true,
    binary: "/usr/lib/libc.so.6",
    address: 0x1234,
    offset: 0,
    pid: -1,
  });
  assertEquals(
    field(planAttach("kprobe", "uprobe//lib/x86_64-linux-gnu/libc.so.6:malloc"), "binary"),
    "/lib/x86_64-linux-gnu/libc.so.6",
  );
  assertEquals(planAttach("kprobe", "kprobe/x", "uprobe:/bin/bash:readline").kind, "uprobe");
  assertEquals(planAttach("kprobe", "usdt/build/x:bpfsh:tick"), {
    kind: "usdt",
    binary: "build/x",
    provider: "bpfsh",
    name: "tick",
    pid: -1,
  });
  assertEquals(
    field(planAttach("kprobe", "usdt", "usdt//usr/bin/x:p:n", { pid: 7 }), "pid") === 7,
    true,
  );
  assertThrows(() => planAttach("kprobe", "usdt", "/bin/x:onlyname"), BpfError, "PROVIDER:NAME");
  assertThrows(() => planAttach("kprobe", "uprobe", "uprobe/bash"), BpfError, "BINARY:SYMBOL");
});

Deno.test("planAttach() reads perf event, xdp, tc, cgroup, netns, socket and iterator targets", () => {
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
  assertEquals(planAttach("xdp", "xdp", "xdp/lo"), { kind: "xdp", iface: "lo" });
  assertEquals(planAttach("sched_cls", "tc", "eth0:egress"), {
    kind: "tc",
    iface: "eth0",
    direction: "egress",
  });
  assertEquals(planAttach("cgroup_skb", "cgroup_skb/egress", "/sys/fs/cgroup/x"), {
    kind: "cgroup",
    path: "/sys/fs/cgroup/x",
  });
  assertEquals(planAttach("sock_ops", "sockops", "x.slice").kind, "cgroup");
  assertEquals(planAttach("sk_lookup", "sk_lookup"), { kind: "netns", path: "/proc/self/ns/net" });
  assertEquals(planAttach("flow_dissector", "flow_dissector", "/run/netns/blue"), {
    kind: "netns",
    path: "/run/netns/blue",
  });
  assertEquals(planAttach("socket_filter", "socket", "lo"), { kind: "socket", iface: "lo" });
  assertEquals(planAttach("socket_filter", "socket", undefined, { fd: 5 }), {
    kind: "socket",
    fd: 5,
  });
  assertEquals(planAttach("tracing", "iter/task"), { kind: "iter", mapFd: undefined });
  assertEquals(planAttach("tracing", "iter/bpf_map_elem", undefined, { map: { fd: 9 } }), {
    kind: "iter",
    mapFd: 9,
  });
  assertEquals(planAttach("tracing", "fentry/do_unlinkat"), {
    kind: "tracing",
    func: "do_unlinkat",
  });
  assertEquals(planAttach("tracing", "fexit/x", "fexit/x"), { kind: "tracing", func: "x" });
  assertEquals(planAttach("lsm", "lsm/file_open"), { kind: "lsm", hook: "file_open" });
  assertThrows(() => planAttach("tracing", "fentry/a", "fentry/b"), BpfError, "setAttachTarget");
  assertThrows(() => planAttach("tracing", "iter/task", "iter/bpf_map"), BpfError, "iterates");
  assertThrows(() => planAttach("cgroup_skb", "cgroup_skb/ingress"), BpfError, "cgroup v2");
  assertThrows(() => planAttach("xdp", "xdp"), BpfError, "interface");
});

Deno.test("planAttach() refuses malformed targets and options clearly (issue 9 inputs)", () => {
  const refuses = (fn: () => unknown, text: string) => {
    const e = assertThrows(fn, BpfError, text);
    assertEquals(e.op, "attach");
  };
  refuses(() => planAttach("tracepoint", "tp/a/b", "x"), "CATEGORY/NAME");
  refuses(() => planAttach("tracepoint", "tp/a/b", "syscalls/sys_enter_close\0x"), "control");
  refuses(() => planAttach("xdp", "xdp", "lo:sideways"), "not an interface name");
  refuses(() => planAttach("xdp", "xdp", "a/b"), "not an interface name");
  refuses(() => planAttach("xdp", "xdp", "sixteen_chars_xx"), "not an interface name");
  refuses(() => planAttach("sched_cls", "tc", "lo:sideways"), "ingress");
  refuses(() => planAttach("sched_cls", "tc", "eth0"), "ingress");
  refuses(() => planAttach("perf_event", "perf_event", "cpu-clock:99hz:extra"), "EVENT[:RATE]");
  refuses(() => planAttach("perf_event", "perf_event", "cpu-clock:fast"), "NHz");
  refuses(() => planAttach("perf_event", "perf_event", "cpu-clock:0hz"), "NHz");
  refuses(() => planAttach("tracepoint", "tp/a/b", 123 as unknown as string), "is a string");
  refuses(() => planAttach("kprobe", "uprobe", "/bin/x:main", { pid: 2 ** 40 }), "pid");
  refuses(() => planAttach("kprobe", "uprobe", "/bin/x:main", { pid: 1.5 }), "pid");
  refuses(() => planAttach("kprobe", "uprobe", "/bin/x:main", { pid: -2 }), "pid");
  refuses(
    () => planAttach("kprobe", "uprobe", "/bin/x:main", { retProbe: true } as AttachOptions),
    "unknown option 'retProbe'",
  );
  refuses(
    () => planAttach("kprobe", "uprobe", "/bin/x:main", null as unknown as AttachOptions),
    "object",
  );
  refuses(() => planAttach("tracing", "iter/bpf_map_elem", undefined, { map: -1 }), "map");
  refuses(() => planAttach("socket_filter", "socket", "lo", { fd: 3 }), "not both");
  refuses(() => planAttach("tracepoint", "tp/a/b", "xdp/lo/x"), "CATEGORY/NAME");
  refuses(() => planAttach("kprobe", "kprobe/x", "tracepoint/syscalls/x"), "cannot attach as");
  refuses(() => planAttach("xdp", "xdp", "tracepoint/a/b"), "cannot attach as");
  refuses(() => planAttach("struct_ops", "unknown_section", "x"), "section only");
});

Deno.test("kindFromSection() names every kind, and kprobe users get tracepoint alternatives", () => {
  const kinds: [string, string | undefined][] = [
    ["kprobe/do_sys_openat2", "kprobe"],
    ["kretprobe.multi/tcp_*", "kprobe_multi"],
    ["fentry/do_unlinkat", "tracing"],
    ["fmod_ret/security_file_open", "tracing"],
    ["tp_btf/sched_switch", "tracing"],
    ["lsm.s/file_open", "lsm"],
    ["uretprobe.s//bin/bash:readline", "uprobe"],
    ["usdt", "usdt"],
    ["iter/task", "iter"],
    ["cgroup/connect4", "cgroup"],
    ["cgroup_skb/ingress", "cgroup"],
    ["sockops", "cgroup"],
    ["sk_lookup", "netns"],
    ["flow_dissector", "netns"],
    ["socket", "socket"],
    ["xdp.frags", "xdp"],
    ["classifier", "tc"],
    ["ksyscall/openat", "libbpf"],
    ["license", undefined],
  ];
  for (const [section, kind] of kinds) assertEquals(kindFromSection(section), kind, section);
  assert(kprobeAlternative("__x64_sys_openat").startsWith("tracepoint/syscalls/sys_enter_openat"));
  assert(kprobeAlternative("do_nanosleep").includes("raw_tp"));
  assert(globRegExp("tcp_*").test("tcp_sendmsg"));
  assert(!globRegExp("tcp_?").test("tcp_xy"));
  assert(globRegExp("a.b").test("a.b") && !globRegExp("a.b").test("axb"));
});
