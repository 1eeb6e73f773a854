/**
 * A probe-language program's maps as Prometheus metrics, with no config: each map is one
 * metric named after it, labelled by its key expressions' names, typed by what it holds.
 *
 * | map                          | metric                                                  |
 * | ---------------------------- | ------------------------------------------------------- |
 * | `@execs[comm] = count()`     | counter `bpfsh_execs_total{comm="bash"}`                 |
 * | `@bytes[pid] = sum(x)`       | counter `bpfsh_bytes_total` (a signed sum: a gauge)      |
 * | `min`, `max`, `avg`, `@x = v` | gauge `bpfsh_x` (avg: the integer average, as printed)  |
 * | `hist(v)`, `lhist(v, …)`     | histogram `bpfsh_x_bucket{le=…}`, `_sum`, `_count`       |
 * | `stats(v)`                   | histogram with one `+Inf` bucket: the exact `_sum`, `_count` |
 *
 * Counters end in `_total` as Prometheus names them (`promtool check metrics` insists).
 * A map without keys is one sample without labels; `@` alone is `bpfsh_map`. hist()'s
 * `le` bounds are exact for integers: the negative bucket is `le="-1"`, then 0, 1, 3, 7, …
 * (2^k − 1); buckets above the highest one ever filled are left out. lhist()'s are its
 * steps (`min − 1`, `min + step − 1`, …, `+Inf` from max). Neither keeps a sum: `_sum` is
 * estimated from the middle of each bucket's integers. Maps of strings, stacks or pointers are no metric.
 *
 * @module
 */

import { HIST_BUCKETS, lhistBuckets, type MapValue } from "../probe/aggregations.ts";
import type { MapSnapshot } from "../probe/read.ts";
import type { MapSpec } from "../probe/spec.ts";
import type { BucketLayout } from "./buckets.ts";
import type { HistogramRow, MetricReader, ScalarRow } from "./bind.ts";
import type { MetricSpec } from "./config.ts";

/** How one map is served. */
export interface ProbeMetricPlan {
  /** The map (`@execs`). */
  map: string;
  /** The metric name (`bpfsh_execs_total`). */
  name: string;
  /** Its type. */
  type: "counter" | "gauge" | "histogram";
  /** The HELP text. */
  help: string;
  /** One label per key, in key order. */
  labelNames: string[];
  /** The map's value kind. */
  kind: MapSpec["kind"];
  /** lhist bounds (hist ones are fixed). */
  lhist?: MapSpec["lhist"];
}

/** A map that is not served, and why. */
export interface ProbeMetricSkip {
  map: string;
  reason: string;
}

/** Metric names bpfsh serve gives its own metrics. */
const RESERVED = /^bpfsh_serve_/;

/**
 * The metric name of a map.
 *
 * @param map The map's name in the program (`@`, `@execs`).
 * @param counter Whether the metric is a counter (named `…_total`).
 * @returns `bpfsh_execs`, `bpfsh_execs_total`, `bpfsh_map` for `@`.
 * @example
 * ```ts
 * probeMetricName("@execs", true); // "bpfsh_execs_total"
 * ```
 */
export function probeMetricName(map: string, counter = false): string {
  const base = map === "@" ? "map" : map.replace(/^@/, "");
  const name = `bpfsh_${base}`.replace(/[^a-zA-Z0-9_:]/g, "_");
  return counter && !name.endsWith("_total") ? `${name}_total` : name;
}

/**
 * Prometheus label names for a map's keys: the key names the compiler gives (`comm`,
 * `pid`, `filename`, `key1`), made valid, never `le` in a histogram, never repeated.
 *
 * @param keys The key names, in order.
 * @param histogram Whether `le` is taken.
 * @returns The label names.
 * @example
 * ```ts
 * probeLabelNames(["comm", "le", "comm"], true); // ["comm", "key_le", "comm_2"]
 * ```
 */
export function probeLabelNames(keys: string[], histogram: boolean): string[] {
  const used = new Set<string>();
  return keys.map((k) => {
    let n = k.replace(/[^a-zA-Z0-9_]/g, "_");
    if (!n || /^\d/.test(n) || n.startsWith("__") || (histogram && n === "le")) n = `key_${n}`;
    let name = n;
    for (let i = 2; used.has(name); i++) name = `${n}_${i}`;
    used.add(name);
    return name;
  });
}

/**
 * How a map is served, or why it is not.
 *
 * @param m The map's spec (from the compiled program).
 * @returns The plan, or the reason it is skipped.
 * @example
 * ```ts
 * const plan = probeMetricPlan(program.spec.maps[0]);
 * ```
 */
export function probeMetricPlan(m: MapSpec): ProbeMetricPlan | ProbeMetricSkip {
  if (m.kind === "value" && m.value.k !== "int") {
    return { map: m.name, reason: `holds ${m.valueType} values, which are no number` };
  }
  const histogram = m.kind === "hist" || m.kind === "lhist" || m.kind === "stats";
  const counter = m.kind === "count" || (m.kind === "sum" && !m.signed);
  const type = histogram ? "histogram" : counter ? "counter" : "gauge";
  const name = probeMetricName(m.name, counter);
  const keys = m.keys.map((k) => k.expr).join(", ");
  const what = m.kind === "value" ? "values" : `${m.kind}()`;
  return {
    map: m.name,
    name,
    type,
    help: `${what} of ${m.name}${keys ? `[${keys}]` : ""} (bpfsh probe program)`,
    labelNames: probeLabelNames(m.keys.map((k) => k.name), histogram),
    kind: m.kind,
    lhist: m.lhist,
  };
}

/**
 * The plans of every map of a program, and the maps left out.
 *
 * @param maps The program's maps.
 * @param source Where the program came from, for errors.
 * @returns Plans and skipped maps.
 * @throws {Error} when a map's metric name is one bpfsh serve uses for itself.
 * @example
 * ```ts
 * const { plans, skipped } = probeMetricPlans(prepared.spec.maps, "-e");
 * ```
 */
export function probeMetricPlans(
  maps: MapSpec[],
  source: string,
): { plans: ProbeMetricPlan[]; skipped: ProbeMetricSkip[] } {
  const plans: ProbeMetricPlan[] = [];
  const skipped: ProbeMetricSkip[] = [];
  for (const m of maps) {
    const p = probeMetricPlan(m);
    if (!("name" in p)) {
      skipped.push(p);
      continue;
    }
    if (RESERVED.test(p.name)) {
      throw new Error(
        `${source}: map ${m.name} would be served as ${p.name}, a name bpfsh serve ` +
          "gives its own metrics: rename the map",
      );
    }
    plans.push(p);
  }
  return { plans, skipped };
}

/** hist()'s `le` bounds, all of them: −1, 0, then 2^k − 1 up to 2^63 − 1. */
const HIST_LE: number[] = (() => {
  const le = [-1, 0];
  for (let k = 2; k < HIST_BUCKETS; k++) le.push(2 ** (k - 1) - 1);
  return le;
})();

/**
 * The bucket layout of a hist() with buckets 0..top, or of an lhist().
 *
 * @param plan The map's plan.
 * @param top hist: the highest bucket index to include.
 * @returns `le` bounds (bucket i of the map counts in `le[i]`; the last map bucket of an
 *   lhist is `+Inf`); stats(): none, only `+Inf`.
 * @example
 * ```ts
 * probeLayout(plan, 4).le; // [-1, 0, 1, 3, 7]
 * ```
 */
export function probeLayout(plan: Pick<ProbeMetricPlan, "kind" | "lhist">, top = 1): BucketLayout {
  if (plan.kind === "hist") return { min: 0, le: HIST_LE.slice(0, Math.max(top, 1) + 1) };
  if (plan.kind === "lhist") {
    const { min, step } = plan.lhist!;
    const n = lhistBuckets(plan.lhist!); // below min, one per step, the last from max up
    const le = [min - 1];
    for (let i = 1; i <= n - 2; i++) le.push(min + i * step - 1);
    return { min: 0, le };
  }
  return { min: 0, le: [] };
}

function num(v: unknown): number {
  return typeof v === "bigint" ? Number(v) : typeof v === "number" ? v : NaN;
}

/** The sample value of a scalar map entry. */
function scalarValue(v: MapValue): number {
  switch (v.kind) {
    case "stats":
      return num(v.average);
    case "hist":
    case "lhist":
      return v.buckets.reduce((a, b) => a + Number(b), 0);
    default:
      return num(v.value);
  }
}

/**
 * The series of a counter or gauge map now.
 *
 * @param snap The map read.
 * @returns One row per entry, labelled by the keys as printed.
 * @example
 * ```ts
 * scalarRows(descriptor.read()); // [{ labels: ["bash"], value: 12 }]
 * ```
 */
export function scalarRows(snap: MapSnapshot): ScalarRow[] {
  return snap.entries.map((e) => ({ labels: e.keyText, value: scalarValue(e.value) }));
}

/**
 * The series of a hist, lhist or stats map now.
 *
 * @param snap The map read.
 * @param layout Its buckets (hist: from {@link histTop} of this very read).
 * @returns One row per key: counts per bucket, the last +Inf; stats: the exact sum.
 * @example
 * ```ts
 * histogramRows(snap, probeLayout(plan, histTop(snap)));
 * ```
 */
export function histogramRows(snap: MapSnapshot, layout: BucketLayout): HistogramRow[] {
  const nb = layout.le.length + 1;
  return snap.entries.map((e) => {
    const counts = new Float64Array(nb);
    const v = e.value;
    if (v.kind === "stats") {
      counts[0] = Number(v.count);
      return { labels: e.keyText, counts, sum: Number(v.total) };
    }
    if (v.kind === "hist" || v.kind === "lhist") {
      for (let i = 0; i < v.buckets.length; i++) {
        counts[i < nb ? i : nb - 1] += Number(v.buckets[i]);
      }
    }
    return { labels: e.keyText, counts, sum: integerSum(layout.le, counts) };
  });
}

/**
 * The sum of integer observations estimated from their buckets: each bucket's count times
 * the middle of the integers it holds (`le` − 1 … the bucket below's `le` + 1); the first
 * bucket counts at its bound, +Inf at the last bound + 1.
 */
function integerSum(le: number[], counts: Float64Array): number {
  let sum = 0;
  for (let b = 0; b < counts.length; b++) {
    if (!counts[b]) continue;
    const hi = b < le.length ? le[b] : le[le.length - 1] + 1;
    const lo = b === 0 || b === le.length ? hi : le[b - 1] + 1;
    sum += counts[b] * (lo + hi) / 2;
  }
  return sum;
}

/**
 * The highest hist() bucket any entry has filled.
 *
 * @param snap The map read.
 * @returns The bucket index (1, the `0` bucket, when none is).
 * @example
 * ```ts
 * histTop(snap); // 12: values up to 2^11 − 1 were seen
 * ```
 */
export function histTop(snap: MapSnapshot): number {
  let top = 1;
  for (const e of snap.entries) {
    const v = e.value;
    if (v.kind !== "hist") continue;
    for (let i = v.buckets.length - 1; i > top; i--) {
      if (v.buckets[i] !== 0n) {
        top = i;
        break;
      }
    }
  }
  return top;
}

/**
 * A metric reading a running program's map at each scrape.
 *
 * @param plan How the map is served.
 * @param read Reads the map now (a `MapDescriptor`'s read()).
 * @returns The reader. A hist()'s layout grows with the highest bucket ever filled (never
 *   shrinks, so a series' buckets stay), and is settled by each read().
 * @example
 * ```ts
 * const r = probeReader(plan, () => program.descriptors[0].read());
 * r.read(); // [{ labels: ["bash"], value: 12 }]
 * ```
 */
export function probeReader(plan: ProbeMetricPlan, read: () => MapSnapshot): MetricReader {
  const spec: MetricSpec = {
    name: plan.name,
    help: plan.help,
    type: plan.type,
    map: plan.map,
    labels: plan.labelNames.map((name) => ({ name })),
  };
  if (plan.type !== "histogram") {
    return { spec, labelNames: plan.labelNames, read: () => scalarRows(read()) };
  }
  let top = 1;
  let layout = probeLayout(plan, top);
  return {
    spec,
    labelNames: plan.labelNames,
    get layout() {
      return layout;
    },
    read(): HistogramRow[] {
      const snap = read();
      if (plan.kind === "hist") {
        const t = histTop(snap);
        if (t > top) {
          top = t;
          layout = probeLayout(plan, top);
        }
      }
      return histogramRows(snap, layout);
    },
  };
}
