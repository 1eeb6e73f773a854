/**
 * The emit pass: a checked program to readable BPF C (libbpf style: `SEC()` programs,
 * BTF-typed maps, no kernel headers beyond `<linux/bpf.h>` — tracepoint records are
 * declared from their tracefs formats), plus the {@link ProbeSpec} the runner needs.
 *
 * Each probe block becomes an inline body function and one `SEC` wrapper per unit. With
 * `standalone` (what `--emit-c` prints), every attach target gets its own wrapper and
 * section instead, so that loading the C with `load` attaches each one; the runner's
 * build shares one program among a unit's targets and tells them apart by attach cookie.
 *
 * @module
 */

import { AGGREGATION_C, foldC, valueSize } from "./aggregations.ts";
import type { Call, Expr, MapRef, Stmt } from "./ast.ts";
import { BUILTINS } from "./builtins.ts";
import type { CheckedProgram, MapDef } from "./check.ts";
import type { EmitSink } from "./context.ts";
import type { SourceText } from "./diagnostic.ts";
import { FUNCTIONS } from "./functions.ts";
import { usesStackPids } from "./stacks.ts";
import type { ResolvedProgram, Target, Unit } from "./resolve.ts";
import {
  type AttachSpec,
  EVENT,
  EVENTS_MAP,
  HEADER_SIZE,
  type KeySpec,
  LOST_MAP,
  type MapSpec,
  type PrintfSpec,
  type ProbeSpec,
  type ProgramSpec,
} from "./spec.ts";
import type { TracepointField, TracepointFormat } from "./tracefs.ts";
import { mapKeyType, mapValueType } from "./map_types.ts";
import { cIdent, cStructDef, cTypeName } from "./stored_types.ts";
import { isInteger, storedCType, storedSize, type Ty, tyName } from "./types.ts";

/** Options of {@link emit}. */
export interface EmitOptions {
  /** One program per attach target (see the module notes). */
  standalone?: boolean;
  /** The event ring's size in bytes (a power of two, at least a page). */
  ringSize?: number;
  /** Entries of each map (bpftrace's default: 4096). */
  mapKeys?: number;
  /**
   * Only the spec, no C (its `c` is empty): what the direct back end needs, which writes
   * its own instructions from the same layouts.
   */
  specOnly?: boolean;
}

/** The ring's default size. */
export const DEFAULT_RING_SIZE = 1 << 20;
/** Entries per map, as bpftrace's BPFTRACE_MAP_KEYS_MAX. */
export const DEFAULT_MAP_KEYS = 4096;

/** Round up to a multiple of 8 (every stored field is 8-aligned). */
function align8(n: number): number {
  return (n + 7) & ~7;
}

/**
 * A C string literal for any bytes (octal escapes for anything unusual).
 *
 * @param s The string.
 * @returns The literal, quotes included.
 * @example
 * ```ts
 * cString('a"b\n'); // "\"a\\\"b\\012\""
 * ```
 */
export function cString(s: string): string {
  let out = '"';
  for (const b of new TextEncoder().encode(s)) {
    const c = String.fromCharCode(b);
    if (c === '"' || c === "\\") out += "\\" + c;
    else if (b >= 0x20 && b < 0x7f && c !== "?") out += c;
    else out += "\\" + b.toString(8).padStart(3, "0");
  }
  return out + '"';
}

/**
 * The BPF map name of a program's map: `@` → `at_`, `@execs` → `at_execs`.
 *
 * @param name The map as written.
 * @returns The C and BPF name.
 * @example
 * ```ts
 * bpfMapName("@start"); // "at_start"
 * ```
 */
export function bpfMapName(name: string): string {
  return `at_${name.slice(1)}`;
}

/**
 * Emit the C of a checked program.
 *
 * @param src The program text (quoted at the top of the C, and above each probe).
 * @param resolved The resolved program.
 * @param checked Its check results.
 * @param opts Standalone mode, ring and map sizes.
 * @returns The C and the spec the runner needs.
 * @example
 * ```ts
 * const spec = emit(src, resolved, check(src, resolved));
 * console.log(spec.c);
 * ```
 */
export function emit(
  src: SourceText,
  resolved: ResolvedProgram,
  checked: CheckedProgram,
  opts: EmitOptions = {},
): ProbeSpec {
  return new Emitter(src, resolved, checked, opts).run();
}

/** One function being written. */
class FnBody {
  locals: string[] = [];
  lines: string[] = [];
  depth = 1;
  #n = 0;

  local(cType: string, arrayLen?: number): string {
    const name = `t${this.#n++}`;
    this.locals.push(arrayLen ? `${cType} ${name}[${arrayLen}];` : `${cType} ${name};`);
    return name;
  }

  stmt(code: string): void {
    this.lines.push("\t".repeat(this.depth) + code);
  }

  open(code: string): void {
    this.stmt(code ? `${code} {` : "{");
    this.depth++;
  }

  close(suffix = ""): void {
    this.depth--;
    this.stmt("}" + suffix);
  }

  /** Run `f`, returning the statements it added (on one line each) instead of keeping them. */
  capture(f: () => void): string {
    const lines = this.lines;
    const depth = this.depth;
    this.lines = [];
    this.depth = 0;
    try {
      f();
      return this.lines.map((l) => l.trim()).join(" ");
    } finally {
      this.lines = lines;
      this.depth = depth;
    }
  }
}

class Emitter {
  readonly src: SourceText;
  readonly resolved: ResolvedProgram;
  readonly checked: CheckedProgram;
  readonly opts: EmitOptions;
  readonly defs = new Map<string, string>();
  readonly maps: MapSpec[] = [];
  readonly printfs: PrintfSpec[] = [];
  readonly programs: ProgramSpec[] = [];
  readonly bodies: string[] = [];
  usesRing = false;
  usesAggregations = false;
  usesStrings = false;
  // Per unit while emitting it:
  #unit!: Unit;
  #types!: Map<Expr, Ty>;
  #fn!: FnBody;
  #pre: string[][] = [];

  constructor(
    src: SourceText,
    resolved: ResolvedProgram,
    checked: CheckedProgram,
    opts: EmitOptions,
  ) {
    this.src = src;
    this.resolved = resolved;
    this.checked = checked;
    this.opts = opts;
  }

  run(): ProbeSpec {
    for (const def of this.checked.maps.values()) this.maps.push(this.mapSpec(def));
    for (const p of this.checked.printfs) {
      this.printfs.push({
        ...this.printfSpec(p.id, p.format, p.args),
        ...(p.value ? { value: true } : {}),
      });
    }
    for (const u of this.resolved.units) this.unit(u);
    const c = this.opts.specOnly ? "" : this.render();
    const probeCount = this.resolved.units.reduce((n, u) => n + u.targets.length, 0);
    return {
      c,
      maps: this.maps,
      printfs: this.printfs,
      times: this.checked.times,
      programs: this.programs,
      probeNames: this.resolved.probeNames,
      funcNames: this.resolved.funcNames,
      probeCount,
      init: this.checked.usesElapsed ? "bt_init" : undefined,
      cacheable: this.resolved.cacheable,
      ...(usesStackPids(this.defs) ? { stackPids: true } : {}),
    };
  }

  // --- maps ---

  mapSpec(def: MapDef): MapSpec {
    const hasBucket = def.kind === "hist" || def.kind === "lhist";
    const keys: KeySpec[] = [];
    let off = 0;
    for (const k of def.keys) {
      const size = align8(storedSize(k.ty));
      keys.push({ name: k.name, expr: k.expr, type: tyName(k.ty), ty: k.ty, offset: off, size });
      off += size;
    }
    const bucketOffset = hasBucket ? off : undefined;
    if (hasBucket) off += 8;
    const isValue = def.kind === "value";
    const mapType = isValue
      ? "hash"
      : def.kind === "count" && !def.keys.length
      ? "percpu_array"
      : "percpu_hash";
    const keySize = off || (mapType === "percpu_array" ? 4 : 8);
    return {
      name: def.name,
      bpfName: bpfMapName(def.name),
      kind: def.kind,
      mapType,
      keys,
      keySize,
      bucketOffset,
      value: def.value,
      valueType: tyName(def.value),
      valueSize: isValue ? align8(storedSize(def.value)) : valueSize(def.kind),
      signed: def.value.k === "int" && def.value.signed,
      lhist: def.lhist,
      perCpu: !isValue,
      maxEntries: this.opts.mapKeys ?? DEFAULT_MAP_KEYS,
    };
  }

  /** The C declaration of a map and its key struct. */
  mapDecl(m: MapSpec): string {
    const out: string[] = [];
    const key = mapKeyType(m);
    if (key.k === "struct") out.push(cStructDef(key));
    const keyType = cTypeName(key);
    const valueType = cTypeName(mapValueType(m));
    const type = `BPF_MAP_TYPE_${m.mapType.toUpperCase()}`;
    const what = m.kind === "value" ? "" : ` = ${m.kind}()`;
    out.push(
      `/* ${m.name}${
        m.keys.length ? `[${m.keys.map((k) => k.expr).join(", ")}]` : ""
      }${what} */\n` +
        `struct {\n\t__uint(type, ${type});\n\t__uint(max_entries, ${
          m.mapType === "percpu_array" ? 1 : m.maxEntries
        });\n` +
        `\t__type(key, ${keyType});\n\t__type(value, ${valueType});\n} ${m.bpfName} SEC(".maps");\n`,
    );
    return out.join("\n");
  }

  /** A struct member declaration. */
  fieldDecl(t: Ty, name: string, size: number): string {
    return t.k === "str" ? `char ${name}[${size}]` : `${storedCType(t)} ${name}`;
  }

  printfSpec(id: number, format: string, args: Ty[]): PrintfSpec {
    let off = HEADER_SIZE;
    const fields = args.map((ty) => {
      const f = { ty, offset: off };
      off += align8(storedSize(ty));
      return f;
    });
    return { id, format, args: fields, size: off };
  }

  // --- units ---

  unit(u: Unit): void {
    this.#unit = u;
    this.#types = this.checked.types.get(u)!;
    this.#fn = new FnBody();
    const fn = this.#fn;
    const p = u.probe;
    if (this.opts.specOnly) {
      this.wrappers(u, "", "ctx");
      return;
    }
    const vars = this.checked.vars.get(u)!;
    for (const [name, t] of vars) {
      fn.locals.push(
        t.k === "str"
          ? `char v_${name.slice(1)}[${align8(t.size)}] = {};`
          : `${storedCType(t)} v_${name.slice(1)} = 0;`,
      );
    }
    if (p.predicate) fn.stmt(`if (!(${this.int(p.predicate)}))\n\t\treturn 0;`);
    this.stmts(p.body);
    const ctxType = u.format && u.fields.size ? `struct ${tpStructName(u.format)} *` : "void *";
    const ctxName = u.format && u.fields.size ? "args" : "ctx";
    const body = [
      `/* ${
        this.src.text.slice(p.span.start, p.span.end).replace(/\*\//g, "* /").split("\n").join(
          "\n * ",
        )
      } */`,
      `static __always_inline int body_${u.index}(${ctxType}${ctxName}, __u64 bt_target)`,
      "{",
      ...fn.locals.map((l) => `\t${l}`),
      ...(fn.locals.length ? [""] : []),
      ...fn.lines,
      "\treturn 0;",
      "}",
    ].join("\n");
    this.bodies.push(body);
    if (u.format && u.fields.size) {
      this.defs.set(`tp:${tpStructName(u.format)}`, tpStruct(u.format, u));
    }
    this.wrappers(u, ctxType, ctxName);
  }

  wrappers(u: Unit, ctxType: string, ctxName: string): void {
    const standalone = this.opts.standalone ?? false;
    const groups: Target[][] = standalone ? u.targets.map((t) => [t]) : [u.targets];
    groups.forEach((targets, i) => {
      const name = groups.length === 1 ? `probe_${u.index}` : `probe_${u.index}_${i}`;
      const target = targets.length === 1
        ? `${targets[0].id}`
        : u.cookie
        ? `bpf_get_attach_cookie(${ctxName})`
        : `${targets[0].id}`;
      const section = sectionOf(targets[0], standalone);
      const attach: AttachSpec[] = targets.map((t) => attachOf(t));
      this.programs.push({
        name,
        provider: u.provider,
        attach,
        cookie: targets.length > 1 && u.cookie,
        span: u.probe.span,
      });
      this.bodies.push(
        `SEC(${
          cString(section)
        })\nint ${name}(${ctxType}${ctxName})\n{\n\treturn body_${u.index}(${ctxName}, ${target});\n}`,
      );
    });
  }

  // --- statements ---

  stmts(list: Stmt[]): void {
    for (const s of list) this.stmt(s);
  }

  stmt(s: Stmt): void {
    const fn = this.#fn;
    switch (s.kind) {
      case "if":
        fn.open(`if (${this.int(s.cond)})`);
        this.stmts(s.then);
        if (s.otherwise.length) {
          fn.depth--;
          fn.open("} else");
          this.stmts(s.otherwise);
        }
        fn.close();
        return;
      case "assign":
        if (s.target.kind === "var") this.assignVar(s.target.name, s.value, s.op);
        else this.assignMap(s.target, s.value, s.op);
        return;
      case "expr": {
        const e = s.expr;
        if (e.kind === "call" && this.callStatement(e)) return;
        const t = this.#types.get(e)!;
        if (t.k === "str") fn.stmt(`${this.str(e).pre};`);
        else if (t.k !== "none") fn.stmt(`(void)(${this.int(e)});`);
        return;
      }
    }
  }

  assignVar(name: string, value: Expr, op: string | undefined): void {
    const v = `v_${name.slice(1)}`;
    const t = this.checked.vars.get(this.#unit)!.get(name)!;
    if (t.k === "str") {
      this.#fn.stmt(`__builtin_memset(${v}, 0, sizeof(${v}));`);
      this.#fn.stmt(this.strInto(value, v, t.size));
      return;
    }
    const rhs = this.int(value);
    this.#fn.stmt(op ? `${v} = ${this.arith(op, v, rhs, t)};` : `${v} = ${rhs};`);
  }

  assignMap(target: MapRef, value: Expr, op: string | undefined): void {
    const m = this.mapOf(target.name);
    const fn = this.#fn;
    fn.open("");
    const key = this.keyOf(m, target);
    if (value.kind === "call" && m.kind !== "value") {
      this.usesAggregations = true;
      const call = value as Call;
      const arg = call.args[0] ? this.int(call.args[0]) : "0";
      const v = m.kind === "count"
        ? "0"
        : fn.local(m.signed || m.kind === "avg" || m.kind === "stats" ? "__s64" : "__u64");
      if (m.kind !== "count") fn.stmt(`${v} = ${arg};`);
      if (m.kind === "hist") fn.stmt(`${key}.bucket = bt_log2(${v});`);
      if (m.kind === "lhist") {
        const b = m.lhist!;
        fn.stmt(`${key}.bucket = bt_linear(${v}, ${b.min}, ${b.max}, ${b.step});`);
      }
      const slot = fn.local("void *");
      fn.stmt(`${slot} = bt_slot(&${m.bpfName}, &${key});`);
      fn.stmt(foldC(m.kind, slot, v, m.signed));
      fn.close();
      return;
    }
    const val = m.value.k === "str"
      ? fn.local("char", m.valueSize)
      : fn.local(storedCType(m.value));
    if (m.value.k === "str") {
      fn.stmt(`__builtin_memset(${val}, 0, sizeof(${val}));`);
      fn.stmt(this.strInto(value, val, m.value.size));
    } else if (op) {
      const cur = fn.local(`${storedCType(m.value)} *`);
      fn.stmt(`${cur} = bpf_map_lookup_elem(&${m.bpfName}, &${key});`);
      fn.stmt(`${val} = ${this.arith(op, `(${cur} ? *${cur} : 0)`, this.int(value), m.value)};`);
    } else {
      fn.stmt(`${val} = ${this.int(value)};`);
    }
    fn.stmt(`bpf_map_update_elem(&${m.bpfName}, &${key}, &${val}, BPF_ANY);`);
    fn.close();
  }

  /** Declare and fill the key of a map access; returns the key variable. */
  keyOf(m: MapSpec, ref: MapRef): string {
    const fn = this.#fn;
    const hasBucket = m.bucketOffset !== undefined;
    if (!m.keys.length && !hasBucket) {
      const k = fn.local(m.mapType === "percpu_array" ? "__u32" : "__u64");
      fn.stmt(`${k} = 0;`);
      return k;
    }
    if (m.keys.length === 1 && !hasBucket) {
      const kt = m.keys[0];
      if (kt.ty.k === "str") {
        const k = fn.local("char", kt.size);
        fn.stmt(`__builtin_memset(${k}, 0, sizeof(${k}));`);
        fn.stmt(this.strInto(ref.keys[0], k, (kt.ty as { size: number }).size));
        return k;
      }
      const k = fn.local(storedCType(kt.ty));
      fn.stmt(`${k} = ${this.int(ref.keys[0])};`);
      return k;
    }
    const k = fn.local(`struct ${m.bpfName}_key`);
    fn.stmt(`__builtin_memset(&${k}, 0, sizeof(${k}));`);
    m.keys.forEach((kt, i) => {
      const field = `${k}.${cIdent(kt.name)}`;
      if (kt.ty.k === "str") {
        fn.stmt(this.strInto(ref.keys[i], field, (kt.ty as { size: number }).size));
      } else fn.stmt(`${field} = ${this.int(ref.keys[i])};`);
    });
    return k;
  }

  /** The key of a map access as a C statement-expression prefix (for reads inside expressions). */
  keyInline(m: MapSpec, ref: MapRef): { pre: string; key: string } {
    let key = "";
    const pre = this.#fn.capture(() => {
      key = this.keyOf(m, ref);
    });
    return { pre, key };
  }

  mapOf(name: string): MapSpec {
    return this.maps.find((m) => m.name === name)!;
  }

  /** A printf record (printf, print of a value) of a call's arguments into the ring. */
  record(e: Call, args: Expr[]): void {
    const fn = this.#fn;
    const id = this.checked.callIds.get(this.#unit)!.get(e)!;
    const spec = this.printfs[id];
    this.usesRing = true;
    const rec = `struct bt_printf_${id}`;
    this.defs.set(`printf:${id}`, this.printfStruct(spec));
    fn.open("");
    const r = fn.local(`${rec} *`);
    fn.stmt(`${r} = bpf_ringbuf_reserve(&${EVENTS_MAP}, sizeof(*${r}), 0);`);
    fn.open(`if (${r})`);
    fn.stmt(`${r}->hdr.kind = ${EVENT.printf};`);
    fn.stmt(`${r}->hdr.id = ${id};`);
    args.forEach((a, i) => {
      const f = spec.args[i];
      if (f.ty.k === "str") fn.stmt(this.strInto(a, `${r}->a${i}`, f.ty.size, true));
      else fn.stmt(`${r}->a${i} = ${this.int(a)};`);
    });
    fn.stmt(`bpf_ringbuf_submit(${r}, 0);`);
    fn.depth--;
    fn.stmt("} else {");
    fn.depth++;
    fn.stmt("bt_lost_one();");
    fn.close();
    fn.close();
  }

  /** Statement calls; false when the call is a value call used as a statement. */
  callStatement(e: Call): boolean {
    const fn = this.#fn;
    switch (e.name) {
      case "printf":
        this.record(e, e.args.slice(1));
        return true;
      case "exit":
        this.usesRing = true;
        fn.stmt(`bt_event(${EVENT.exit}, 0, 0, 0);`);
        return true;
      case "time": {
        this.usesRing = true;
        const id = this.checked.callIds.get(this.#unit)!.get(e)!;
        fn.stmt(`bt_event(${EVENT.time}, ${id}, 0, 0);`);
        return true;
      }
      case "print":
      case "clear":
      case "zero": {
        if (e.name === "print" && e.args[0].kind !== "map") {
          this.record(e, e.args);
          return true;
        }
        this.usesRing = true;
        const m = this.mapOf((e.args[0] as MapRef).name);
        const idx = this.maps.indexOf(m);
        const top = e.args[1]?.kind === "int" ? e.args[1].value : 0n;
        const div = e.args[2]?.kind === "int" ? e.args[2].value : 0n;
        fn.stmt(`bt_event(${EVENT[e.name]}, ${idx}, ${top}, ${div});`);
        return true;
      }
      case "delete": {
        const ref = e.args[0] as MapRef;
        const m = this.mapOf(ref.name);
        fn.open("");
        const k = this.keyOf(m, ref);
        fn.stmt(`bpf_map_delete_elem(&${m.bpfName}, &${k});`);
        fn.close();
        return true;
      }
      default:
        return false;
    }
  }

  printfStruct(p: PrintfSpec): string {
    const fields = p.args.map((f, i) =>
      `\t${this.fieldDecl(f.ty, `a${i}`, align8(storedSize(f.ty)))};`
    );
    return `/* printf(${
      cString(p.format)
    }, ...) */\nstruct bt_printf_${p.id} {\n\tstruct bt_hdr hdr;\n${fields.join("\n")}${
      fields.length ? "\n" : ""
    }};\n`;
  }

  // --- expressions ---

  sink(): EmitSink {
    const fn = this.#fn;
    return {
      provider: this.#unit.provider,
      ctx: this.#unit.format && this.#unit.fields.size ? "args" : "ctx",
      field: (name) => this.fieldRead(name),
      local: (c, n) => fn.local(c, n),
      stmt: (code) => {
        const pre = this.#pre[this.#pre.length - 1];
        if (pre) pre.push(code);
        else fn.stmt(code);
      },
      define: (name, code) => this.defs.set(name, code),
      targetIndex: () => "bt_target",
      int: (e) => this.int(e),
      str: (e) => {
        const r = this.str(e);
        const pre = this.#pre[this.#pre.length - 1];
        if (pre) pre.push(`${r.pre};`);
        else fn.stmt(`${r.pre};`);
        return { buf: r.buf, size: r.size };
      },
    };
  }

  /** Run `f` collecting the statements sinks emit, and wrap them around its expression. */
  withPre(f: () => string): string {
    const pre: string[] = [];
    this.#pre.push(pre);
    let expr: string;
    try {
      expr = f();
    } finally {
      this.#pre.pop();
    }
    return pre.length ? `({ ${pre.join(" ")} ${expr}; })` : expr;
  }

  /** C for an integer-valued expression (as __s64 or __u64, by its type). */
  int(e: Expr): string {
    const t = this.#types.get(e) ?? { k: "int", bits: 64, signed: true };
    const ct = t.k === "int" && t.signed ? "__s64" : "__u64";
    switch (e.kind) {
      case "int":
        if (e.value === -(1n << 63n)) return "(-9223372036854775807LL - 1)";
        return e.value < 0n || t.k === "int" && t.signed ? `${e.value}LL` : `${e.value}ULL`;
      case "builtin": {
        const def = BUILTINS.get(e.name)!;
        return `((${ct})${def.expr!(this.sink())})`;
      }
      case "var":
        return `v_${e.name.slice(1)}`;
      case "map": {
        const m = this.mapOf(e.name);
        const { pre, key } = this.keyInline(m, e);
        const p = this.#fn.local(`${storedCType(m.value)} *`);
        return `({ ${pre} ${p} = bpf_map_lookup_elem(&${m.bpfName}, &${key}); ${p} ? *${p} : 0; })`;
      }
      case "call": {
        const def = FUNCTIONS.get(e.name)!;
        return this.withPre(() => `((${ct})${def.emit!(this.sink(), e)})`);
      }
      case "binop":
        return this.binop(e, ct);
      case "unop": {
        if (e.op === "++" || e.op === "--") return this.incDec(e.expr, e.op, e.postfix);
        const inner = this.int(e.expr);
        return `((${ct})(${e.op}(${inner})))`;
      }
      case "ternary":
        return `((${ct})((${this.int(e.cond)}) ? (${this.int(e.then)}) : (${
          this.int(e.otherwise)
        })))`;
      case "field":
        return `((${ct})${this.fieldRead(e.field)})`;
      case "index": {
        const f = e.expr as Extract<Expr, { kind: "field" }>;
        return `((${ct})args->${cIdent(f.field)}[${(e.index as { value: bigint }).value}])`;
      }
      case "cast": {
        const bits = t.k === "int" ? t.bits : 64;
        const signed = t.k === "int" && t.signed;
        return `((${ct})(__${signed ? "s" : "u"}${bits})(${this.int(e.expr)}))`;
      }
      default:
        throw new Error(`int(${e.kind})`);
    }
  }

  fieldRead(name: string): string {
    const f = this.#unit.fields.get(name)!;
    if (f.dataLoc) return `((__u64)((char *)args + (args->${cIdent(name)} & 0xffff)))`;
    return `args->${cIdent(name)}`;
  }

  binop(e: Extract<Expr, { kind: "binop" }>, ct: string): string {
    const lt = this.#types.get(e.left)!;
    const rt = this.#types.get(e.right)!;
    if (lt.k === "str" && rt.k === "str") {
      const a = this.str(e.left);
      const b = this.str(e.right);
      this.usesStrings = true;
      const n = Math.min(a.size, b.size);
      const eq = `bt_streq(${a.buf}, ${b.buf}, ${n})`;
      return `({ ${a.pre}; ${b.pre}; ${e.op === "==" ? eq : `!${eq}`}; })`;
    }
    const l = this.int(e.left);
    const r = this.int(e.right);
    switch (e.op) {
      case "&&":
      case "||":
        return `((__u64)((${l}) ${e.op} (${r})))`;
      case "==":
      case "!=":
      case "<":
      case "<=":
      case ">":
      case ">=": {
        const signed = isInteger(lt) && isInteger(rt) && lt.k === "int" && lt.signed &&
          rt.k === "int" && rt.signed;
        const c = signed ? "__s64" : "__u64";
        return `((${ct})((${c})(${l}) ${e.op} (${c})(${r})))`;
      }
      default:
        return this.arith(e.op, l, r, this.#types.get(e)!);
    }
  }

  /** Arithmetic as bpftrace does it: 64-bit, unsigned division and right shift. */
  arith(op: string, l: string, r: string, t: Ty): string {
    const ct = t.k === "int" && t.signed ? "__s64" : "__u64";
    if (op === "/" || op === "%" || op === ">>") {
      return `((${ct})((__u64)(${l}) ${op} (__u64)(${r})))`;
    }
    return `((${ct})((${ct})(${l}) ${op} (${ct})(${r})))`;
  }

  incDec(target: Expr, op: string, postfix: boolean): string {
    const delta = op === "++" ? "+ 1" : "- 1";
    if (target.kind === "var") {
      return postfix ? `(v_${target.name.slice(1)}${op})` : `(${op}v_${target.name.slice(1)})`;
    }
    const m = this.mapOf((target as MapRef).name);
    const { pre, key } = this.keyInline(m, target as MapRef);
    const p = this.#fn.local(`${storedCType(m.value)} *`);
    const old = this.#fn.local(storedCType(m.value));
    const nv = this.#fn.local(storedCType(m.value));
    return `({ ${pre} ${p} = bpf_map_lookup_elem(&${m.bpfName}, &${key}); ${old} = ${p} ? *${p} : 0; ` +
      `${nv} = ${old} ${delta}; bpf_map_update_elem(&${m.bpfName}, &${key}, &${nv}, BPF_ANY); ` +
      `${postfix ? old : nv}; })`;
  }

  /** A string expression evaluated into a fresh zeroed buffer. */
  str(e: Expr): { buf: string; size: number; pre: string } {
    const t = this.#types.get(e) as { k: "str"; size: number };
    if (e.kind === "var") return { buf: `v_${e.name.slice(1)}`, size: t.size, pre: "(void)0" };
    const buf = this.#fn.local("char", align8(t.size));
    return {
      buf,
      size: t.size,
      pre: `({ __builtin_memset(${buf}, 0, sizeof(${buf})); ${this.strInto(e, buf, t.size)} })`,
    };
  }

  /**
   * C statements writing a string expression into `dest` (`size` bytes). With `fresh`
   * (a ring record), nothing is zeroed beforehand: every form writes a terminated string.
   */
  strInto(e: Expr, dest: string, size: number, fresh = false): string {
    const t = this.#types.get(e) as { k: "str"; size: number };
    const n = Math.min(size, t.size);
    switch (e.kind) {
      case "str": {
        const bytes = new TextEncoder().encode(e.value);
        const len = Math.min(bytes.length, size - 1);
        const lit = cString(new TextDecoder().decode(bytes.subarray(0, len)));
        return `__builtin_memcpy(${dest}, ${lit}, ${len + 1});`;
      }
      case "builtin": {
        const def = BUILTINS.get(e.name)!;
        const stmts: string[] = [];
        const sink = { ...this.sink(), stmt: (c: string) => void stmts.push(c) };
        def.into!(sink, dest, size);
        return stmts.join(" ");
      }
      case "var":
        return `__builtin_memcpy(${dest}, v_${e.name.slice(1)}, ${n});${
          fresh ? ` ${dest}[${n - 1}] = 0;` : ""
        }`;
      case "field": {
        const f = this.#unit.fields.get(e.field)!;
        // Read through the helper: clang may otherwise keep `args + offset` in a register
        // and load through it, which the verifier refuses ("dereference of modified ctx ptr").
        const copy = `bpf_probe_read_kernel(${dest}, ${Math.min(n, f.size)}, args->${
          cIdent(e.field)
        });`;
        return fresh && n <= f.size ? `${copy} ${dest}[${n - 1}] = 0;` : copy;
      }
      case "call": {
        if (e.name !== "str") throw new Error(`strInto(call ${e.name})`);
        const at = this.#types.get(e.args[0])!;
        if (at.k === "str") return this.strInto(e.args[0], dest, size, fresh);
        const user = at.k === "ptr"
          ? at.user
          : this.#unit.provider === "uprobe" || this.#unit.provider === "uretprobe";
        const ptr = this.int(e.args[0]);
        return `bpf_probe_read_${
          user ? "user" : "kernel"
        }_str(${dest}, ${n}, (const void *)(${ptr}));`;
      }
      case "map": {
        const m = this.mapOf(e.name);
        const { pre, key } = this.keyInline(m, e);
        const p = this.#fn.local("char *");
        return `{ ${pre} ${p} = bpf_map_lookup_elem(&${m.bpfName}, &${key}); if (${p}) ` +
          `__builtin_memcpy(${dest}, ${p}, ${n}); else ${dest}[0] = 0; }`;
      }
      case "ternary":
        return `if (${this.int(e.cond)}) { ${this.strInto(e.then, dest, size, fresh)} } else { ${
          this.strInto(e.otherwise, dest, size, fresh)
        } }`;
      default:
        throw new Error(`strInto(${e.kind})`);
    }
  }

  // --- the file ---

  render(): string {
    const out: string[] = [];
    out.push("// SPDX-License-Identifier: GPL-2.0");
    out.push("/*\n * Generated by bpfsh from this program:\n *");
    for (const line of this.src.text.replace(/\*\//g, "* /").split("\n")) {
      out.push(` *   ${line}`.trimEnd());
    }
    out.push(" */");
    out.push("#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n");
    out.push(`struct bt_hdr {\n\t__u32 kind;\n\t__u32 id;\n};\n`);
    out.push(
      `struct {\n\t__uint(type, BPF_MAP_TYPE_RINGBUF);\n\t__uint(max_entries, ${
        this.opts.ringSize ?? DEFAULT_RING_SIZE
      });\n} ${EVENTS_MAP} SEC(".maps");\n`,
    );
    out.push(
      `struct {\n\t__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);\n\t__uint(max_entries, 1);\n` +
        `\t__type(key, __u32);\n\t__type(value, __u64);\n} ${LOST_MAP} SEC(".maps");\n`,
    );
    out.push(`/* Records the ring had no room for. */
static __always_inline void bt_lost_one(void)
{
\t__u32 zero = 0;
\t__u64 *n = bpf_map_lookup_elem(&${LOST_MAP}, &zero);
\tif (n)
\t\t*n += 1;
}

/* An event for user space: exit(), time(), print(), clear(), zero(). */
struct bt_event_rec {
\tstruct bt_hdr hdr;
\t__u64 arg0;
\t__u64 arg1;
};

static __always_inline void bt_event(__u32 kind, __u32 id, __u64 arg0, __u64 arg1)
{
\tstruct bt_event_rec *r = bpf_ringbuf_reserve(&${EVENTS_MAP}, sizeof(*r), 0);
\tif (!r) {
\t\tbt_lost_one();
\t\treturn;
\t}
\tr->hdr.kind = kind;
\tr->hdr.id = id;
\tr->arg0 = arg0;
\tr->arg1 = arg1;
\tbpf_ringbuf_submit(r, 0);
}
`);
    if (this.checked.usesElapsed) out.push("__u64 bt_start_ns;\n");
    if (this.usesAggregations) out.push(AGGREGATION_C);
    if (this.usesStrings || this.usesStrncmp()) {
      out.push(`/* bpftrace's string equality: the same bytes up to the first NUL, within n. */
static __always_inline int bt_streq(const char *a, const char *b, int n)
{
#pragma unroll
\tfor (int i = 0; i < n; i++) {
\t\tif (a[i] != b[i])
\t\t\treturn 0;
\t\tif (a[i] == 0)
\t\t\treturn 1;
\t}
\treturn 1;
}

static __always_inline int bt_strncmp(const char *a, const char *b, int n)
{
#pragma unroll
\tfor (int i = 0; i < n; i++) {
\t\tif (a[i] != b[i])
\t\t\treturn (unsigned char)a[i] - (unsigned char)b[i];
\t\tif (a[i] == 0)
\t\t\treturn 0;
\t}
\treturn 0;
}
`);
    }
    for (const [, code] of this.defs) out.push(code);
    for (const m of this.maps) out.push(this.mapDecl(m));
    if (this.checked.usesElapsed) {
      out.push(
        `/* Run once at start: the time elapsed counts from. */\nSEC("raw_tp")\nint bt_init(void *ctx)\n{\n\tbt_start_ns = bpf_ktime_get_boot_ns();\n\treturn 0;\n}\n`,
      );
    }
    out.push(this.bodies.join("\n\n") + "\n");
    out.push(`char LICENSE[] SEC("license") = "GPL";\n`);
    return out.join("\n");
  }

  usesStrncmp(): boolean {
    return this.bodies.some((b) => b.includes("bt_strncmp("));
  }
}

/** The C struct name of a tracepoint record. */
function tpStructName(f: TracepointFormat): string {
  return cIdent(`tp_${f.category}_${f.event}`);
}

/** A tracepoint record as a C struct, at the offsets tracefs gives (checked by asserts). */
function tpStruct(f: TracepointFormat, u: Unit): string {
  const lines: string[] = [];
  const asserts: string[] = [];
  let at = 0;
  for (const field of f.fields) {
    if (field.offset < at) continue; // overlapping fields (unions): keep the first
    if (field.offset > at) lines.push(`\tchar __pad_${at}[${field.offset - at}];`);
    const name = cIdent(field.name);
    lines.push(`\t${memberDecl(field, name)};${field.cType ? ` /* ${field.cType} */` : ""}`);
    const used = memberSize(field);
    if (used < field.size) lines.push(`\tchar __pad_${field.offset + used}[${field.size - used}];`);
    if (u.fields.has(field.name)) {
      asserts.push(
        `_Static_assert(__builtin_offsetof(struct ${
          tpStructName(f)
        }, ${name}) == ${field.offset}, "${field.name}");`,
      );
    }
    at = field.offset + field.size;
  }
  const targets = u.targets.length > 1
    ? ` (the fields read are the same in all ${u.targets.length} tracepoints)`
    : "";
  return `/* tracepoint:${f.category}:${f.event}, from its tracefs format${targets} */\nstruct ${
    tpStructName(f)
  } {\n${lines.join("\n")}\n};\n${asserts.join("\n")}${asserts.length ? "\n" : ""}`;
}

function memberDecl(f: TracepointField, name: string): string {
  if (f.dataLoc) return `__u32 ${name}`;
  if (f.ty?.k === "str") return `char ${name}[${f.size}]`;
  if (f.array) {
    const e = f.array.elem as { bits: number; signed: boolean };
    return `__${e.signed ? "s" : "u"}${e.bits} ${name}[${f.array.count}]`;
  }
  if (f.ty?.k === "ptr") return `__u64 ${name}`;
  if (f.ty?.k === "int") return `__${f.ty.signed ? "s" : "u"}${f.ty.bits} ${name}`;
  return `char ${name}[${f.size}]`;
}

function memberSize(f: TracepointField): number {
  if (f.dataLoc) return 4;
  if (f.ty?.k === "int") return f.ty.bits / 8;
  if (f.ty?.k === "ptr") return 8;
  return f.size;
}

/** The ELF section of a unit's program. */
function sectionOf(t: Target, standalone: boolean): string {
  const ap = t.ap;
  switch (ap.provider) {
    case "tracepoint":
      return `tracepoint/${ap.category}/${ap.event}`;
    case "rawtracepoint":
      return `raw_tp/${ap.event}`;
    case "uprobe":
    case "uretprobe":
      return standalone
        ? `${ap.provider}/${ap.binary}:${ap.func}${ap.offset ? `+${ap.offset}` : ""}`
        : ap.provider;
    case "kprobe":
    case "kretprobe":
      return `${ap.provider}/${ap.func}${ap.offset ? `+${ap.offset}` : ""}`;
    case "kfunc":
      return `fentry/${ap.func}`;
    case "kretfunc":
      return `fexit/${ap.func}`;
    case "profile":
    case "interval":
      return "perf_event";
    case "BEGIN":
    case "END":
      return "raw_tp";
  }
}

/** How the runner attaches to a target. */
function attachOf(t: Target): AttachSpec {
  const ap = t.ap;
  switch (ap.provider) {
    case "tracepoint":
      return { target: t.id, text: `${ap.category}/${ap.event}` };
    case "rawtracepoint":
      return { target: t.id, text: ap.event };
    case "uprobe":
    case "uretprobe":
      return {
        target: t.id,
        text: `${ap.binary}:${ap.func}${ap.offset ? `+${ap.offset}` : ""}`,
        retprobe: ap.provider === "uretprobe",
      };
    case "kprobe":
    case "kretprobe":
      return { target: t.id, text: `${ap.func}${ap.offset ? `+${ap.offset}` : ""}` };
    case "profile":
      return {
        target: t.id,
        text: ap.unit === "hz"
          ? `cpu-clock:${ap.rate}hz`
          : `cpu-clock:${periodNs(ap.unit, ap.rate)}`,
      };
    case "interval":
      return {
        target: t.id,
        text: ap.unit === "hz"
          ? `cpu-clock:${Math.max(1, Math.round(1e9 / ap.rate))}`
          : `cpu-clock:${periodNs(ap.unit, ap.rate)}`,
        cpu: 0,
      };
    default:
      return { target: t.id, text: "" };
  }
}

function periodNs(unit: string, n: number): number {
  return unit === "s" ? n * 1e9 : unit === "ms" ? n * 1e6 : n * 1e3;
}
