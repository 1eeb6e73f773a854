/**
 * The OpenTelemetry side, over OTLP/HTTP with the official SDK: events become log records
 * (their decoded fields as attributes) and the config's metrics are read from their maps at
 * each export, as a metric producer (counters as monotonic cumulative sums, gauges as
 * gauges, histograms with explicit bounds).
 *
 * @module
 */

import { ValueType } from "@opentelemetry/api";
import { type AnyValueMap, type Logger, SeverityNumber } from "@opentelemetry/api-logs";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchLogRecordProcessor, LoggerProvider } from "@opentelemetry/sdk-logs";
import {
  AggregationTemporality,
  type CollectionResult,
  DataPointType,
  MeterProvider,
  type MetricData,
  type MetricProducer,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import { OTLPLogExporter } from "@opentelemetry/exporter-logs-otlp-http";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import type { HistogramRow, MetricReader, ScalarRow } from "./bind.ts";
import { estimateSum } from "./buckets.ts";

/** Options of {@link OtlpExport}. */
export interface OtlpOptions {
  /** The collector's base URL, e.g. `http://127.0.0.1:4318` (`/v1/logs`, `/v1/metrics` added). */
  url: string;
  /** Seconds between metric exports (default 10). */
  interval?: number;
  /** Resource attributes (service.name and host.name are set). */
  resource?: Record<string, string>;
  /** Told of a metric read that failed (the others are exported). */
  onError?: (metric: string, error: unknown) => void;
}

type HrTime = [number, number];

function hrNow(): HrTime {
  const ms = Date.now();
  return [Math.floor(ms / 1000), (ms % 1000) * 1e6];
}

function attributes(names: string[], values: string[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (let i = 0; i < names.length; i++) o[names[i]] = values[i];
  return o;
}

/**
 * The OTLP data of one metric, read now.
 *
 * @param r The metric.
 * @param start When the cumulative counts started (the serve start).
 * @returns The metric data.
 */
export function metricData(r: MetricReader, start: HrTime): MetricData {
  const end = hrNow();
  const descriptor = {
    name: r.spec.name,
    description: r.spec.help ?? "",
    unit: "",
    valueType: ValueType.DOUBLE,
  };
  const temporality = AggregationTemporality.CUMULATIVE;
  const rows = r.read();
  if (r.spec.type === "histogram") {
    const layout = r.layout!;
    return {
      descriptor,
      aggregationTemporality: temporality,
      dataPointType: DataPointType.HISTOGRAM,
      dataPoints: (rows as HistogramRow[]).map((row) => {
        const counts = Array.from(row.counts);
        const count = counts.reduce((a, b) => a + b, 0);
        return {
          startTime: start,
          endTime: end,
          attributes: attributes(r.labelNames, row.labels),
          value: {
            buckets: { boundaries: layout.le, counts },
            sum: row.sum ?? estimateSum(layout, row.counts),
            count,
          },
        };
      }),
    };
  }
  const points = (rows as ScalarRow[]).map((row) => ({
    startTime: start,
    endTime: end,
    attributes: attributes(r.labelNames, row.labels),
    value: row.value,
  }));
  if (r.spec.type === "gauge") {
    return {
      descriptor,
      aggregationTemporality: temporality,
      dataPointType: DataPointType.GAUGE,
      dataPoints: points,
    };
  }
  return {
    descriptor,
    aggregationTemporality: temporality,
    dataPointType: DataPointType.SUM,
    dataPoints: points,
    isMonotonic: true,
  };
}

/**
 * Events and metrics to an OTLP/HTTP collector.
 *
 * @example
 * ```ts
 * const otlp = new OtlpExport(readers, { url: "http://127.0.0.1:4318", interval: 5 });
 * otlp.emit("exec", { pid: 42, comm: "bash" });
 * await otlp.shutdown(); // exports what is left, metrics once more
 * ```
 */
export class OtlpExport {
  readonly #logs: LoggerProvider;
  readonly #logger: Logger;
  readonly #meters?: MeterProvider;

  /**
   * Start the exporters (metrics only when there are metrics).
   *
   * @param readers The bound metrics.
   * @param opts The collector and intervals.
   */
  constructor(readers: MetricReader[], opts: OtlpOptions) {
    const base = opts.url.replace(/\/+$/, "");
    const resource = resourceFromAttributes({
      "service.name": "bpfsh",
      "host.name": Deno.hostname(),
      ...opts.resource,
    });
    this.#logs = new LoggerProvider({
      resource,
      processors: [
        new BatchLogRecordProcessor({
          exporter: new OTLPLogExporter({ url: `${base}/v1/logs` }),
          scheduledDelayMillis: 1000,
        }),
      ],
    });
    this.#logger = this.#logs.getLogger("bpfsh");
    if (!readers.length) return;
    const start = hrNow();
    const producer: MetricProducer = {
      collect(): Promise<CollectionResult> {
        const metrics: MetricData[] = [];
        const errors: unknown[] = [];
        for (const r of readers) {
          try {
            metrics.push(metricData(r, start));
          } catch (e) {
            errors.push(e);
            opts.onError?.(r.spec.name, e);
          }
        }
        return Promise.resolve({
          resourceMetrics: { resource, scopeMetrics: [{ scope: { name: "bpfsh" }, metrics }] },
          errors,
        });
      },
    };
    this.#meters = new MeterProvider({
      resource,
      readers: [
        new PeriodicExportingMetricReader({
          exporter: new OTLPMetricExporter({ url: `${base}/v1/metrics` }),
          exportIntervalMillis: (opts.interval ?? 10) * 1000,
          metricProducers: [producer],
        }),
      ],
    });
  }

  /**
   * Emit one event as a log record.
   *
   * @param name The event's name (the record's event name, and its body by default).
   * @param fields Its decoded fields, as attributes.
   * @param body The record's body (a printed line, say).
   */
  emit(name: string, fields: AnyValueMap, body: string = name): void {
    this.#logger.emit({
      eventName: name,
      body,
      severityNumber: SeverityNumber.INFO,
      severityText: "INFO",
      attributes: fields,
    });
  }

  /** Export what is pending (logs, and the metrics once more), then stop. */
  async shutdown(): Promise<void> {
    await Promise.allSettled([this.#logs.shutdown(), this.#meters?.shutdown()]);
  }
}
