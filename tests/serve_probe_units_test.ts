// bpfsh serve -e's pure parts: how a probe program's maps become metrics (names, labels,
// types, bucket bounds), their rows from map snapshots, and the config's probe: form.
import { assert, assertEquals, assertMatch, assertThrows } from "./assert.ts";
import { BpfError } from "../ffi/errors.ts";
import { validateConfig } from "../serve/config.ts";
import { parseServeArgs } from "../serve/cli.ts";
import { histogramValues } from "../serve/exposition.ts";
import {
  histogramRows,
  histTop,
  probeLabelNames,
  probeLayout,
  probeMetricName,
  type ProbeMetricPlan,
  probeMetricPlan,
  probeMetricPlans,
  probeReader,
  scalarRows,
} from "../serve/probe_metrics.ts";
import type { KeySpec, MapSpec } from "../probe/spec.ts";
import type { MapEntry, MapSnapshot } from "../probe/read.ts";
import type { MapValue } from "../probe/aggregations.ts";
import type { HistogramRow } from "../serve/bind.ts";

const U64 = { k: "int", bits: 64, signed: false } as const;
const S64 = { k: "int", bits: 64, signed: true } as const;

function key(name: string, expr = name): KeySpec {
  return { name, expr, type: "uint64", ty: U64, offset: 0, size: 8 };
}

function mapSpec(m: Partial<MapSpec> & Pick<MapSpec, "name" | "kind">): MapSpec {
  return {
    bpfName: `at_${m.name.slice(1)}`,
    mapType: "percpu_hash",
    keys: [],
    keySize: 8,
    value: U64,
    valueType: "uint64",
    valueSize: 8,
    signed: false,
    perCpu: true,
    maxEntries: 4096,
    ...m,
  };
}

function snapshot(spec: MapSpec, entries: [string[], MapValue][]): MapSnapshot {
  const e: MapEntry[] = entries.map(([keyText, value]) => ({ keys: keyText, keyText, value }));
  return { spec, entries: e };
}

function plan(m: MapSpec): ProbeMetricPlan {
  const p = probeMetricPlan(m);
  assert("name" in p, `skipped: ${JSON.stringify(p)}`);
  return p;
}

Deno.test("probe maps: names, types and labels", () => {
  assertEquals(probeMetricName("@execs", true), "bpfsh_execs_total");
  assertEquals(probeMetricName("@execs_total", true), "bpfsh_execs_total");
  assertEquals(probeMetricName("@", false), "bpfsh_map");
  assertEquals(probeMetricName("@lat"), "bpfsh_lat");

  const execs = plan(mapSpec({ name: "@execs", kind: "count", keys: [key("comm")] }));
  assertEquals([execs.name, execs.type, execs.labelNames], [
    "bpfsh_execs_total",
    "counter",
    ["comm"],
  ]);
  assertMatch(execs.help, "count() of @execs[comm]");
  const kinds: [Partial<MapSpec>, string, string][] = [
    [{ kind: "sum" }, "counter", "bpfsh_m_total"],
    [{ kind: "sum", signed: true, value: S64 }, "gauge", "bpfsh_m"],
    [{ kind: "min" }, "gauge", "bpfsh_m"],
    [{ kind: "max" }, "gauge", "bpfsh_m"],
    [{ kind: "avg" }, "gauge", "bpfsh_m"],
    [{ kind: "value", mapType: "hash", perCpu: false }, "gauge", "bpfsh_m"],
    [{ kind: "hist" }, "histogram", "bpfsh_m"],
    [{ kind: "lhist", lhist: { min: 0, max: 100, step: 10 } }, "histogram", "bpfsh_m"],
    [{ kind: "stats" }, "histogram", "bpfsh_m"],
  ];
  for (const [m, type, name] of kinds) {
    const p = plan(mapSpec({ name: "@m", kind: "count", ...m }));
    assertEquals([p.type, p.name], [type, name], JSON.stringify(m));
  }
  // Strings are no number: left out, and said why.
  const names = probeMetricPlan(
    mapSpec({
      name: "@names",
      kind: "value",
      value: { k: "str", size: 16 },
      valueType: "string[16]",
    }),
  );
  assert(!("name" in names));
  assertMatch(names.reason, "string[16]");

  assertEquals(probeLabelNames(["comm", "le", "comm", "comm"], true), [
    "comm",
    "key_le",
    "comm_2",
    "comm_3",
  ]);
  assertEquals(probeLabelNames(["le", "__x", "a-b"], false), ["le", "key___x", "a_b"]);

  assertThrows(
    () => probeMetricPlans([mapSpec({ name: "@serve_series", kind: "max" })], "-e"),
    Error,
    "a name bpfsh serve gives its own metrics",
  );
  const { plans, skipped } = probeMetricPlans([
    mapSpec({ name: "@a", kind: "count" }),
    mapSpec({ name: "@s", kind: "value", value: { k: "str", size: 8 }, valueType: "string[8]" }),
  ], "-e");
  assertEquals([plans.map((p) => p.name), skipped.map((s) => s.map)], [
    ["bpfsh_a_total"],
    ["@s"],
  ]);
});

Deno.test("probe maps: hist and lhist le bounds match bpftrace's buckets", () => {
  // hist: bucket 0 < 0, 1 = 0, k >= 2 holds [2^(k-2), 2^(k-1) - 1].
  assertEquals(probeLayout({ kind: "hist" }, 5).le, [-1, 0, 1, 3, 7, 15]);
  assertEquals(probeLayout({ kind: "hist" }, 64).le.length, 65);
  assertEquals(probeLayout({ kind: "hist" }, 64).le[64], 2 ** 63 - 1);
  // lhist(v, 0, 100, 20): < 0, [0,19], [20,39], …, [80,99], then >= 100 is +Inf.
  const l = probeLayout({ kind: "lhist", lhist: { min: 0, max: 100, step: 20 } });
  assertEquals(l.le, [-1, 19, 39, 59, 79, 99]);
  assertEquals(probeLayout({ kind: "lhist", lhist: { min: 10, max: 20, step: 5 } }).le, [
    9,
    14,
    19,
  ]);
  assertEquals(probeLayout({ kind: "stats" }).le, []);
});

Deno.test("probe maps: rows from snapshots, cumulative buckets, the layout grows", () => {
  const count = mapSpec({ name: "@execs", kind: "count", keys: [key("comm"), key("uid")] });
  assertEquals(
    scalarRows(snapshot(count, [[["sh", "0"], { kind: "count", value: 3n }]])),
    [{ labels: ["sh", "0"], value: 3 }],
  );
  const avg = mapSpec({ name: "@a", kind: "avg" });
  assertEquals(
    scalarRows(snapshot(avg, [[[], { kind: "avg", count: 4n, total: 10n, value: 2n }]])),
    [{ labels: [], value: 2 }],
  );

  const h = mapSpec({ name: "@lat", kind: "hist", keys: [key("comm")] });
  const buckets = (n: Record<number, bigint>) => Array.from({ length: 65 }, (_, i) => n[i] ?? 0n);
  let snap = snapshot(h, [
    [["a"], { kind: "hist", buckets: buckets({ 1: 1n, 3: 2n }) }],
    [["b"], { kind: "hist", buckets: buckets({ 4: 5n }) }],
  ]);
  assertEquals(histTop(snap), 4);
  const reader = probeReader(plan(h), () => snap);
  const rows = reader.read() as HistogramRow[];
  assertEquals(reader.layout!.le, [-1, 0, 1, 3, 7]);
  assertEquals([...rows[0].counts], [0, 1, 0, 2, 0, 0]);
  const v = histogramValues(reader, rows);
  assertEquals(
    v.filter((x) => x.labels.comm === "a").map((x) => [x.metricName, x.labels.le, x.value]),
    [
      ["bpfsh_lat_bucket", "-1", 0],
      ["bpfsh_lat_bucket", "0", 1],
      ["bpfsh_lat_bucket", "1", 1],
      ["bpfsh_lat_bucket", "3", 3],
      ["bpfsh_lat_bucket", "7", 3],
      ["bpfsh_lat_bucket", "+Inf", 3],
      ["bpfsh_lat_sum", undefined, 1 * 0 + 2 * 2.5],
      ["bpfsh_lat_count", undefined, 3],
    ],
  );
  // A higher bucket filled: more buckets; emptied again (clear()): they stay.
  snap = snapshot(h, [[["a"], { kind: "hist", buckets: buckets({ 10: 1n }) }]]);
  reader.read();
  assertEquals(reader.layout!.le.length, 11);
  snap = snapshot(h, [[["a"], { kind: "hist", buckets: buckets({ 1: 1n }) }]]);
  reader.read();
  assertEquals(reader.layout!.le.length, 11);

  const s = mapSpec({ name: "@s", kind: "stats" });
  const stats = histogramRows(
    snapshot(s, [[[], { kind: "stats", count: 4n, total: 10n, average: 2n }]]),
    probeLayout({ kind: "stats" }),
  );
  assertEquals([[...stats[0].counts], stats[0].sum], [[4], 10]);

  const lh = mapSpec({ name: "@l", kind: "lhist", lhist: { min: 0, max: 100, step: 20 } });
  const lrows = histogramRows(
    snapshot(lh, [[[], { kind: "lhist", buckets: [1n, 0n, 2n, 0n, 0n, 0n, 3n] }]]),
    probeLayout({ kind: "lhist", lhist: { min: 0, max: 100, step: 20 } }),
  );
  assertEquals([...lrows[0].counts], [1, 0, 2, 0, 0, 0, 3]);
  // Below min counts at min - 1, [20, 39] at 29.5, from max up at max.
  assertEquals(lrows[0].sum, 1 * -1 + 2 * 29.5 + 3 * 100);
});

Deno.test("serve -e and probe: configs: arguments and schema", () => {
  const a = parseServeArgs(["-e", "BEGIN { @x = 1; }", "x.bt", "--program", "END {}"]);
  assertEquals([a.programs, a.configs], [["BEGIN { @x = 1; }", "END {}"], ["x.bt"]]);
  assertEquals(parseServeArgs(["c.yaml"]).programs, []);

  const p = validateConfig({ probe: "BEGIN { @x = 1; }", params: [5, "a"] }, "p.yaml", ".");
  assertEquals([p.probe, p.params], ["BEGIN { @x = 1; }", ["5", "a"]]);
  assertEquals(validateConfig({ object: "x.bt" }, "p.yaml", ".").object, "x.bt");
  const error = (raw: unknown) => {
    try {
      validateConfig(raw, "p.yaml", ".");
    } catch (e) {
      assert(e instanceof BpfError && e.op === "serve config", String(e));
      return e.message;
    }
    throw new Error("accepted");
  };
  assertMatch(error({ probe: "x", metrics: [] }), "metrics: a probe program's maps are served");
  assertMatch(error({ object: "x.bt", attach: "all" }), "attach");
  assertMatch(error({ object: "x.o", probe: "x" }), "either object:");
  assertMatch(error({}), "either object:");
  assertMatch(error({ object: "x.o", params: [1], metrics: [] }), "only a probe program");
});
