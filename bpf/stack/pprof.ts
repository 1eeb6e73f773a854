/**
 * Stacks as a pprof profile (the gzipped protobuf that `go tool pprof`, Pyroscope, Parca and
 * speedscope read), encoded with the npm `pprof-format` package. It is imported on first
 * use, so scripts that never write a profile do not load it.
 *
 * @module
 */

import type { StackSample } from "./folded.ts";
import type { Frame } from "./frame.ts";

/** What the values of a profile measure. */
export interface PprofOptions {
  /** The sample type, e.g. `"samples"`, `"offcpu"`, `"count"` (default `"samples"`). */
  type?: string;
  /** Its unit, e.g. `"count"`, `"nanoseconds"` (default `"count"`). */
  unit?: string;
  /** For sampled profiles: nanoseconds between samples (adds a `cpu` value per sample). */
  periodNanos?: number;
  /** When the profile started, in ms since the epoch (default: now). */
  startMs?: number;
  /** How long it ran, in ms. */
  durationMs?: number;
}

/** A decoded sample of a profile, for checks and conversions. */
export interface PprofSample {
  /** Function names, innermost first. */
  readonly frames: string[];
  /** The values, in sample-type order. */
  readonly values: number[];
  /** The string labels (`comm`) and numeric ones (`pid`). */
  readonly labels: Record<string, string | number>;
}

/**
 * Encode samples as a gzipped pprof profile. Frames are innermost first (kernel frames,
 * then user frames); each distinct function (name and module) is one pprof function, each
 * distinct frame one location. Samples carry `comm` and `pid` labels.
 *
 * @param samples The stacks.
 * @param opts What the values measure.
 * @returns The gzipped protobuf bytes.
 * @example
 * ```ts
 * const user = [{ address: 0x1010n, kernel: false, symbol: "main", offset: 16 }];
 * const bytes = await encodePprof([{ pid: 1, comm: "x", user, kernel: [], value: 5 }], {
 *   periodNanos: 1e9 / 99,
 * });
 * Deno.writeFileSync(await Deno.makeTempFile({ suffix: ".pb.gz" }), bytes);
 * ```
 */
export async function encodePprof(
  samples: Iterable<StackSample>,
  opts: PprofOptions = {},
): Promise<Uint8Array> {
  const pf = await import("pprof-format");
  const strings = new pf.StringTable();
  const functions: InstanceType<typeof pf.Function>[] = [];
  const locations: InstanceType<typeof pf.Location>[] = [];
  const functionIds = new Map<string, number>();
  const locationIds = new Map<string, number>();
  const functionOf = (f: Frame): number => {
    const name = f.symbol ?? `0x${f.address.toString(16)}`;
    const file = f.module ?? (f.kernel ? "[kernel.kallsyms]" : "");
    const key = `${name}\0${file}`;
    let id = functionIds.get(key);
    if (id === undefined) {
      id = functions.length + 1;
      const n = strings.dedup(name);
      functions.push(
        new pf.Function({ id, name: n, systemName: n, filename: strings.dedup(file) }),
      );
      functionIds.set(key, id);
    }
    return id;
  };
  const locationOf = (f: Frame): number => {
    const fn = functionOf(f);
    const key = f.symbol === undefined ? `${fn}@${f.address}` : `${fn}+${f.offset ?? 0}`;
    let id = locationIds.get(key);
    if (id === undefined) {
      id = locations.length + 1;
      locations.push(
        new pf.Location({ id, address: f.address, line: [new pf.Line({ functionId: fn })] }),
      );
      locationIds.set(key, id);
    }
    return id;
  };
  const type = strings.dedup(opts.type ?? "samples");
  const unit = strings.dedup(opts.unit ?? "count");
  const sampleType = [new pf.ValueType({ type, unit })];
  const period = opts.periodNanos;
  if (period) {
    sampleType.push(
      new pf.ValueType({ type: strings.dedup("cpu"), unit: strings.dedup("nanoseconds") }),
    );
  }
  const commKey = strings.dedup("comm"), pidKey = strings.dedup("pid");
  const out: InstanceType<typeof pf.Sample>[] = [];
  for (const s of samples) {
    const locationId = [...s.kernel, ...s.user].map(locationOf);
    const value = period ? [s.value, Math.round(s.value * period)] : [s.value];
    out.push(
      new pf.Sample({
        locationId,
        value,
        label: [
          new pf.Label({ key: commKey, str: strings.dedup(s.comm) }),
          new pf.Label({ key: pidKey, num: s.pid }),
        ],
      }),
    );
  }
  const profile = new pf.Profile({
    sampleType,
    sample: out,
    location: locations,
    function: functions,
    stringTable: strings,
    timeNanos: BigInt(Math.round(opts.startMs ?? Date.now())) * 1000000n,
    durationNanos: BigInt(Math.round((opts.durationMs ?? 0) * 1e6)),
    ...(period
      ? {
        periodType: new pf.ValueType({
          type: strings.dedup("cpu"),
          unit: strings.dedup("nanoseconds"),
        }),
        period: Math.round(period),
      }
      : {}),
  });
  return await gzip(profile.encode(), "compress");
}

/**
 * Decode a (gzipped or plain) pprof profile into samples with function names: to check a
 * profile, or to turn it into something else.
 *
 * @param bytes The file's bytes.
 * @returns The sample types (`type/unit`) and the samples.
 * @example
 * ```ts
 * const user = [{ address: 0x1010n, kernel: false, symbol: "main", offset: 16 }];
 * const bytes = await encodePprof([{ pid: 1, comm: "x", user, kernel: [], value: 5 }]);
 * const { types, samples } = await decodePprof(bytes);
 * [types, samples[0].frames]; // [["samples/count"], ["main"]]
 * ```
 */
export async function decodePprof(
  bytes: Uint8Array,
): Promise<{ types: string[]; samples: PprofSample[] }> {
  const pf = await import("pprof-format");
  const raw = bytes[0] === 0x1f && bytes[1] === 0x8b ? await gzip(bytes, "decompress") : bytes;
  const p = pf.Profile.decode(raw);
  const str = (i: number | bigint) => p.stringTable.strings[Number(i)] ?? "";
  const fnName = new Map(p.function.map((f) => [Number(f.id), str(f.name)]));
  const locFrames = new Map(
    p.location.map((
      l,
    ) => [Number(l.id), l.line.map((ln) => fnName.get(Number(ln.functionId)) ?? "")]),
  );
  return {
    types: p.sampleType.map((t) => `${str(t.type)}/${str(t.unit)}`),
    samples: p.sample.map((s) => ({
      frames: s.locationId.flatMap((id) => locFrames.get(Number(id)) ?? []),
      values: s.value.map(Number),
      labels: Object.fromEntries(
        s.label.map((l) => [str(l.key), Number(l.str) ? str(l.str) : Number(l.num)]),
      ),
    })),
  };
}

/** gzip through the web's (de)compression streams: node:zlib would load Node's compatibility layer. */
async function gzip(bytes: Uint8Array, way: "compress" | "decompress"): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    way === "compress" ? new CompressionStream("gzip") : new DecompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
