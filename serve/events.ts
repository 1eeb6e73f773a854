/**
 * Event streams of the config (ring buffers, perf buffers, `bpf_printk` lines from
 * trace_pipe) read while serving, each event handed on as a flat record of decoded fields
 * (nested structs as `a.b`, label decoders applied where the config asks).
 *
 * @module
 */

import { BpfError } from "../ffi/errors.ts";
import type { BpfObject } from "../bpf/object/object.ts";
import { tracePipe } from "../bpf/events/tracepipe.ts";
import type { EventSpec } from "./config.ts";
import { type FieldShape, type FieldValue, type LabelDecoder, labelDecoder } from "./decoders.ts";

/** A flat event: attribute name → value (what an OpenTelemetry log record carries). */
export type EventFields = Record<string, string | number | boolean | (string | number)[]>;

/** Receives each event. */
export type EventSink = (name: string, fields: EventFields) => void;

/** A stream being read; stop() ends it. */
export interface EventReader {
  /** The event's name. */
  readonly name: string;
  /** Events read so far. */
  readonly count: number;
  /** Stop reading and release the stream. */
  stop(): Promise<void>;
}

function fail(message: string, hint?: string): BpfError {
  return new BpfError({ op: "serve config", message, hint });
}

function scalar(v: unknown): string | number | boolean {
  if (typeof v === "bigint") return Number.isSafeInteger(Number(v)) ? Number(v) : String(v);
  if (typeof v === "number" || typeof v === "string" || typeof v === "boolean") return v;
  return JSON.stringify(v, (_k, x) => typeof x === "bigint" ? String(x) : x);
}

/**
 * Flatten a decoded event into attributes.
 *
 * @param ev The decoded event.
 * @param prefix The key prefix for nested structs.
 * @param out Where to put them.
 * @returns `out`.
 * @example
 * ```ts
 * flattenEvent({ pid: 1, task: { comm: "sh" } }); // { pid: 1, "task.comm": "sh" }
 * ```
 */
export function flattenEvent(ev: unknown, prefix = "", out: EventFields = {}): EventFields {
  if (ev instanceof Uint8Array) {
    out[prefix || "data"] = [...ev].map((b) => b.toString(16).padStart(2, "0")).join("");
    return out;
  }
  if (ev === null || typeof ev !== "object") {
    out[prefix || "value"] = scalar(ev);
    return out;
  }
  if (Array.isArray(ev)) {
    out[prefix || "value"] = ev.every((x) => typeof x === "number" || typeof x === "string")
      ? ev as (string | number)[]
      : ev.map((x) => String(scalar(x)));
    return out;
  }
  for (const [k, v] of Object.entries(ev)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Uint8Array)) {
      flattenEvent(v, key, out);
    } else if (Array.isArray(v) || v instanceof Uint8Array) flattenEvent(v, key, out);
    else out[key] = scalar(v);
  }
  return out;
}

/** A decoded event value as a decoder's input: its bytes rebuilt for `inet`. */
function asField(v: unknown): { f: FieldValue; shape: FieldShape } {
  if (typeof v === "string") {
    return { f: { value: v, bytes: new Uint8Array(0), at: 0 }, shape: { kind: "string", size: 0 } };
  }
  if (Array.isArray(v) && v.every((x) => typeof x === "number")) {
    const wide = v.some((x) => x > 255);
    const bytes = wide ? new Uint8Array(Uint32Array.from(v).buffer) : Uint8Array.from(v);
    return { f: { value: v, bytes, at: 0 }, shape: { kind: "array", size: bytes.length } };
  }
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt.asUintN(64, BigInt(v as number)), true);
  const size = typeof v === "number" && v >= 0 && v <= 0xffffffff ? 4 : 8;
  return { f: { value: v, bytes, at: 0 }, shape: { kind: "int", size, signed: false } };
}

/**
 * Check an event source against the object, before load.
 *
 * @param obj The opened object.
 * @param spec The event source.
 * @param where The config path, for errors.
 * @throws {BpfError} op `serve config`: no such map, not a ring or perf buffer, a field the
 *   event type lacks.
 */
export function checkEvent(obj: BpfObject, spec: EventSpec, where: string): void {
  const name = spec.ringbuf ?? spec.perfbuf;
  if (name === undefined) return;
  const want = spec.ringbuf ? "ringbuf" : "perf_event_array";
  const map = obj.maps.find((m) => m.name === name);
  if (!map) {
    throw fail(
      `${where}: no map named '${name}' in ${obj.name}`,
      `maps: ${obj.maps.map((m) => m.name).join(", ")}`,
    );
  }
  if (map.type !== want) {
    throw fail(`${where}: map '${name}' is a ${map.type} map, not a ${want}`);
  }
  if (spec.type && spec.fields && obj.btf) {
    const struct = obj.btf.find(`struct ${spec.type}`) ?? obj.btf.find(spec.type);
    if (!struct) throw fail(`${where}: no type '${spec.type}' in ${obj.name}'s BTF`);
    for (const f of spec.fields) {
      if (!obj.btf.field(spec.type.startsWith("struct ") ? spec.type : `struct ${spec.type}`, f)) {
        throw fail(`${where}: the event type ${spec.type} has no field '${f}'`);
      }
    }
  }
}

/**
 * Start reading one event source.
 *
 * @param obj The loaded object.
 * @param spec The event source.
 * @param sink Receives each event.
 * @param onError Told when the reader stops on an error.
 * @returns The running reader.
 * @example
 * ```ts
 * const r = startEvents(obj, { ringbuf: "events" }, (name, f) => console.log(name, f));
 * await r.stop();
 * ```
 */
export function startEvents(
  obj: BpfObject,
  spec: EventSpec,
  sink: EventSink,
  onError: (e: unknown) => void = () => {},
): EventReader {
  const name = spec.name ?? spec.ringbuf ?? spec.perfbuf ?? "trace_pipe";
  const decoders = Object.entries(spec.decoders ?? {}).map(([field, chain]) => ({
    field,
    chain,
    decode: undefined as LabelDecoder | undefined,
  }));
  const pick = spec.fields;
  let count = 0;
  const handle = (ev: unknown) => {
    const all = flattenEvent(ev);
    let fields: EventFields = all;
    if (pick) {
      fields = {};
      for (const f of pick) {
        for (const [k, v] of Object.entries(all)) {
          if (k === f || k.startsWith(`${f}.`)) fields[k] = v;
        }
      }
    }
    for (const d of decoders) {
      const raw = (ev as Record<string, unknown>)?.[d.field];
      if (raw === undefined) continue;
      const { f, shape } = asField(raw);
      d.decode ??= labelDecoder(d.chain, shape, `events ${name}.${d.field}`);
      const out = d.decode(f.value, f.bytes, f.at);
      if (out === null) return; // a regexp decoder that does not match drops the event
      fields[d.field] = out;
    }
    count++;
    sink(name, fields);
  };

  const ac = new AbortController();
  let loop: Promise<void>;
  if (spec.trace_pipe !== undefined) {
    const filter = typeof spec.trace_pipe === "string" ? new RegExp(spec.trace_pipe) : undefined;
    loop = (async () => {
      for await (const line of tracePipe({ filter, signal: ac.signal })) {
        handle({ message: line.message, task: line.task, pid: line.pid, cpu: line.cpu });
      }
    })();
  } else {
    const stream = spec.ringbuf
      ? obj.ringbuf(spec.ringbuf, { type: spec.type })
      : obj.perfbuf(spec.perfbuf!, { type: spec.type });
    const cb = spec.ringbuf ? handle : (ev: unknown) => handle((ev as { data: unknown }).data);
    loop = (async () => {
      try {
        while (!ac.signal.aborted) await stream.poll(200, cb);
      } finally {
        stream.close();
      }
    })();
  }
  loop = loop.catch((e) => {
    if (!ac.signal.aborted) onError(e);
  });
  return {
    name,
    get count() {
      return count;
    },
    async stop() {
      ac.abort();
      await loop;
    },
  };
}
