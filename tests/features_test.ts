/**
 * The doctor reports this kernel as it is: kprobes missing (CONFIG_KPROBES unset),
 * fentry/fexit refused, tracepoints, raw_tp, tp_btf, uprobes, perf events, XDP/TC and
 * ring buffers working. Probing loads programs, so these tests need root.
 */

import { features } from "../bpf/system/features.ts";
import type { Feature, FeatureReport } from "../bpf/system/features.ts";

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

const root = Deno.uid() === 0;
let cacheDir: string | undefined;

/** One probe run for the whole file (features() caches per process anyway). */
async function report(): Promise<FeatureReport> {
  cacheDir ??= await Deno.makeTempDir({ prefix: "bpfsh-features-" });
  return await features({ cacheDir });
}

function get(r: FeatureReport, name: string): Feature {
  const f = r.features.find((x) => x.name === name);
  assert(f, `the report has no feature '${name}'`);
  return f;
}

// Loading probe programs and mounting tracefs/bpffs need root.
Deno.test({
  name: "features() reports kprobes unavailable with the reason and an alternative",
  ignore: !root,
  fn: async () => {
    const r = await report();
    for (const name of ["kprobe", "kretprobe"]) {
      const f = get(r, name);
      assert(!f.ok, `${name} reported working`);
      assert(/CONFIG_KPROBES/.test(f.reason ?? ""), `${name} reason: ${f.reason}`);
      assert(/tracepoint/.test(f.alternative ?? ""), `${name} alternative: ${f.alternative}`);
    }
  },
});

Deno.test({
  name: "features() reports fentry/fexit refused with EPERM and tp_btf as the alternative",
  ignore: !root,
  fn: async () => {
    const r = await report();
    for (const name of ["fentry", "fexit"]) {
      const f = get(r, name);
      assert(!f.ok, `${name} reported working`);
      assert(/EPERM/.test(f.reason ?? ""), `${name} reason: ${f.reason}`);
      assert(/tp_btf/.test(f.alternative ?? ""), `${name} alternative: ${f.alternative}`);
    }
  },
});

Deno.test({
  name: "features() reports tracepoints, ring buffers and the other working kinds as ok",
  ignore: !root,
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
  },
});

Deno.test({
  name: "features() describes the kernel, privileges and mounts, and survives JSON",
  ignore: !root,
  fn: async () => {
    const r = await report();
    const json = JSON.parse(JSON.stringify(r)) as FeatureReport;
    assert(json.kernel.release === Deno.osRelease(), `release ${json.kernel.release}`);
    assert(json.btf === true, "btf missing");
    assert(json.privileges.root && json.privileges.capBpf && json.privileges.capPerfmon, "caps");
    assert(json.tracefs.mounted && json.bpffs.mounted, "tracefs/bpffs not mounted");
    assert(/^v?\d+\.\d+/.test(json.libbpf), `libbpf ${json.libbpf}`);
    for (const f of json.features) {
      assert(["system", "program", "map", "helper"].includes(f.kind), `kind of ${f.name}`);
      if (!f.ok) assert(f.reason, `${f.name} is missing without a reason`);
    }
    // The second call is the cached report.
    assert((await report()) === r, "features() probed twice in one process");
  },
});

Deno.test({
  name: "features() leaves no probe program loaded",
  ignore: !root,
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

globalThis.addEventListener("unload", () => {
  if (cacheDir) Deno.removeSync(cacheDir, { recursive: true });
});

Deno.test({
  name: "`bpfsh doctor --json` matches this kernel: kprobe off with a reason, tracepoint on",
  ignore: Deno.uid() !== 0, // the probes load programs: root (CI runs as root)
  async fn() {
    const root = new URL("..", import.meta.url).pathname;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${root}shell/main.ts`, "doctor", "--json"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
    const report = JSON.parse(new TextDecoder().decode(out.stdout)) as FeatureReport;
    const byName = new Map(report.features.map((f) => [f.name, f]));
    if (byName.get("kprobe")?.ok !== false) throw new Error("kprobe must be reported off");
    if (!/CONFIG_KPROBES/.test(byName.get("kprobe")?.reason ?? "")) {
      throw new Error(`kprobe reason: ${byName.get("kprobe")?.reason}`);
    }
    for (const on of ["tracepoint", "raw_tp", "tp_btf", "uprobe", "ringbuf"]) {
      if (byName.get(on)?.ok !== true) throw new Error(`${on} must be reported working`);
    }
    if (byName.get("fentry")?.ok !== false) throw new Error("fentry must be reported off");
  },
});
