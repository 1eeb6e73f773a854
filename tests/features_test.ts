// @guest: runs on the guest lane's kernel too (tools/vmtest.sh)
/**
 * The doctor reports what the running kernel has, and each report is held to what the
 * kernel then does: a kind reported working attaches and fires; one reported missing fails
 * with the clear error, its reason and an alternative. Nothing here assumes which kernel
 * it runs on. Probing loads programs, so these tests need root.
 */

import { BpfError, BpfObject } from "../mod.ts";
import { features } from "../bpf/system/features.ts";
import type { Feature, FeatureReport } from "../bpf/system/features.ts";
import { assert, assertMatch, assertThrows } from "./assert.ts";
import { bpfTest, fixture, NOT_ROOT, ROOT } from "./helpers.ts";

/**
 * The report, probed once as the file loads: which path each kernel-dependent test below
 * takes (working: attach and count; missing: the refusal and its hint) is decided by it,
 * so the test list itself says which ran.
 */
const REPORT = NOT_ROOT ? undefined : await features();

function report(): Promise<FeatureReport> {
  return features();
}

function get(r: FeatureReport, name: string): Feature {
  const f = r.features.find((x) => x.name === name);
  assert(f, `the report has no feature '${name}'`);
  return f;
}

/** Whether the doctor reports a kind working (false when not probed: not root). */
function works(name: string): boolean {
  return REPORT ? get(REPORT, name).ok : false;
}

const libc = Deno.dlopen("libc.so.6", { usleep: { parameters: ["u32"], result: "i32" } });

/** Sleep in the kernel's do_nanosleep, which the hooks fixture's kprobe watches. */
function nanosleeps(n: number): void {
  for (let i = 0; i < n; i++) libc.symbols.usleep(100);
}

async function hooks(): Promise<BpfObject> {
  const obj = await BpfObject.open(fixture("hooks"));
  obj.globals.target_tgid = Deno.pid;
  obj.load();
  return obj;
}

for (const kind of ["kprobe", "kretprobe"]) {
  const target = `${kind}/do_nanosleep`;
  bpfTest(`reported working, a ${kind} attaches to do_nanosleep and counts sleeps`, async () => {
    using obj = await hooks();
    obj.program("on_kprobe").attach(target);
    nanosleeps(5);
    const hits = obj.map<number, bigint>("hits").get(6) ?? 0n;
    assert(hits >= 5n, `${target} counted ${hits} of 5 sleeps`);
  }, !works(kind));

  bpfTest(`reported missing, a ${kind} attach fails naming a tracepoint instead`, async () => {
    const f = get(await report(), kind);
    assert(f.reason, `${kind} is missing without a reason`);
    assertMatch(f.alternative ?? "", "tracepoint");
    using obj = await hooks();
    const e = assertThrows(() => obj.program("on_kprobe").attach(target), BpfError);
    assertMatch(e.message, "kprobes are not available on this kernel");
    assertMatch(e.hint ?? "", "tracepoint");
  }, works(kind));
}

bpfTest("kprobe.multi reported missing says what bpfsh does instead, true to this kernel", () => {
  const f = get(REPORT!, "kprobe.multi");
  assert(f.reason, "kprobe.multi is missing without a reason");
  if (works("kprobe")) {
    // The links are missing (no CONFIG_FPROBE), kprobes are not: bpfsh falls back by itself,
    // and link_kprobe_test.ts counts through that fallback.
    assertMatch(f.reason, "CONFIG_FPROBE");
    assertMatch(f.fallback ?? "", "one kprobe per matching function");
    assert(!f.alternative, `a fallback and an alternative: ${f.alternative}`);
  } else {
    // No kprobes: the fallback would not attach either, so only a tracepoint is offered.
    assertMatch(f.reason, "kprobes are not available");
    assertMatch(f.alternative ?? "", "tracepoint");
    assert(!f.fallback, `a fallback without kprobes: ${f.fallback}`);
  }
}, works("kprobe.multi"));

const fentry = works("fentry") && works("fexit");

bpfTest("reported working, fentry and fexit attach to do_unlinkat and count unlinks", async () => {
  using obj = await BpfObject.open(fixture("fentry"));
  obj.globals.target_tgid = Deno.pid;
  obj.load();
  obj.attachAll();
  const dir = Deno.makeTempDirSync({ prefix: "bpfsh-fentry-" });
  for (let i = 0; i < 3; i++) {
    Deno.writeTextFileSync(`${dir}/f${i}`, "x");
    Deno.removeSync(`${dir}/f${i}`);
  }
  Deno.removeSync(dir);
  const entries = obj.globals.entries as bigint;
  const exits = obj.globals.exits as bigint;
  assert(entries >= 3n && exits >= 3n, `fentry ${entries}, fexit ${exits} of 3 unlinks`);
}, !fentry);

bpfTest("reported missing, fentry/fexit fail to load naming tp_btf instead", async () => {
  const r = await report();
  for (const f of [get(r, "fentry"), get(r, "fexit")].filter((x) => !x.ok)) {
    assert(f.reason, `${f.name} is missing without a reason`);
    assertMatch(f.alternative ?? "", "tp_btf");
  }
  using obj = await BpfObject.open(fixture("fentry"));
  const e = assertThrows(() => {
    obj.load();
    obj.attachAll();
  }, BpfError);
  assertMatch(e.message, "are refused by this kernel");
  assertMatch(e.hint ?? "", /tp_btf|raw_tp/);
}, fentry);

Deno.test({
  name: "features() finds the kinds every supported kernel (5.8+) has, and says why for each miss",
  ignore: NOT_ROOT,
  fn: async () => {
    const r = await report();
    const working = [
      "btf",
      "tracefs",
      "bpffs",
      "privileges",
      "tracepoint",
      "raw_tp",
      "tp_btf",
      "uprobe",
      "perf_event",
      "xdp",
      "tc",
      "socket_filter",
      "hash",
      "array",
      "percpu_array",
      "lru_hash",
      "ringbuf",
      "perf_event_array",
      "prog_array",
      "bpf_ringbuf_reserve",
      "bpf_get_current_task_btf",
      "bpf_probe_read_kernel",
    ];
    const broken = working.map((n) => get(r, n)).filter((f) => !f.ok);
    assert(broken.length === 0, `reported missing: ${JSON.stringify(broken)}`);
    for (const f of r.features) {
      if (!f.ok) assert(f.reason, `${f.name} is missing without a reason`);
    }
  },
});

Deno.test({
  name: "features() describes the kernel, privileges and mounts, and survives JSON",
  ignore: NOT_ROOT,
  fn: async () => {
    const r = await report();
    const json = JSON.parse(JSON.stringify(r)) as FeatureReport;
    assert(json.kernel.release === Deno.osRelease(), `release ${json.kernel.release}`);
    const btf = (() => {
      try {
        return Deno.statSync("/sys/kernel/btf/vmlinux").isFile;
      } catch {
        return false;
      }
    })();
    assert(json.btf === btf, `btf reported ${json.btf}, the file says ${btf}`);
    assert(json.privileges.root && json.privileges.capBpf && json.privileges.capPerfmon, "caps");
    assert(json.tracefs.mounted && json.bpffs.mounted, "tracefs/bpffs not mounted");
    assert(/^v?\d+\.\d+/.test(json.libbpf), `libbpf ${json.libbpf}`);
    for (const f of json.features) {
      assert(["system", "program", "map", "helper"].includes(f.kind), `kind of ${f.name}`);
    }
    // The second call is the cached report.
    assert((await report()) === r, "features() probed twice in one process");
  },
});

Deno.test({
  name: "features() leaves no probe program loaded",
  ignore: NOT_ROOT,
  fn: async () => {
    await report();
    const out = await new Deno.Command("bpftool", { args: ["prog", "list", "-j"] }).output();
    const progs = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      name?: string;
      pids?: { pid: number }[];
    }[];
    const mine = progs.filter((p) =>
      p.pids?.some((x) => x.pid === Deno.pid) && p.name?.startsWith("probe_")
    );
    assert(mine.length === 0, `probe programs still loaded: ${mine.map((p) => p.name)}`);
  },
});

Deno.test({
  name: "`bpfsh doctor --json` needs no compiler and reports the program kinds features() does",
  ignore: NOT_ROOT, // the probes load programs: root (CI runs as root)
  async fn() {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${ROOT}/shell/main.ts`, "doctor", "--json"],
      // No clang, no bpftool: as on a production host.
      env: { PATH: "/nonexistent", BPFSH_CLANG: "/nonexistent/clang" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
    const child = JSON.parse(new TextDecoder().decode(out.stdout)) as FeatureReport;
    const mine = await report();
    const kinds = (r: FeatureReport) =>
      r.features.filter((f) => f.kind === "program").map((f) => `${f.name}:${f.ok}`).join(" ");
    assert(kinds(child) === kinds(mine), `doctor: ${kinds(child)}\nfeatures(): ${kinds(mine)}`);
    assert(get(child, "tracepoint").ok, "the tracepoint probe failed without a compiler");
  },
});
