/**
 * The Prometheus side: a prom-client Registry whose metrics read their maps when asked
 * (each scrape, each push), plus bpfsh's own metrics about that reading. A metric whose
 * read fails serves no series for that scrape, counts the error and is logged; the others
 * are served as usual.
 *
 * @module
 */

import { Counter, Gauge, type Metric, Registry } from "prom-client";
import type { HistogramRow, MetricReader, ScalarRow } from "./bind.ts";
import { estimateSum } from "./buckets.ts";

/** One line of the exposition, as prom-client formats it. */
interface Value {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

function labelObject(names: string[], values: string[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (let i = 0; i < names.length; i++) o[names[i]] = values[i];
  return o;
}

/**
 * The exposition lines of a histogram series: cumulative `le` buckets, `+Inf`, `_sum` and
 * `_count`.
 *
 * @param reader The metric (its names and layout).
 * @param rows The series read.
 * @returns prom-client values.
 * @example
 * ```ts
 * histogramValues(reader, reader.read() as HistogramRow[]);
 * ```
 */
export function histogramValues(reader: MetricReader, rows: HistogramRow[]): Value[] {
  const name = reader.spec.name;
  const le = reader.layout!.le.map(String);
  const out: Value[] = [];
  for (const row of rows) {
    const base = labelObject(reader.labelNames, row.labels);
    let total = 0;
    for (let b = 0; b < le.length; b++) {
      total += row.counts[b];
      out.push({ labels: { ...base, le: le[b] }, value: total, metricName: `${name}_bucket` });
    }
    total += row.counts[le.length];
    out.push({ labels: { ...base, le: "+Inf" }, value: total, metricName: `${name}_bucket` });
    const sum = row.sum ?? estimateSum(reader.layout!, row.counts);
    out.push({ labels: base, value: sum, metricName: `${name}_sum` });
    out.push({ labels: base, value: total, metricName: `${name}_count` });
  }
  return out;
}

/** What the registry reports about each read, for logs and /healthz. */
export interface ReadReport {
  /** The metric. */
  metric: string;
  /** Series served (0 after an error). */
  series: number;
  /** Milliseconds the map read and decoding took. */
  ms: number;
  /** The error, when the read failed. */
  error?: string;
}

/**
 * A registry serving map-backed metrics.
 *
 * @example
 * ```ts
 * const exp = new Exposition(readers, { onError: (m, e) => console.error(m, e) });
 * const text = await exp.metrics();
 * ```
 */
export class Exposition {
  /** The prom-client registry (what /metrics and the Pushgateway serialize). */
  readonly registry: Registry = new Registry();
  /** The last read of each metric. */
  readonly last: Map<string, ReadReport> = new Map();
  readonly #errors: Counter<"metric">;

  /**
   * Register every metric.
   *
   * @param readers The bound metrics.
   * @param opts `onError(metric, error)` is told of each failed read.
   */
  constructor(
    readers: MetricReader[],
    opts: { onError?: (metric: string, error: unknown) => void } = {},
  ) {
    this.#errors = new Counter({
      name: "bpfsh_serve_read_errors_total",
      help: "Failed reads of a metric's map (that scrape served none of its series)",
      labelNames: ["metric"],
      registers: [],
    });
    const seconds = new Gauge({
      name: "bpfsh_serve_read_seconds",
      help: "How long the last read of a metric's map took, decoding included",
      labelNames: ["metric"],
      registers: [],
    });
    const series = new Gauge({
      name: "bpfsh_serve_series",
      help: "Series the last read of a metric's map served",
      labelNames: ["metric"],
      registers: [],
    });
    for (const r of readers) {
      this.#errors.inc({ metric: r.spec.name }, 0);
      const metric = {
        name: r.spec.name,
        help: r.spec.help ?? `${r.spec.type} read from map ${r.spec.map}`,
        type: r.spec.type,
        get: () => {
          const t0 = performance.now();
          let values: Value[] = [];
          const report: ReadReport = { metric: r.spec.name, series: 0, ms: 0 };
          try {
            const rows = r.read();
            report.series = rows.length;
            values = r.spec.type === "histogram"
              ? histogramValues(r, rows as HistogramRow[])
              : (rows as ScalarRow[]).map((row) => ({
                labels: labelObject(r.labelNames, row.labels),
                value: row.value,
              }));
          } catch (e) {
            report.error = e instanceof Error ? e.message : String(e);
            this.#errors.inc({ metric: r.spec.name });
            opts.onError?.(r.spec.name, e);
          }
          report.ms = performance.now() - t0;
          seconds.set({ metric: r.spec.name }, report.ms / 1000);
          series.set({ metric: r.spec.name }, report.series);
          this.last.set(r.spec.name, report);
          return { name: metric.name, help: metric.help, type: metric.type, values };
        },
        reset() {},
      };
      // prom-client formats any object with a name and get(); its types name only its own.
      this.registry.registerMetric(metric as unknown as Metric);
    }
    // After the map metrics: a scrape reads the maps first, so these report this scrape.
    for (const m of [this.#errors, seconds, series]) this.registry.registerMetric(m);
  }

  /**
   * The exposition text, every map read now.
   *
   * @returns The Prometheus text format.
   */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  /** The content type of {@link metrics}. */
  get contentType(): string {
    return this.registry.contentType;
  }
}
