// bpfsh serve's pure parts: the config schema and its messages, bucket layouts, label
// decoders, listen addresses, event flattening and the exposition of histograms.
import { assert, assertEquals, assertMatch, assertThrows } from "./assert.ts";
import { BpfError } from "../ffi/errors.ts";
import { validateConfig } from "../serve/config.ts";
import { bucketLayout, bucketOf, estimateSum } from "../serve/buckets.ts";
import { inetText, labelDecoder, setKsymResolver } from "../serve/decoders.ts";
import { NOT_ROOT } from "./helpers.ts";
import { parseListen } from "../serve/server.ts";
import { flattenEvent } from "../serve/events.ts";
import { parseErrnoHeader } from "../bpf/system/errnos.ts";
import { cgroup2Mount, cgroupPath } from "../serve/cgroups.ts";
import { histogramValues } from "../serve/exposition.ts";
import { parseServeArgs } from "../serve/cli.ts";
import { checkHttpUrl } from "../serve/push.ts";
import type { MetricReader } from "../serve/bind.ts";

const base = { object: "x.bpf.c" };
const counter = { name: "c_total", type: "counter", map: "m" };

function configError(raw: unknown): string {
  try {
    validateConfig(raw, "t.yaml", ".");
  } catch (e) {
    assert(e instanceof BpfError, `not a BpfError: ${e}`);
    assertEquals(e.op, "serve config");
    return e.message;
  }
  throw new Error("the config was accepted");
}

Deno.test("validateConfig() fills defaults and accepts every documented key", () => {
  const cfg = validateConfig(
    {
      ...base,
      globals: { x: 1 },
      metrics: [
        { ...counter, labels: [{ name: "comm", field: "comm", decoders: ["string"] }] },
        {
          name: "h_seconds",
          type: "histogram",
          map: "h",
          value: "slots",
          sum: "sum",
          buckets: { type: "log2", multiplier: 1e-9 },
          labels: [{
            name: "nr",
            decoders: ["syscall", { static: { read: "r" }, default: "other" }],
          }],
        },
        {
          name: "g",
          type: "gauge",
          map: "g",
          labels: [{ name: "a", decoders: [{ regexp: "^x" }] }],
        },
      ],
      events: [{ ringbuf: "events", type: "event", fields: ["pid"] }, { trace_pipe: true }],
    },
    "t.yaml",
    "/etc",
  );
  assertEquals(cfg.attach, "all");
  assertEquals(cfg.baseDir, "/etc");
  assertEquals(cfg.metrics[1].buckets, { type: "log2", min: 0, multiplier: 1e-9 });
  assertEquals(cfg.metrics[2].labels[0].decoders, [{ regexp: "^x" }]);
});

Deno.test("validateConfig() names every problem with its path", () => {
  assertMatch(configError([1]), "must be a YAML mapping");
  assertMatch(configError({ ...base }), "serves no metric and no event");
  assertMatch(
    configError({ ...base, metrics: [{ ...counter, name: "bad-name" }] }),
    "metrics[0].name",
  );
  assertMatch(
    configError({ ...base, metrics: [{ ...counter, type: "summary" }] }),
    "must be counter, gauge or histogram",
  );
  assertMatch(configError({ ...base, metrics: [{ ...counter, nope: 1 }] }), /metrics\[0\].*nope/);
  assertMatch(
    configError({ ...base, metrics: [{ ...counter, type: "histogram" }] }),
    "a histogram needs buckets",
  );
  assertMatch(
    configError({
      ...base,
      metrics: [{ ...counter, labels: [{ name: "a", decoders: ["nope"] }] }],
    }),
    "metrics[0].labels[0].decoders[0]",
  );
  assertMatch(
    configError({ ...base, metrics: [{ ...counter, labels: [{ name: "__x" }] }] }),
    "reserved",
  );
  assertMatch(
    configError({ ...base, metrics: [counter, counter] }),
    "metrics[1].name: is repeated",
  );
  assertMatch(
    configError({
      ...base,
      metrics: [{ ...counter, type: "histogram", buckets: { type: "fixed", bounds: [2, 1] } }],
    }),
    "ascending",
  );
  assertMatch(
    configError({
      ...base,
      metrics: [{ ...counter, type: "histogram", buckets: { type: "exp" } }],
    }),
    "log2, linear or fixed",
  );
  assertMatch(configError({ ...base, events: [{ ringbuf: "a", perfbuf: "b" }] }), "exactly one");
  assertMatch(
    configError({
      ...base,
      metrics: [{ ...counter, labels: [{ name: "a", decoders: [{ regexp: "(" }] }] }],
    }),
    "not a valid regular expression",
  );
});

Deno.test("bucketLayout() gives log2, linear and fixed bounds and rejects mismatches", () => {
  assertEquals(bucketLayout({ type: "log2", min: 0, max: 4, multiplier: 1 }).le, [0, 1, 3, 7, 15]);
  assertEquals(bucketLayout({ type: "log2", min: 1, max: 3, multiplier: 1e-9 }).le, [
    1e-9,
    3e-9,
    7e-9,
  ]);
  assertEquals(
    bucketLayout({ type: "linear", min: 0, max: 2, step: 10, multiplier: 1 }).le,
    [9, 19, 29],
  );
  assertEquals(bucketLayout({ type: "fixed", bounds: [1, 5], multiplier: 2 }, 3).le, [2, 10]);
  // A value array fixes max; a max that disagrees is a mismatch.
  assertEquals(bucketLayout({ type: "log2", min: 0, multiplier: 1 }, 3).le, [0, 1, 3]);
  assertThrows(
    () => bucketLayout({ type: "log2", min: 0, max: 26, multiplier: 1 }, 40, "m"),
    BpfError,
    "bucket mismatch: m: the map holds 40 slots, buckets min..max (0..26) makes 27",
  );
  assertThrows(
    () => bucketLayout({ type: "log2", min: 0, multiplier: 1 }),
    BpfError,
    "buckets.max is needed",
  );
  assertThrows(
    () => bucketLayout({ type: "fixed", bounds: [1, 2], multiplier: 1 }, 5),
    BpfError,
    "5 slots, buckets.bounds has 2",
  );
  const l = { min: 1, le: [1, 3, 7] };
  assertEquals([0, 1, 2, 3, 4, 99].map((s) => bucketOf(l, s)), [0, 0, 1, 2, 3, 3]);
  assertEquals(estimateSum({ min: 0, le: [1, 3] }, [2, 2, 1]), 2 * 0.5 + 2 * 2 + 3);
});

Deno.test("histogramValues() makes cumulative le buckets, +Inf, _sum and _count", () => {
  const reader = {
    spec: { name: "h_seconds", type: "histogram", map: "h", labels: [] },
    labelNames: ["op"],
    layout: { min: 0, le: [1, 3] },
    read: () => [],
  } as unknown as MetricReader;
  const v = histogramValues(reader, [{
    labels: ["read"],
    counts: Float64Array.of(2, 3, 1),
    sum: 9,
  }]);
  assertEquals(v.map((x) => [x.metricName, x.labels.le, x.value]), [
    ["h_seconds_bucket", "1", 2],
    ["h_seconds_bucket", "3", 5],
    ["h_seconds_bucket", "+Inf", 6],
    ["h_seconds_sum", undefined, 9],
    ["h_seconds_count", undefined, 6],
  ]);
  assertEquals(v[0].labels.op, "read");
});

Deno.test("label decoders: uint, string, syscall, errno, inet, static, regexp, enum", () => {
  const at = (value: unknown, bytes = new Uint8Array(16)) => [value, bytes, 0] as const;
  const int4 = { kind: "int" as const, size: 4, signed: false };
  assertEquals(labelDecoder(undefined, int4, "l")(...at(7)), "7");
  assertEquals(labelDecoder(["uint"], { ...int4, signed: true }, "l")(...at(-1)), "4294967295");
  assertEquals(labelDecoder(["hex"], int4, "l")(...at(255)), "0xff");
  assertEquals(labelDecoder(["syscall"], int4, "l")(...at(59)), "execve");
  assertEquals(labelDecoder(["errno"], int4, "l")(...at(-111)), "ECONNREFUSED");
  assertEquals(labelDecoder(["errno"], int4, "l")(...at(0)), "0");
  const v4 = Uint8Array.of(127, 0, 0, 1);
  assertEquals(labelDecoder(["inet"], int4, "l")(...at(0x0100007f, v4)), "127.0.0.1");
  assertThrows(
    () => labelDecoder(["inet"], { kind: "int", size: 8 }, "l"),
    BpfError,
    "4- or 16-byte",
  );
  assertEquals(
    labelDecoder(["uint", { static: { 1: "ESTABLISHED" }, default: "other" }], int4, "l")(...at(1)),
    "ESTABLISHED",
  );
  assertEquals(labelDecoder([{ static: { 1: "one" } }], int4, "l")(...at(2)), "2");
  const keepBash = labelDecoder([{ regexp: "^ba" }], { kind: "string", size: 16 }, "l");
  assertEquals(keepBash(...at("bash")), "bash");
  assertEquals(keepBash(...at("zsh")), null);
  assertEquals(
    labelDecoder(
      [{ regexp: "^/system\\.slice/(.*)$", replace: "$1" }],
      { kind: "string", size: 8 },
      "l",
    )(...at("/system.slice/ssh.service")),
    "ssh.service",
  );
  const states = { kind: "enum" as const, size: 4, enumerators: new Map([[1, "TCP_ESTABLISHED"]]) };
  assertEquals(labelDecoder(undefined, states, "l")(...at(1)), "TCP_ESTABLISHED");
  assertThrows(
    () => labelDecoder(undefined, { kind: "struct", size: 8 }, "l"),
    BpfError,
    "a struct",
  );
  assertThrows(
    () => labelDecoder(["syscall"], { kind: "string", size: 16 }, "comm"),
    BpfError,
    "comm: the syscall decoder reads an integer, and the field is a string",
  );
  setKsymResolver((a) => a === 0xffffffff81000000n ? "_stext" : `0x${a.toString(16)}`);
  try {
    assertEquals(
      labelDecoder(["ksym"], { kind: "int", size: 8 }, "l")(...at(0xffffffff81000000n)),
      "_stext",
    );
  } finally {
    setKsymResolver(undefined);
  }
});

Deno.test("inetText() writes IPv4, IPv6 (RFC 5952) and mapped addresses", () => {
  assertEquals(inetText(Uint8Array.of(10, 1, 2, 3)), "10.1.2.3");
  const v6 = new Uint8Array(16);
  v6[15] = 1;
  assertEquals(inetText(v6), "::1");
  v6.set([0x20, 0x01, 0x0d, 0xb8], 0);
  assertEquals(inetText(v6), "2001:db8::1");
  const mapped = new Uint8Array(16);
  mapped.set([0xff, 0xff, 192, 168, 0, 1], 10);
  assertEquals(inetText(mapped), "::ffff:192.168.0.1");
});

Deno.test("parseListen() reads HOST:PORT, [V6]:PORT, :PORT and PORT", () => {
  assertEquals(parseListen("127.0.0.1:9435"), { hostname: "127.0.0.1", port: 9435 });
  assertEquals(parseListen("[::1]:80"), { hostname: "::1", port: 80 });
  assertEquals(parseListen(":9435"), { hostname: "0.0.0.0", port: 9435 });
  assertEquals(parseListen("9435"), { hostname: "127.0.0.1", port: 9435 });
  assertThrows(() => parseListen("localhost"), BpfError, "is not HOST:PORT");
  assertThrows(() => parseListen("1.2.3.4:99999"), BpfError, "is not HOST:PORT");
});

Deno.test("parseServeArgs() reads the options and refuses bad ones", () => {
  const a = parseServeArgs(["a.yaml", "b.yaml", "--push", "http://x:9091", "--push-interval", "5"]);
  assertEquals(a.configs, ["a.yaml", "b.yaml"]);
  assertEquals(a.options.pushInterval, 5);
  assertThrows(() => parseServeArgs(["--nope"]), BpfError, "nope");
  assertThrows(() => parseServeArgs(["a.yaml", "--duration", "x"]), BpfError, "--duration");
  assertThrows(() => parseServeArgs(["a.yaml", "--push-interval", "2"]), BpfError, "needs --push");
  checkHttpUrl("https://gw.example:9091/x", "serve push", "");
  assertThrows(
    () => checkHttpUrl("127.0.0.1:9091", "serve push", "u"),
    BpfError,
    "not an http(s) URL",
  );
});

Deno.test("flattenEvent() flattens nested structs and keeps arrays", () => {
  assertEquals(flattenEvent({ pid: 1, big: 2n ** 60n, t: { comm: "sh" }, a: [1, 2] }), {
    pid: 1,
    big: String(2n ** 60n),
    "t.comm": "sh",
    a: [1, 2],
  });
  assertEquals(flattenEvent(Uint8Array.of(1, 255)), { data: "01ff" });
});

Deno.test("parseErrnoHeader() and cgroup2Mount() read the host's files", () => {
  const t = parseErrnoHeader("#define\tEPERM\t\t 1\t/* x */\n#define\tEWOULDBLOCK\tEAGAIN\n");
  assertEquals([...t], [[1, "EPERM"]]);
  assertEquals(
    cgroup2Mount("29 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw\n"),
    "/sys/fs/cgroup",
  );
  assertEquals(cgroup2Mount("1 2 0:1 / /proc rw - proc proc rw\n"), undefined);
});

Deno.test({
  name: "the ksym decoder names a kernel function from /proc/kallsyms",
  ignore: NOT_ROOT, // kallsyms shows addresses as 0 to others
  fn() {
    const line = Deno.readTextFileSync("/proc/kallsyms").split("\n").find((l) =>
      / [Tt] do_syscall_64$/.test(l)
    );
    assert(line, "do_syscall_64 is in /proc/kallsyms");
    const address = BigInt(`0x${line.split(" ")[0]}`);
    const d = labelDecoder(["ksym"], { kind: "int", size: 8 }, "l");
    assertEquals(d(address + 4n, new Uint8Array(8), 0), "do_syscall_64");
  },
});

Deno.test("the deploy files run bpfsh serve on a config the schema accepts", async () => {
  const { parseAllDocuments } = await import("yaml");
  const root = new URL("..", import.meta.url).pathname;
  const docs = parseAllDocuments(Deno.readTextFileSync(`${root}deploy/daemonset.yaml`)).map((d) =>
    d.toJS()
  );
  const cm = docs.find((d) => d.kind === "ConfigMap");
  const ds = docs.find((d) => d.kind === "DaemonSet");
  const cfg = validateConfig(
    (await import("yaml")).parse(cm.data["serve.yaml"]),
    "configmap",
    "/",
  );
  assertEquals(cfg.metrics[0].name, "bpfsh_execs_total");
  const pod = ds.spec.template.spec;
  assert(pod.hostPID && pod.hostNetwork, "hostPID and hostNetwork");
  const c = pod.containers[0];
  assertEquals(c.args.slice(1, 3), ["serve", "/etc/bpfsh/serve.yaml"]);
  assertEquals(c.securityContext.capabilities.add.includes("BPF"), true);
  assertEquals(c.readinessProbe.httpGet.path, "/healthz");
  const unit = Deno.readTextFileSync(`${root}deploy/bpfsh-serve.service`);
  assertMatch(unit, /^ExecStart=\S+\/bpfsh serve \/etc\/bpfsh\/serve\.yaml/m);
  assertMatch(unit, /^CapabilityBoundingSet=.*CAP_BPF.*CAP_PERFMON/m);
  // The example configs themselves pass the schema.
  for (const name of ["execs", "syscall_latency", "tcp"]) {
    const text = Deno.readTextFileSync(`${root}examples/${name}.yaml`);
    validateConfig((await import("yaml")).parse(text), name, `${root}examples`);
  }
});

Deno.test("cgroupPath() names this process's cgroup by its id (the directory's inode)", () => {
  const mount = cgroup2Mount();
  const own = /^0::(.*)$/m.exec(Deno.readTextFileSync("/proc/self/cgroup"))?.[1];
  if (!mount || own === undefined) return; // cgroup v1 host: the decoder passes ids through
  const ino = Deno.statSync(`${mount}${own}`).ino!;
  assertEquals(cgroupPath(BigInt(ino)), own || "/");
  assertEquals(cgroupPath(2n ** 62n), undefined);
});
