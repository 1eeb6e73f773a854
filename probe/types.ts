/**
 * The types of the probe language, and the table of special value kinds.
 *
 * Integers (`int64`, `uint32`, …) and strings (`string[64]`) are built in. Everything
 * else a builtin can produce (`probe`, `func`, `kstack`/`ustack`, …) is a
 * *special kind*: a fixed-size value the BPF side stores (in map keys, map values and
 * printf records) and user space turns into text. A new kind is one
 * {@link defineKind} call: its size and C type, which printf conversions accept it, and
 * how it prints. The builtins that produce values are in ./builtins.ts, the functions in
 * ./functions.ts; both are tables too.
 *
 * @module
 */

/** A value's type. */
export type Ty =
  | { k: "int"; bits: 8 | 16 | 32 | 64; signed: boolean }
  | { k: "str"; size: number }
  /** A pointer read from a tracepoint field or an argument: an address (u64) whose
   * target `str()` can read; `user` when it points into the traced process. */
  | { k: "ptr"; to: string; user: boolean }
  /** A special kind from {@link KINDS}, e.g. `probe`. */
  | { k: "special"; kind: string }
  /** The `args` builtin (only its fields are values). */
  | { k: "args" }
  /** No value (a statement-only call such as `printf()`). */
  | { k: "none" };

/** Integer types by the names casts use. */
export const CAST_TYPES: Map<string, Ty> = new Map(
  ([8, 16, 32, 64] as const).flatMap((bits) => [
    [`int${bits}`, { k: "int", bits, signed: true } as Ty],
    [`uint${bits}`, { k: "int", bits, signed: false } as Ty],
  ]),
);

/** `uint64`. */
export const U64: Ty = { k: "int", bits: 64, signed: false };
/** `int64`. */
export const S64: Ty = { k: "int", bits: 64, signed: true };
/** No value. */
export const NONE: Ty = { k: "none" };

/**
 * A string type of a given size (the NUL included).
 *
 * @param size Bytes.
 * @returns `string[size]`.
 * @example
 * ```ts
 * strTy(16); // the type of comm
 * ```
 */
export function strTy(size: number): Ty {
  return { k: "str", size };
}

/** What user space needs to print a value of a special kind. */
export interface PrintContext {
  /** The probe names, by the ids the BPF side stores for `probe`. */
  probeNames: string[];
  /** Named helpers other kinds need (a symbolizer, a stack map reader, …). */
  extras: Record<string, unknown>;
}

/** A special value kind: how it is stored and printed. */
export interface KindDef {
  /** Its name, as type errors show it (`probe`, `kstack`). */
  name: string;
  /** Bytes it takes in keys, values and records (a multiple of 8 keeps layouts simple). */
  size: number;
  /** The C type stored, e.g. `"__u64"`. */
  cType: string;
  /** The printf conversions it goes with: bpftrace prints symbols and probes with %s. */
  printf: "string" | "integer";
  /** How bpftrace prints it, from the stored bytes. */
  text(view: DataView, offset: number, ctx: PrintContext): string;
  /** How bpftrace prints it in a map key, when that differs from {@link KindDef.text}. */
  keyText?(view: DataView, offset: number, ctx: PrintContext): string;
  /** The value for JavaScript (default: the text). */
  value?(view: DataView, offset: number, ctx: PrintContext): unknown;
}

/** The special kinds, by name. */
export const KINDS: Map<string, KindDef> = new Map();

/** Makers of kinds named by their parameters (`kstack(perf, 3)`), asked on first use. */
const KIND_FAMILIES: ((name: string) => KindDef | undefined)[] = [];

/**
 * Add a family of kinds whose names carry parameters: `make` gives the kind of a name it
 * knows, so a spec read back from the cache finds its kinds by name.
 *
 * @param make The kind for a name of the family, else undefined.
 * @example
 * ```ts
 * defineKindFamily((name) => name.startsWith("kstack") ? stackKind(name) : undefined);
 * ```
 */
export function defineKindFamily(make: (name: string) => KindDef | undefined): void {
  KIND_FAMILIES.push(make);
}

/**
 * A special kind by name: a defined kind, or one a family makes.
 *
 * @param name The kind's name, as a type carries it.
 * @returns Its definition.
 * @throws {Error} For a name no kind or family knows (a spec from another version).
 * @example
 * ```ts
 * kindDef("probe").size; // 8
 * ```
 */
export function kindDef(name: string): KindDef {
  let def = KINDS.get(name);
  if (def) return def;
  for (const make of KIND_FAMILIES) {
    def = make(name);
    if (def) {
      KINDS.set(name, def);
      return def;
    }
  }
  throw new Error(`unknown value kind '${name}'`);
}

/**
 * Add a special value kind (see the module notes).
 *
 * @param def The kind.
 * @returns The type of its values.
 * @example
 * ```ts
 * defineKind({
 *   name: "probe", size: 8, cType: "__u64", printf: "string",
 *   text: (v, off, ctx) => ctx.probeNames[Number(v.getBigUint64(off, true))] ?? "?",
 * });
 * ```
 */
export function defineKind(def: KindDef): Ty {
  KINDS.set(def.name, def);
  return { k: "special", kind: def.name };
}

/** The `probe` builtin's kind: an index into the program's probe names. */
export const PROBE_TY: Ty = defineKind({
  name: "probe",
  size: 8,
  cType: "__u64",
  printf: "string",
  text: (v, off, ctx) => ctx.probeNames[Number(v.getBigUint64(off, true))] ?? "?",
});

/** The `func` builtin's kind: like `probe`, the function each expanded probe traces. */
export const FUNC_TY: Ty = defineKind({
  name: "func",
  size: 8,
  cType: "__u64",
  printf: "string",
  text: (v, off, ctx) => {
    const names = ctx.extras.funcNames as string[] | undefined;
    return names?.[Number(v.getBigUint64(off, true))] ?? "?";
  },
});

/**
 * The name type errors use, as bpftrace spells it.
 *
 * @param t A type.
 * @returns e.g. `"uint64"`, `"string[16]"`, `"probe"`.
 * @example
 * ```ts
 * tyName({ k: "int", bits: 32, signed: true }); // "int32"
 * ```
 */
export function tyName(t: Ty): string {
  switch (t.k) {
    case "int":
      return `${t.signed ? "" : "u"}int${t.bits}`;
    case "str":
      return `string[${t.size}]`;
    case "ptr":
      return `${t.to} *`;
    case "special":
      return t.kind;
    case "args":
      return "args";
    case "none":
      return "none";
  }
}

/**
 * Whether a type takes part in arithmetic and comparisons as an integer.
 *
 * @param t A type.
 * @returns True for integers and pointers.
 * @example
 * ```ts
 * isInteger(U64); // true
 * ```
 */
export function isInteger(t: Ty): boolean {
  return t.k === "int" || t.k === "ptr";
}

/**
 * Bytes a value of this type takes in a map key, value or printf record: integers are
 * widened to 64 bits there, as bpftrace does.
 *
 * @param t A value type (not none/args).
 * @returns The size.
 * @example
 * ```ts
 * storedSize(strTy(16)); // 16
 * ```
 */
export function storedSize(t: Ty): number {
  switch (t.k) {
    case "int":
    case "ptr":
      return 8;
    case "str":
      return t.size;
    case "special":
      return kindDef(t.kind).size;
    default:
      return 0;
  }
}

/**
 * The C type a stored value has in keys, values and records.
 *
 * @param t A value type.
 * @returns e.g. `"__s64"`, `"__u64"`, `"char"` (strings are `char name[size]`).
 * @example
 * ```ts
 * storedCType(S64); // "__s64"
 * ```
 */
export function storedCType(t: Ty): string {
  switch (t.k) {
    case "int":
      return t.signed ? "__s64" : "__u64";
    case "ptr":
      return "__u64";
    case "str":
      return "char";
    case "special":
      return kindDef(t.kind).cType;
    default:
      return "__u64";
  }
}

/**
 * Whether two value types can live in the same map slot or variable.
 *
 * @param a One type.
 * @param b The other.
 * @returns True when they agree in kind (strings of any sizes agree).
 * @example
 * ```ts
 * sameKind(strTy(16), strTy(64)); // true
 * ```
 */
export function sameKind(a: Ty, b: Ty): boolean {
  if (isInteger(a) && isInteger(b)) return true;
  if (a.k === "special" && b.k === "special") return a.kind === b.kind;
  return a.k === b.k;
}
