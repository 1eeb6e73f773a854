/**
 * Label decoders: a key field's value (as the BTF codec decoded it, plus its raw bytes) to
 * a Prometheus label value, through a chain of decoders applied first to last. A decoder
 * may drop the series (a `regexp` that does not match).
 *
 * @module
 */

import { BpfError } from "../ffi/errors.ts";
import { syscallName } from "../bpf/system/syscalls.ts";
import { errnoSymbol } from "../bpf/system/errnos.ts";
import type { DecoderSpec } from "./config.ts";
import { cgroupPath } from "./cgroups.ts";
import { ksym } from "../bpf/stack/kallsyms.ts";

/** What a decoder sees of a field: its decoded value and where its bytes are. */
export interface FieldValue {
  /** The value the BTF codec decoded (number, bigint, string, boolean, array, object). */
  value: unknown;
  /** The buffer the field's bytes are in. */
  bytes: Uint8Array;
  /** Where the field starts in `bytes`. */
  at: number;
}

/** How a field is typed, which decides its default decoder and what decoders accept. */
export interface FieldShape {
  /** `int` (also bool), `enum`, `string` (a char array), `array`, `struct`. */
  kind: "int" | "enum" | "string" | "array" | "struct";
  /** Size in bytes. */
  size: number;
  /** Whether an integer is signed. */
  signed?: boolean;
  /** Enumerator names by value, for enums. */
  enumerators?: Map<number | bigint, string>;
}

/**
 * One decoding step: the field's value (the first step) or the previous step's text, to
 * text; null drops the series. `at` is where the field's bytes start in `bytes` for the
 * first step, and -1 for the later ones.
 */
type Step = (v: unknown, bytes: Uint8Array, at: number) => string | null;

/** A label's whole decoder chain: `(value, bytes, at)` of the field to its label value. */
export type LabelDecoder = (value: unknown, bytes: Uint8Array, at: number) => string | null;

const NO_BYTES = new Uint8Array(0);

/** Resolve a kernel address to the name of the function it is in. */
export type KsymResolver = (address: bigint) => string;

let ksymResolver: KsymResolver = ksym;

/**
 * Replace the `ksym` decoder's symbolizer (default: /proc/kallsyms, through
 * bpf/stack/kallsyms.ts); for tests.
 *
 * @param resolve Address → symbol name; undefined restores the default.
 * @example
 * ```ts
 * setKsymResolver((a) => (a === 0xffffffff81000000n ? "_stext" : `0x${a.toString(16)}`));
 * ```
 */
export function setKsymResolver(resolve: KsymResolver | undefined): void {
  ksymResolver = resolve ?? ksym;
}

function num(v: unknown): number | bigint {
  if (typeof v === "number" || typeof v === "bigint") return v;
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "string" && /^-?\d+$/.test(v)) return BigInt(v);
  throw new Error(`${JSON.stringify(v)} is not an integer`);
}

function unsigned(v: unknown, size: number): string {
  const n = num(v);
  if (typeof n === "number" && n >= 0) return String(n);
  return String(BigInt.asUintN(size * 8, BigInt(n)));
}

function text(v: unknown): string {
  if (typeof v === "string") return v;
  if (typeof v === "bigint" || typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v) && v.every((x) => typeof x === "number")) {
    const bytes = Uint8Array.from(v as number[]);
    const nul = bytes.indexOf(0);
    return new TextDecoder().decode(nul < 0 ? bytes : bytes.subarray(0, nul));
  }
  return JSON.stringify(v, (_k, x) => typeof x === "bigint" ? String(x) : x);
}

/** IPv4 dotted or IPv6 text of 4 or 16 bytes in network order. */
export function inetText(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length !== 16) throw new Error(`an address has 4 or 16 bytes, not ${b.length}`);
  if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) {
    return `::ffff:${inetText(b.subarray(12))}`;
  }
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((b[i] << 8) | b[i + 1]);
  // The longest run of two or more zero words becomes "::" (RFC 5952).
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}

/** Decoders that read an integer field (a later step may still get their text). */
const NUMERIC = new Set<unknown>(["uint", "int", "hex", "syscall", "errno", "ksym", "cgroup"]);

function step(spec: DecoderSpec, shape: FieldShape, where: string): Step {
  if (typeof spec === "object" && "static" in spec) {
    const table = new Map(Object.entries(spec.static).map(([k, v]) => [k, String(v)]));
    const fallback = spec.default;
    return (v) => table.get(text(v)) ?? fallback ?? text(v);
  }
  if (typeof spec === "object" && "regexp" in spec) {
    const re = new RegExp(spec.regexp);
    const replace = spec.replace;
    return (v) => {
      const s = text(v);
      if (!re.test(s)) return null;
      return replace === undefined ? s : s.replace(re, replace);
    };
  }
  const size = shape.size;
  if (NUMERIC.has(spec) && shape.kind !== "int" && shape.kind !== "enum") {
    throw bindError(
      `${where}: the ${spec} decoder reads an integer, and the field is ${
        shape.kind === "string" ? "a string" : shape.kind === "array" ? "an array" : "a struct"
      }`,
      shape.kind === "string" ? "use string, static or regexp for strings" : undefined,
    );
  }
  switch (spec) {
    case "uint":
      return (v) => unsigned(v, size);
    case "int":
      return (v) => String(num(v));
    case "hex":
      return (v) => `0x${BigInt(unsigned(v, size)).toString(16)}`;
    case "string":
    case "comm":
      return (v) => text(v);
    case "syscall":
      return (v) => syscallName(Number(num(v)));
    case "errno":
      return (v) => {
        const n = Number(num(v));
        return n === 0 ? "0" : errnoSymbol(n);
      };
    case "ksym":
      return (v) => ksymResolver(BigInt(unsigned(v, size)));
    case "inet":
      if (size !== 4 && size !== 16) {
        throw bindError(`${where}: inet needs a 4- or 16-byte field, this one has ${size}`);
      }
      return (v, bytes, at) => at >= 0 ? inetText(bytes.subarray(at, at + size)) : text(v);
    case "cgroup":
      return (v) => {
        const id = BigInt(unsigned(v, size));
        return cgroupPath(id) ?? String(id);
      };
  }
  throw bindError(`${where}: unknown decoder '${String(spec)}'`);
}

function bindError(message: string, hint?: string): BpfError {
  return new BpfError({ op: "serve config", message, hint });
}

/**
 * The default text of a field when the config gives no decoder.
 *
 * @param shape The field's type.
 * @param where The label, for errors.
 * @returns A decoding step.
 */
function defaultStep(shape: FieldShape, where: string): Step {
  switch (shape.kind) {
    case "int":
      return shape.signed ? (v) => String(num(v)) : (v) => unsigned(v, shape.size);
    case "enum": {
      const names = shape.enumerators ?? new Map();
      return (v) => names.get(v as number) ?? String(v);
    }
    case "string":
      return (v) => text(v);
    default:
      throw bindError(
        `${where}: the field is ${shape.kind === "array" ? "an array" : "a struct"}`,
        "name one of its members (a.b, a[0]) or give decoders (inet, string)",
      );
  }
}

/**
 * Build the decoder chain of one label.
 *
 * @param specs The label's decoders (none: by the field's type).
 * @param shape The field's type.
 * @param where The label, for errors (e.g. `metrics[0].labels[1] (comm)`).
 * @returns `(value, bytes, at)` of the field → the label value; null drops the series.
 * @throws {BpfError} op `serve config` when a decoder does not fit the field.
 * @example
 * ```ts
 * const d = labelDecoder(["syscall"], { kind: "int", size: 4 }, "nr");
 * d(59, new Uint8Array(4), 0); // "execve"
 * ```
 */
export function labelDecoder(
  specs: DecoderSpec[] | undefined,
  shape: FieldShape,
  where: string,
): LabelDecoder {
  const steps = specs?.length ? specs.map((s) => step(s, shape, where)) : [
    defaultStep(shape, where),
  ];
  if (steps.length === 1) {
    const only = steps[0];
    return only;
  }
  return (value, bytes, at) => {
    let v = steps[0](value, bytes, at);
    for (let i = 1; i < steps.length && v !== null; i++) v = steps[i](v, NO_BYTES, -1);
    return v;
  };
}
