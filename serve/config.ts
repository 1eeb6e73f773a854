/**
 * The `bpfsh serve` configuration: what to load, which maps become which Prometheus
 * metrics, and which event streams become OpenTelemetry logs. Parsed from YAML and
 * validated with a zod schema before anything is loaded; what needs the object (map names,
 * key fields, bucket layouts) is checked next by {@link bindMetrics}.
 *
 * ```yaml
 * object: execs.bpf.c              # .bpf.c (compiled, cached) or .o, relative to this file
 * globals: { min_uid: 0 }          # set before load
 * attach: all                      # all | none | [program | {program, target}]
 * metrics:
 *   - name: bpfsh_execs_total
 *     help: Execs by command and uid
 *     type: counter                # counter | gauge | histogram
 *     map: execs
 *     value: count                 # a value field (default: the value; per-CPU summed)
 *     labels:
 *       - { name: comm, field: comm }             # char[] → string by default
 *       - { name: uid, field: uid, decoders: [uint] }
 *   - name: bpfsh_syscall_latency_seconds
 *     type: histogram
 *     map: latency
 *     buckets: { type: log2, field: slot, max: 40, multiplier: 1e-9 }
 *     labels: [{ name: syscall, field: nr, decoders: [syscall] }]
 * events:
 *   - { ringbuf: events, name: exec, fields: [pid, comm] }
 * ```
 *
 * Or a probe-language program, whose maps are served with no metric config:
 *
 * ```yaml
 * probe: |                         # or object: execs.bt
 *   tracepoint:sched:sched_process_exec { @execs[comm] = count(); }
 * params: [100]                    # $1, $2, … (optional)
 * ```
 *
 * @module
 */

import { z } from "zod";
import { BpfError } from "../ffi/errors.ts";

/** Names of the decoders that take no parameter. */
export const DECODER_NAMES = [
  "uint",
  "int",
  "hex",
  "string",
  "comm",
  "syscall",
  "errno",
  "ksym",
  "inet",
  "cgroup",
] as const;

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const FIELD_PATH = /^[A-Za-z_]\w*(\[\d+\])*(\.[A-Za-z_]\w*(\[\d+\])*)*$/;

const fieldPath = z.string().regex(FIELD_PATH, "must be a field name or a dotted path (a.b[2].c)");

const regexpSource = z.string().refine((s) => {
  try {
    new RegExp(s);
    return true;
  } catch {
    return false;
  }
}, "is not a valid regular expression");

const decoder = z.union([
  z.enum(DECODER_NAMES, { error: () => `must be one of ${DECODER_NAMES.join(", ")}` }),
  z.strictObject({
    static: z.record(z.string(), z.union([z.string(), z.number()])),
    default: z.string().optional(),
  }),
  z.strictObject({ regexp: regexpSource, replace: z.string().optional() }),
], {
  error: () =>
    `a decoder is a name (${DECODER_NAMES.join(", ")}), {static: {...}} or {regexp: ...}`,
});

const label = z.strictObject({
  name: z.string().regex(LABEL_NAME, "must match [a-zA-Z_][a-zA-Z0-9_]*").refine(
    (n) => !n.startsWith("__"),
    "names starting with __ are reserved by Prometheus",
  ),
  field: fieldPath.optional(),
  decoders: z.array(decoder).optional(),
});

const positive = z.number().refine((n) => Number.isFinite(n) && n > 0, "must be above 0");
const slot = z.number().int().min(0).max(4096);

const buckets = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("log2"),
    field: fieldPath.optional(),
    min: slot.default(0),
    max: slot.optional(),
    multiplier: positive.default(1),
  }),
  z.strictObject({
    type: z.literal("linear"),
    field: fieldPath.optional(),
    min: slot.default(0),
    max: slot.optional(),
    step: positive.default(1),
    multiplier: positive.default(1),
  }),
  z.strictObject({
    type: z.literal("fixed"),
    field: fieldPath.optional(),
    bounds: z.array(z.number()).min(1).refine(
      (b) => b.every((x, i) => i === 0 || x > b[i - 1]),
      "must be in ascending order",
    ),
    multiplier: positive.default(1),
  }),
], { error: () => "buckets.type must be log2, linear or fixed" });

const metric = z.strictObject({
  name: z.string().regex(METRIC_NAME, "must match [a-zA-Z_:][a-zA-Z0-9_:]*"),
  help: z.string().optional(),
  type: z.enum(["counter", "gauge", "histogram"], {
    error: () => "must be counter, gauge or histogram",
  }),
  map: z.string().min(1),
  value: fieldPath.optional(),
  labels: z.array(label).default([]),
  buckets: buckets.optional(),
  sum: fieldPath.optional(),
}).superRefine((m, ctx) => {
  if (m.type === "histogram" && !m.buckets) {
    ctx.addIssue({ code: "custom", path: ["buckets"], message: "a histogram needs buckets" });
  }
  if (m.type !== "histogram" && m.buckets) {
    ctx.addIssue({ code: "custom", path: ["buckets"], message: `a ${m.type} has no buckets` });
  }
  if (m.type !== "histogram" && m.sum) {
    ctx.addIssue({ code: "custom", path: ["sum"], message: "only a histogram has a sum" });
  }
  const seen = new Set<string>();
  m.labels.forEach((l, i) => {
    if (seen.has(l.name)) {
      ctx.addIssue({ code: "custom", path: ["labels", i, "name"], message: "is repeated" });
    }
    seen.add(l.name);
    if (m.type === "histogram" && l.name === "le") {
      ctx.addIssue({
        code: "custom",
        path: ["labels", i, "name"],
        message: "'le' is the bucket label of a histogram",
      });
    }
  });
});

const attach = z.union([
  z.enum(["all", "none"]),
  z.array(z.union([
    z.string().min(1),
    z.strictObject({ program: z.string().min(1), target: z.string().min(1).optional() }),
  ])),
], { error: () => "attach must be all, none or a list of programs" });

const event = z.strictObject({
  ringbuf: z.string().min(1).optional(),
  perfbuf: z.string().min(1).optional(),
  trace_pipe: z.union([z.boolean(), regexpSource]).optional(),
  type: z.string().min(1).optional(),
  name: z.string().min(1).optional(),
  fields: z.array(fieldPath).optional(),
  decoders: z.record(z.string(), z.array(decoder)).optional(),
}).superRefine((e, ctx) => {
  const sources = [e.ringbuf, e.perfbuf, e.trace_pipe].filter((s) => s !== undefined);
  if (sources.length !== 1) {
    ctx.addIssue({
      code: "custom",
      path: [],
      message: "an event source names exactly one of ringbuf, perfbuf or trace_pipe",
    });
  }
});

const config = z.strictObject({
  object: z.string().min(1).optional(),
  probe: z.string().min(1).optional(),
  params: z.array(z.union([z.string(), z.number()]).transform(String)).optional(),
  name: z.string().regex(/^[\w.-]+$/, "must be a plain name").optional(),
  globals: z.record(z.string(), z.unknown()).optional(),
  attach: attach.default("all"),
  metrics: z.array(metric).default([]),
  events: z.array(event).default([]),
}).superRefine((c, ctx) => {
  if ((c.object === undefined) === (c.probe === undefined)) {
    ctx.addIssue({
      code: "custom",
      path: [],
      message: "a config names either object: (a .bpf.c, .o or .bt file) or probe: (a program)",
    });
    return;
  }
  if (isProbeConfig(c)) return;
  if (c.params) {
    ctx.addIssue({ code: "custom", path: ["params"], message: "only a probe program has params" });
  }
  const seen = new Set<string>();
  c.metrics.forEach((m, i) => {
    if (seen.has(m.name)) {
      ctx.addIssue({ code: "custom", path: ["metrics", i, "name"], message: "is repeated" });
    }
    seen.add(m.name);
  });
  if (!c.metrics.length && !c.events.length) {
    ctx.addIssue({ code: "custom", path: [], message: "the config serves no metric and no event" });
  }
});

/** Keys that only a BPF object's config has (a probe program's maps are served as they are). */
const OBJECT_KEYS = ["globals", "attach", "metrics", "events"] as const;

/**
 * Whether a config runs a probe-language program: `probe:` text, or an `object:` that is
 * a `.bt` file.
 *
 * @param c The config.
 * @returns True for a probe program.
 * @example
 * ```ts
 * isProbeConfig({ object: "execs.bt" }); // true
 * ```
 */
export function isProbeConfig(c: { object?: string; probe?: string }): boolean {
  return c.probe !== undefined || /\.bt$/.test(c.object ?? "");
}

/** A label decoder as written in the config. */
export type DecoderSpec = z.infer<typeof decoder>;
/** One label of a metric: a key field through a chain of decoders. */
export type LabelSpec = z.infer<typeof label>;
/** How a histogram's slots map to Prometheus buckets. */
export type BucketSpec = z.infer<typeof buckets>;
/** One metric read from one map. */
export type MetricSpec = z.infer<typeof metric>;
/** One event stream exported as OpenTelemetry logs. */
export type EventSpec = z.infer<typeof event>;
/** A whole validated config, with the directory its relative paths start from. */
export type ServeConfig = z.infer<typeof config> & { baseDir: string; source: string };

/**
 * Validate a parsed config.
 *
 * @param raw The YAML document, parsed.
 * @param source Where it came from, for messages.
 * @param baseDir The directory relative paths start from.
 * @returns The config with defaults filled in.
 * @throws {BpfError} op `serve config` listing every problem with its path.
 * @example
 * ```ts
 * const cfg = validateConfig({ object: "x.bpf.c", metrics: [] }, "x.yaml", ".");
 * ```
 */
export function validateConfig(raw: unknown, source: string, baseDir: string): ServeConfig {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new BpfError({
      op: "serve config",
      message: `'${source}' must be a YAML mapping`,
      hint: "it needs at least `object:` and `metrics:` or `events:`",
    });
  }
  const got = config.safeParse(raw);
  if (!got.success) {
    const lines = got.error.issues.map((i) => `${pathText(i.path)}${i.message}`);
    throw new BpfError({
      op: "serve config",
      message: `'${source}': ${lines.join("; ")}`,
      hint: "see the serve section of the README for every key",
    });
  }
  if (isProbeConfig(got.data)) {
    const extra = OBJECT_KEYS.filter((k) => k in raw);
    if (extra.length) {
      throw new BpfError({
        op: "serve config",
        message: `'${source}': ${extra.join(", ")}: a probe program's maps are served as ` +
          "they are, so it takes none of these",
        hint: "keep object: or probe:, params: and name:; globals:, attach:, metrics: and " +
          "events: are for BPF objects",
      });
    }
  }
  return { ...got.data, baseDir, source };
}

function pathText(path: PropertyKey[]): string {
  let s = "";
  for (const p of path) s += typeof p === "number" ? `[${p}]` : s ? `.${String(p)}` : String(p);
  return s ? `${s}: ` : "";
}

/**
 * Read a file serve was given (a config, a probe program).
 *
 * @param path The file.
 * @param source Who named it, for the message (a config naming a `.bt` file).
 * @returns Its text.
 * @throws {BpfError} op `serve config` when it cannot be read.
 * @example
 * ```ts
 * const text = await readServeFile("execs.bt", "execs.yaml");
 * ```
 */
export async function readServeFile(path: string, source?: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    throw new BpfError({
      op: "serve config",
      message: `${source ? `${source}: ` : ""}cannot read '${path}': ${(e as Error).message}`,
    });
  }
}

/**
 * Read, parse and validate a config file.
 *
 * @param path The YAML file.
 * @returns The config; relative paths in it start from the file's directory.
 * @throws {BpfError} op `serve config` when the file cannot be read, is not YAML or is not
 *   a valid config.
 * @example
 * ```ts
 * const cfg = await loadConfig("examples/execs.yaml");
 * cfg.metrics[0].name; // "bpfsh_execs_total"
 * ```
 */
export async function loadConfig(path: string): Promise<ServeConfig> {
  const text = await readServeFile(path);
  const { parse } = await import("yaml");
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (e) {
    throw new BpfError({
      op: "serve config",
      message: `'${path}' is not valid YAML: ${
        (e as Error).message.split("\n")[0].replace(/:$/, "")
      }`,
    });
  }
  const slash = path.lastIndexOf("/");
  return validateConfig(raw, path, slash < 0 ? "." : path.slice(0, slash) || "/");
}
