/**
 * A metric of the config bound to its map: labels, values and buckets resolved from BTF
 * once, then read from the map at every scrape in batches (no aggregation loop runs
 * between scrapes: the kernel aggregates). Series whose labels decode the same are summed.
 *
 * @module
 */

import { BpfError } from "../ffi/errors.ts";
import { type BpfMap, possibleCpus, type RawBatch } from "../bpf/map/map.ts";
import type { MetricSpec } from "./config.ts";
import { type LabelDecoder, labelDecoder } from "./decoders.ts";
import { type Field, intReader, needInt, resolveField } from "./fields.ts";
import { type BucketLayout, bucketLayout, bucketOf } from "./buckets.ts";

/** One series of a counter or gauge. */
export interface ScalarRow {
  /** Label values, in the order of {@link MetricReader.labelNames}. */
  labels: string[];
  /** The value. */
  value: number;
}

/** One series of a histogram. */
export interface HistogramRow {
  /** Label values, in the order of {@link MetricReader.labelNames}. */
  labels: string[];
  /** Counts per bucket (not cumulative); the last is +Inf. */
  counts: Float64Array;
  /** The sum of observations, when the map keeps it. */
  sum?: number;
}

/** A metric ready to be read. */
export interface MetricReader {
  /** The config entry. */
  readonly spec: MetricSpec;
  /** Label names, in order. */
  readonly labelNames: string[];
  /** The bucket layout of a histogram. */
  readonly layout?: BucketLayout;
  /** Read the map now. */
  read(): ScalarRow[] | HistogramRow[];
}

const READABLE = new Set([
  "hash",
  "array",
  "percpu_hash",
  "percpu_array",
  "lru_hash",
  "lru_percpu_hash",
]);

function fail(message: string, hint?: string): BpfError {
  return new BpfError({ op: "serve config", message, hint });
}

/** A label bound to the key: its field and decoder. */
interface BoundLabel {
  field: Field;
  decode: LabelDecoder;
}

/** `(keys or values buffer) => (offset) => decoded value` for a field. */
function fieldValues(map: BpfMap, f: Field): (bytes: Uint8Array) => (offset: number) => unknown {
  if (!f.typeId || !map.btf) {
    return (bytes) => intReader(bytes, f.shape.size, f.shape.signed);
  }
  const codec = map.btf.codec(f.typeId);
  return (bytes) => codec.bind(bytes);
}

/**
 * An integer field of every CPU's value, summed, as `(values) => (entry) => number`.
 *
 * @param map The map.
 * @param f The field (resolved in the value type).
 * @returns The reader factory, bound once per batch.
 */
function summedInts(map: BpfMap, f: Field): (values: Uint8Array) => (i: number) => number {
  const ncpu = map.perCpu ? possibleCpus() : 1;
  const stride = map.perCpu ? (map.valueSize + 7) & ~7 : map.valueSize;
  const entry = stride * ncpu;
  const off = f.offset;
  const size = f.shape.size;
  const signed = f.shape.signed;
  if (ncpu === 1) {
    return (values) => {
      const r = intReader(values, size, signed);
      return (i) => r(i * entry + off);
    };
  }
  return (values) => {
    const r = intReader(values, size, signed);
    return (i) => {
      let sum = 0;
      const base = i * entry + off;
      for (let c = 0; c < ncpu; c++) sum += r(base + c * stride);
      return sum;
    };
  };
}

/**
 * Bind a metric of the config to its map, checking everything the map's BTF can tell.
 *
 * @param spec The metric.
 * @param map The map it reads.
 * @param where The config path, for errors (e.g. `metrics[0] (bpfsh_execs_total)`).
 * @returns The reader.
 * @throws {BpfError} op `serve config`: a map type that holds no metrics, an unknown or
 *   wrongly typed field, a decoder that does not fit, a bucket layout the map disagrees with.
 * @example
 * ```ts
 * const m = bindMetric(cfg.metrics[0], obj.map("execs"), "metrics[0]");
 * m.read(); // [{ labels: ["bash", "0"], value: 12 }]
 * ```
 */
export function bindMetric(spec: MetricSpec, map: BpfMap, where: string): MetricReader {
  if (!READABLE.has(map.type)) {
    throw fail(
      `${where}: map '${map.name}' is a ${map.type} map, which holds no values to read`,
      `metrics read ${[...READABLE].join(", ")} maps; ring and perf buffers go under events:`,
    );
  }
  const keyWhat = `key of map '${map.name}'`;
  const valueWhat = `value of map '${map.name}'`;
  const key = (path: string | undefined, at: string) =>
    resolveField(map.btf, map.keyTypeId, map.keySize, path, keyWhat, at);
  const value = (path: string | undefined, at: string) =>
    resolveField(map.btf, map.valueTypeId, map.valueSize, path, valueWhat, at);

  const labels: BoundLabel[] = spec.labels.map((l, i) => {
    const at = `${where}.labels[${i}] (${l.name})`;
    const field = key(l.field, at);
    return { field, decode: labelDecoder(l.decoders, field.shape, at) };
  });
  const labelNames = spec.labels.map((l) => l.name);
  const keyLabels = (keys: Uint8Array) => {
    const ks = map.keySize;
    const fns = labels.map((l) => {
      const read = fieldValues(map, l.field)(keys);
      const off = l.field.offset;
      const decode = l.decode;
      return (i: number) => {
        const at = i * ks + off;
        return decode(read(at), keys, at);
      };
    });
    return (i: number): string[] | null => {
      const out = new Array<string>(fns.length);
      for (let j = 0; j < fns.length; j++) {
        const v = fns[j](i);
        if (v === null) return null;
        out[j] = v;
      }
      return out;
    };
  };

  if (spec.type !== "histogram") {
    const vf = value(spec.value, `${where}.value`);
    needInt(vf, spec.value ? `value field '${spec.value}'` : `the ${valueWhat}`, where);
    const values = summedInts(map, vf);
    return {
      spec,
      labelNames,
      read(): ScalarRow[] {
        const rows = new Map<string, ScalarRow>();
        for (const b of map.rawBatches()) {
          const lab = keyLabels(b.keys);
          const val = values(b.values);
          for (let i = 0; i < b.count; i++) {
            const l = lab(i);
            if (!l) continue;
            const id = l.join("\0");
            const row = rows.get(id);
            if (row) row.value += val(i);
            else rows.set(id, { labels: l, value: val(i) });
          }
        }
        return [...rows.values()];
      },
    };
  }
  return bindHistogram(spec, map, where, labelNames, keyLabels, key, value);
}

function bindHistogram(
  spec: MetricSpec,
  map: BpfMap,
  where: string,
  labelNames: string[],
  keyLabels: (keys: Uint8Array) => (i: number) => string[] | null,
  key: (path: string | undefined, at: string) => Field,
  value: (path: string | undefined, at: string) => Field,
): MetricReader {
  const bs = spec.buckets!;
  const sumField = spec.sum ? value(spec.sum, `${where}.sum`) : undefined;
  if (sumField) needInt(sumField, `sum field '${spec.sum}'`, where);
  const sums = sumField ? summedInts(map, sumField) : undefined;
  // The sum is in the program's unit, like the slots: scaled as the bounds are.
  const unit = bs.multiplier;
  const vf = value(spec.value, `${where}.value`);
  /** The reader of a layout, adding each entry's counts to its series with `add`. */
  const histogram = (
    layout: BucketLayout,
    add: (b: RawBatch) => (counts: Float64Array, i: number) => void,
  ): MetricReader => ({
    spec,
    labelNames,
    layout,
    read: () => readHistogram(map, keyLabels, layout.le.length + 1, sums, unit, add),
  });

  // Where the slot is: a key field, the whole key (an integer key, scalar counts), or the
  // index into an array of counts (the value, or a value field).
  let sf: Field | undefined;
  if (bs.field) {
    sf = key(bs.field, `${where}.buckets.field`);
    needInt(sf, `the slot field '${bs.field}'`, where);
    if (spec.labels.some((l) => l.field === bs.field)) {
      throw fail(`${where}: the slot field '${bs.field}' cannot also be a label`);
    }
  } else if (!vf.elements) {
    const whole = key(undefined, `${where}.buckets`);
    const scalarCounts = vf.shape.kind === "int";
    if (!scalarCounts || whole.shape.kind !== "int" || spec.labels.some((l) => !l.field)) {
      throw fail(
        `bucket mismatch: ${where}: buckets names no slot field, and the ${
          spec.value ? `value field '${spec.value}'` : valueWhat(map)
        } is not an array of counts`,
        vf.members
          ? `name the array of counts as value: (the value's fields: ${vf.members.join(", ")})`
          : "name the key field holding the slot as buckets.field, or the array of counts as value:",
      );
    }
    sf = whole;
  }
  if (sf) {
    const slotName = bs.field ?? "key";
    const layout = bucketLayout(bs, undefined, where);
    const top = layout.min + layout.le.length - 1;
    if (sf.shape.size < 4 && top >= 2 ** (8 * sf.shape.size)) {
      throw fail(
        `bucket mismatch: ${where}: slot ${top} does not fit the ${sf.shape.size}-byte ` +
          `slot '${slotName}'`,
        `lower buckets.max`,
      );
    }
    needInt(vf, spec.value ? `value field '${spec.value}'` : `the ${valueWhat(map)}`, where);
    const counts = summedInts(map, vf);
    const slotSize = sf.shape.size;
    const slotSigned = sf.shape.signed;
    const slotAt = sf.offset;
    const ks = map.keySize;
    return histogram(layout, (b) => {
      const slot = intReader(b.keys, slotSize, slotSigned);
      const cnt = counts(b.values);
      return (row, i) => {
        row[bucketOf(layout, slot(i * ks + slotAt))] += cnt(i);
      };
    });
  }

  // The value (or a value field) is an array of counts, one per slot.
  const el = vf.elements!;
  const layout = bucketLayout(bs, el.count, where);
  const ncpu = map.perCpu ? possibleCpus() : 1;
  const stride = map.perCpu ? (map.valueSize + 7) & ~7 : map.valueSize;
  const entry = stride * ncpu;
  const bucketOfSlot = Array.from({ length: el.count }, (_, j) => bucketOf(layout, layout.min + j));
  return histogram(layout, (b) => {
    const r = intReader(b.values, el.size, el.signed);
    return (row, i) => {
      for (let c = 0; c < ncpu; c++) {
        const base = i * entry + c * stride + vf.offset;
        for (let j = 0; j < el.count; j++) row[bucketOfSlot[j]] += r(base + j * el.size);
      }
    };
  });
}

/**
 * Read a histogram map: series by their labels, each entry's counts added by `add`.
 *
 * @param map The map.
 * @param keyLabels The label decoder of a batch's keys.
 * @param nb Buckets per series, +Inf included.
 * @param sums The sum field's reader, when the value has one.
 * @param unit What the sum is scaled by.
 * @param add Per batch: adds entry i's counts to a series' buckets.
 * @returns The series.
 */
function readHistogram(
  map: BpfMap,
  keyLabels: (keys: Uint8Array) => (i: number) => string[] | null,
  nb: number,
  sums: ((values: Uint8Array) => (i: number) => number) | undefined,
  unit: number,
  add: (b: RawBatch) => (counts: Float64Array, i: number) => void,
): HistogramRow[] {
  const rows = new Map<string, HistogramRow>();
  for (const b of map.rawBatches()) {
    const lab = keyLabels(b.keys);
    const addCounts = add(b);
    const sum = sums?.(b.values);
    for (let i = 0; i < b.count; i++) {
      const l = lab(i);
      if (!l) continue;
      const id = l.join("\0");
      let row = rows.get(id);
      if (!row) {
        row = { labels: l, counts: new Float64Array(nb), sum: sum ? 0 : undefined };
        rows.set(id, row);
      }
      addCounts(row.counts, i);
      if (sum) row.sum! += sum(i) * unit;
    }
  }
  return [...rows.values()];
}

function valueWhat(map: BpfMap): string {
  return `value of map '${map.name}'`;
}
