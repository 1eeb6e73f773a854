/**
 * The check pass: gives every expression a type, works out each map's kind, keys and
 * value, each printf's argument layout, and refuses what does not type-check — each error
 * naming the construct, with bpftrace's wording where it has one.
 *
 * Maps are global: a map read in one probe may be written in a later one, so the pass
 * runs over all units twice and reports undefined maps only on the second run.
 *
 * @module
 */

import { AGGREGATIONS, type LhistBounds, lhistBuckets, type MapKind } from "./aggregations.ts";
import type { Call, Expr, MapRef, Stmt } from "./ast.ts";
import { BUILTINS, UNSUPPORTED_BUILTINS } from "./builtins.ts";
import type { ProbeSite } from "./context.ts";
import { fail, nearest, type SourceText, type Span } from "./diagnostic.ts";
import { argClass, type ParsedFormat, parseFormat } from "./format/printf.ts";
import { FUNCTIONS, UNSUPPORTED_FUNCTIONS } from "./functions.ts";
import "./stacks.ts";
import type { ResolvedProgram, Unit } from "./resolve.ts";
import {
  CAST_TYPES,
  isInteger,
  kindDef,
  NONE,
  S64,
  sameKind,
  strTy,
  type Ty,
  tyName,
  U64,
} from "./types.ts";

/** One key of a map, as the program gives it. */
export interface KeyDef {
  /** A label: the key expression's last name (`comm`, `pid`, `filename`), else `keyN`. */
  name: string;
  /** The key expression as written. */
  expr: string;
  /** Its stored type (integers as 64-bit). */
  ty: Ty;
}

/** What the program does with one map. */
export interface MapDef {
  /** `@name` (or `@`). */
  name: string;
  kind: MapKind;
  keys: KeyDef[];
  /** `value` maps: the stored type; sum/min/max: the argument's type (for signedness). */
  value: Ty;
  /** lhist bounds. */
  lhist?: LhistBounds;
  /** Where it is first defined. */
  span: Span;
}

/** One printf (or other formatted output) call. */
export interface PrintfDef {
  id: number;
  format: string;
  parsed: ParsedFormat;
  args: Ty[];
  /** A print() of a value. */
  value?: boolean;
}

/** The check pass's results. */
export interface CheckedProgram {
  maps: Map<string, MapDef>;
  printfs: PrintfDef[];
  /** `time()` formats, by id. */
  times: string[];
  /** Expression types of each unit (the same syntax may type differently per unit). */
  types: Map<Unit, Map<Expr, Ty>>;
  /** Scratch variables of each unit. */
  vars: Map<Unit, Map<string, Ty>>;
  /** The printf or time() id of each such call, per unit. */
  callIds: Map<Unit, Map<Call, number>>;
  /** Whether a probe reads `elapsed` (the runner then records the start time). */
  usesElapsed: boolean;
}

/** The default size of `str()` (bpftrace's BPFTRACE_STRLEN). */
export const STRLEN = 64;

/**
 * Type-check a resolved program.
 *
 * @param src The program text (for errors).
 * @param prog The resolved program.
 * @returns Maps, printf formats and expression types.
 * @throws {ProbeError} On the first type error.
 * @example
 * ```ts
 * const checked = check(src, resolve(src, parseProgram(src)));
 * checked.maps.get("@")?.kind; // "count"
 * ```
 */
export function check(src: SourceText, prog: ResolvedProgram): CheckedProgram {
  const c = new Checker(src);
  for (const final of [false, true]) {
    c.final = final;
    c.reset();
    for (const u of prog.units) c.unit(u);
  }
  return {
    maps: c.maps,
    printfs: c.printfs,
    times: c.times,
    types: c.types,
    vars: c.vars,
    callIds: c.callIds,
    usesElapsed: c.usesElapsed,
  };
}

class Checker {
  readonly src: SourceText;
  final = false;
  maps = new Map<string, MapDef>();
  printfs: PrintfDef[] = [];
  times: string[] = [];
  types = new Map<Unit, Map<Expr, Ty>>();
  vars = new Map<Unit, Map<string, Ty>>();
  callIds = new Map<Unit, Map<Call, number>>();
  usesElapsed = false;
  #unit!: Unit;
  #types!: Map<Expr, Ty>;
  #vars!: Map<string, Ty>;
  #site!: ProbeSite;

  constructor(src: SourceText) {
    this.src = src;
  }

  reset(): void {
    this.printfs = [];
    this.times = [];
    this.types = new Map();
    this.vars = new Map();
    this.callIds = new Map();
  }

  fail(span: Span, reason: string, hint?: string): never {
    return fail(this.src, span, reason, hint);
  }

  unit(u: Unit): void {
    this.#unit = u;
    this.#types = new Map();
    this.#vars = new Map();
    this.types.set(u, this.#types);
    this.vars.set(u, this.#vars);
    this.callIds.set(u, new Map());
    this.#site = {
      provider: u.provider,
      fail: (span, reason, hint) => this.fail(span, reason, hint),
      field: (name) => u.fields.get(name),
    };
    const p = u.probe;
    if (p.predicate) {
      const t = this.expr(p.predicate);
      if (!isInteger(t)) {
        this.fail(
          p.predicate.span,
          `a predicate must be an integer condition (${tyName(t)} given)`,
        );
      }
    }
    this.stmts(p.body);
  }

  stmts(list: Stmt[]): void {
    for (const s of list) this.stmt(s);
  }

  stmt(s: Stmt): void {
    switch (s.kind) {
      case "if": {
        const t = this.expr(s.cond);
        if (!isInteger(t)) {
          this.fail(s.cond.span, `an if condition must be an integer (${tyName(t)} given)`);
        }
        this.stmts(s.then);
        this.stmts(s.otherwise);
        return;
      }
      case "expr": {
        const e = s.expr;
        if (e.kind === "call" && AGGREGATIONS.has(e.name as MapKind)) {
          this.fail(
            e.span,
            `${e.name}() should be directly assigned to a map`,
            `e.g. @x = ${e.name}(...)`,
          );
        }
        if (e.kind === "unop" && (e.op === "++" || e.op === "--")) {
          this.incDec(e.expr as MapRef | Extract<Expr, { kind: "var" }>, e.span);
          this.#types.set(e, S64);
          return;
        }
        const t = this.expr(e, true);
        if (e.kind !== "call" && this.final) {
          // bpftrace accepts a bare value as a statement; it has no effect.
          void t;
        }
        return;
      }
      case "assign":
        if (s.target.kind === "map") this.assignMap(s.target, s.value, s.op, s.span);
        else this.assignVar(s.target.name, s.value, s.op, s.span);
        return;
    }
  }

  incDec(target: Expr, span: Span): void {
    if (target.kind === "map") {
      const keys = this.keys(target);
      this.defineMap(target, "value", keys, S64, span);
    } else if (target.kind === "var") {
      const cur = this.#vars.get(target.name);
      if (cur && !isInteger(cur)) this.fail(span, `${target.name} is not an integer`);
      if (!cur) this.#vars.set(target.name, S64);
      this.#types.set(target, this.#vars.get(target.name)!);
    }
  }

  assignVar(name: string, value: Expr, op: string | undefined, span: Span): void {
    if (value.kind === "call" && AGGREGATIONS.has(value.name as MapKind)) {
      this.fail(value.span, `${value.name}() should be assigned to a map, not a variable`);
    }
    let t = this.expr(value);
    if (t.k === "args") this.fail(value.span, "args cannot be assigned to a variable");
    if (t.k === "none") this.fail(value.span, "the expression has no value to assign");
    const cur = this.#vars.get(name);
    if (op) {
      if (!cur) this.fail(span, `Undefined or undeclared variable: ${name}`);
      if (!isInteger(cur) || !isInteger(t)) {
        this.fail(span, `the ${op}= operator needs integers (${tyName(cur)}, ${tyName(t)} given)`);
      }
      t = S64;
    }
    if (cur && !sameKind(cur, t)) {
      this.fail(
        span,
        `Type mismatch for ${name}: trying to assign value of type '${tyName(t)}' when ` +
          `variable already contains a value of type '${tyName(cur)}'`,
      );
    }
    if (t.k === "int" || t.k === "ptr") t = t.k === "ptr" ? U64 : t;
    const merged = cur?.k === "str" && t.k === "str" ? strTy(Math.max(cur.size, t.size)) : cur ?? t;
    this.#vars.set(name, merged);
  }

  assignMap(target: MapRef, value: Expr, op: string | undefined, span: Span): void {
    const keys = this.keys(target);
    if (value.kind === "call" && AGGREGATIONS.has(value.name as MapKind)) {
      if (op) this.fail(span, `${value.name}() cannot be combined with ${op}=`);
      this.aggregation(target, value, keys);
      this.#types.set(value, NONE);
      return;
    }
    let t = this.expr(value);
    if (t.k === "args") this.fail(value.span, "args cannot be assigned to a map");
    if (t.k === "none") this.fail(value.span, "the expression has no value to assign");
    if (op) {
      if (!isInteger(t)) this.fail(span, `the ${op}= operator needs an integer`);
      t = S64;
    }
    if (t.k === "int" || t.k === "ptr") {
      t = { k: "int", bits: 64, signed: t.k === "int" ? t.signed : false };
    }
    this.defineMap(target, "value", keys, t, span);
  }

  aggregation(target: MapRef, call: Call, keys: KeyDef[]): void {
    const kind = call.name as MapKind;
    const want = kind === "count" ? 0 : kind === "lhist" ? 4 : 1;
    if (call.args.length !== want) {
      this.fail(
        call.span,
        `${kind}() requires ${
          want === 0 ? "no arguments" : `${want} argument${want > 1 ? "s" : ""}`
        } ` +
          `(${call.args.length} provided)`,
      );
    }
    let argTy: Ty = S64;
    if (want > 0) {
      argTy = this.expr(call.args[0]);
      if (!isInteger(argTy)) {
        this.fail(
          call.args[0].span,
          `${kind}() expects an integer argument (${tyName(argTy)} provided)`,
        );
      }
    }
    let lhist: LhistBounds | undefined;
    if (kind === "lhist") {
      const [min, max, step] = call.args.slice(1).map((a, i) =>
        this.literal(a, ["min", "max", "step"][i], "lhist")
      );
      if (step <= 0) this.fail(call.span, `lhist() step must be >= 1 (${step} provided)`);
      if (min < 0) this.fail(call.span, `lhist() min must be non-negative (provided min ${min})`);
      if (min > max) {
        this.fail(
          call.span,
          `lhist() min must be less than max (provided min ${min} and max ${max})`,
        );
      }
      if (max - min < step) {
        this.fail(
          call.span,
          `lhist() step is too large for the given range (provided step ${step} for range ${
            max - min
          })`,
        );
      }
      lhist = { min, max, step };
      if (lhistBuckets(lhist) - 2 > 1000) {
        this.fail(
          call.span,
          `lhist() too many buckets, must be <= 1000 (would need ${lhistBuckets(lhist) - 2})`,
        );
      }
    }
    const signed = argTy.k === "int" ? argTy.signed : false;
    const value: Ty = kind === "count"
      ? U64
      : kind === "avg" || kind === "stats"
      ? S64
      : { k: "int", bits: 64, signed };
    const def = this.defineMap(target, kind, keys, value, call.span);
    if (lhist) {
      if (
        def.lhist && (def.lhist.min !== min(lhist) || def.lhist.max !== lhist.max ||
          def.lhist.step !== lhist.step)
      ) {
        this.fail(call.span, "Different lhist bounds in a single map unsupported");
      }
      def.lhist = lhist;
    }
    function min(b: LhistBounds) {
      return b.min;
    }
  }

  literal(e: Expr, what: string, fn: string): number {
    this.expr(e);
    if (e.kind !== "int") {
      this.fail(e.span, `${fn}: invalid ${what} value (an integer literal is needed)`);
    }
    return Number(e.value);
  }

  /** Record a map's use, checking it agrees with earlier ones. */
  defineMap(target: MapRef, kind: MapKind, keys: KeyDef[], value: Ty, span: Span): MapDef {
    const old = this.maps.get(target.name);
    if (!old) {
      const def: MapDef = { name: target.name, kind, keys, value, span };
      this.maps.set(target.name, def);
      return def;
    }
    if (old.kind !== kind || (kind === "value" && !sameKind(old.value, value))) {
      const was = old.kind === "value" ? tyName(old.value) : old.kind;
      const now = kind === "value" ? tyName(value) : kind;
      this.fail(
        span,
        `Type mismatch for ${target.name}: trying to assign value of type '${now}' when map ` +
          `already contains a value of type '${was}'`,
      );
    }
    this.sameKeys(target, old, keys);
    if (
      kind === "value" && old.value.k === "str" && value.k === "str" && value.size > old.value.size
    ) {
      old.value = value;
    }
    if (
      (kind === "sum" || kind === "min" || kind === "max") && old.value.k === "int" &&
      value.k === "int" && old.value.signed !== value.signed
    ) {
      old.value = S64;
    }
    return old;
  }

  sameKeys(target: MapRef, def: MapDef, keys: KeyDef[]): void {
    const show = (ks: KeyDef[]) => `[${ks.map((k) => tyName(k.ty)).join(", ")}]`;
    const ok = keys.length === def.keys.length &&
      keys.every((k, i) => sameKind(k.ty, def.keys[i].ty));
    if (!ok) {
      this.fail(
        target.span,
        `Argument mismatch for ${target.name}: trying to access with arguments: ${show(keys)} ` +
          `when map expects arguments: ${show(def.keys)}`,
      );
    }
    keys.forEach((k, i) => {
      const d = def.keys[i];
      if (k.ty.k === "str" && d.ty.k === "str" && k.ty.size > d.ty.size) d.ty = k.ty;
    });
  }

  keys(m: MapRef): KeyDef[] {
    const used = new Set<string>();
    return m.keys.map((k, i) => {
      let t = this.expr(k);
      if (t.k === "none" || t.k === "args") {
        this.fail(k.span, `${tyName(t)} cannot be used as a map key`);
      }
      if (t.k === "int" || t.k === "ptr") {
        t = { k: "int", bits: 64, signed: t.k === "int" ? t.signed : false };
      }
      let name = keyName(k) ?? `key${i}`;
      if (used.has(name)) name = `${name}_${i}`;
      used.add(name);
      return { name, expr: this.src.text.slice(k.span.start, k.span.end), ty: t };
    });
  }

  /** The type of an expression (recorded for the emit pass). */
  expr(e: Expr, asStatement = false): Ty {
    const t = this.#type(e, asStatement);
    this.#types.set(e, t);
    return t;
  }

  #type(e: Expr, asStatement: boolean): Ty {
    switch (e.kind) {
      case "int":
        return e.value > 0x7fffffffffffffffn ? U64 : S64;
      case "str":
        return strTy(new TextEncoder().encode(e.value).length + 1);
      case "param":
        return this.fail(e.span, "positional parameter left unresolved");
      case "builtin": {
        const def = BUILTINS.get(e.name);
        if (!def) {
          if (e.name in UNSUPPORTED_BUILTINS) {
            this.fail(e.span, `builtin '${e.name}' is not supported`, UNSUPPORTED_BUILTINS[e.name]);
          }
          const near = nearest(e.name, BUILTINS.keys());
          this.fail(
            e.span,
            `unknown identifier '${e.name}'`,
            near.length ? `did you mean ${near.join(", ")}?` : undefined,
          );
        }
        if (e.name === "elapsed") this.usesElapsed = true;
        const t = def.type(this.#site, e.span);
        return t;
      }
      case "var": {
        const t = this.#vars.get(e.name);
        if (!t) this.fail(e.span, `Undefined or undeclared variable: ${e.name}`);
        return t;
      }
      case "map": {
        const keys = this.keys(e);
        const def = this.maps.get(e.name);
        if (!def) {
          if (this.final) {
            const near = nearest(e.name, this.maps.keys());
            this.fail(
              e.span,
              `Undefined map: ${e.name}`,
              near.length ? `did you mean ${near.join(", ")}?` : undefined,
            );
          }
          return S64;
        }
        if (def.kind !== "value") {
          this.fail(
            e.span,
            `reading a ${def.kind}() map (${e.name}) in the program is not supported`,
            "its value is kept per CPU and summed when printed: print(" + e.name + ") or " +
              "keep a plain counter with " + e.name + "++",
          );
        }
        this.sameKeys(e, def, keys);
        return def.value;
      }
      case "call":
        return this.call(e, asStatement);
      case "binop":
        return this.binop(e);
      case "unop": {
        if (e.op === "++" || e.op === "--") {
          this.incDec(e.expr, e.span);
          return S64;
        }
        const t = this.expr(e.expr);
        if (!isInteger(t)) {
          this.fail(
            e.span,
            `The ${e.op} operator can not be used on expressions of type '${tyName(t)}'`,
          );
        }
        if (e.op === "!") return { k: "int", bits: 64, signed: false };
        return { k: "int", bits: 64, signed: t.k === "int" && t.signed };
      }
      case "ternary": {
        const c = this.expr(e.cond);
        if (!isInteger(c)) this.fail(e.cond.span, "a ternary condition must be an integer");
        const a = this.expr(e.then);
        const b = this.expr(e.otherwise);
        if (!sameKind(a, b)) {
          this.fail(
            e.span,
            `Ternary operator must return the same type: have '${tyName(a)}' and '${tyName(b)}'`,
          );
        }
        if (a.k === "none") this.fail(e.span, "ternary branches must have values");
        if (a.k === "str" && b.k === "str") return strTy(Math.max(a.size, b.size));
        if (isInteger(a)) {
          const sa = a.k === "int" && a.signed;
          const sb = b.k === "int" && b.signed;
          return { k: "int", bits: 64, signed: sa && sb };
        }
        return a;
      }
      case "field": {
        const base = this.expr(e.expr);
        if (base.k !== "args") {
          this.fail(
            e.span,
            `field access ('${e.arrow ? "->" : "."}${e.field}') is only supported on args`,
          );
        }
        const f = this.#unit.fields.get(e.field);
        if (!f) this.fail(e.span, `no field '${e.field}'`);
        if (f.array) {
          this.fail(e.span, `args->${e.field} is an array: index it, e.g. args->${e.field}[0]`);
        }
        if (!f.ty) {
          this.fail(e.span, `field '${e.field}' of type '${f.cType}' is not supported`);
        }
        return f.ty;
      }
      case "index": {
        if (
          e.expr.kind === "field" && e.expr.expr.kind === "builtin" && e.expr.expr.name === "args"
        ) {
          this.expr(e.expr.expr);
          const f = this.#unit.fields.get(e.expr.field);
          if (!f?.array) {
            this.fail(e.span, `args->${e.expr.field} is not an array of integers`);
          }
          const it = this.expr(e.index);
          if (e.index.kind !== "int" || !isInteger(it)) {
            this.fail(e.index.span, "an array index must be an integer literal");
          }
          if (e.index.value < 0n || e.index.value >= BigInt(f.array.count)) {
            this.fail(
              e.index.span,
              `the index ${e.index.value} is out of bounds for array of size ${f.array.count}`,
            );
          }
          this.#types.set(e.expr, { k: "none" });
          return f.array.elem;
        }
        const t = this.expr(e.expr);
        return this.fail(
          e.span,
          `The array index operator [] can only be used on arrays (${tyName(t)} given)`,
        );
      }
      case "cast": {
        const t = this.expr(e.expr);
        if (!isInteger(t)) this.fail(e.span, `cannot cast ${tyName(t)} to ${e.type}`);
        return CAST_TYPES.get(e.type)!;
      }
    }
  }

  binop(e: Extract<Expr, { kind: "binop" }>): Ty {
    const l = this.expr(e.left);
    const r = this.expr(e.right);
    if (isInteger(l) && isInteger(r)) {
      const ls = l.k === "int" && l.signed;
      const rs = r.k === "int" && r.signed;
      const signed = e.op === "<<" || e.op === ">>" ? ls : ls && rs;
      return { k: "int", bits: 64, signed };
    }
    if (e.op === "&&" || e.op === "||") {
      const bad = isInteger(l) ? e.right : e.left;
      this.fail(bad.span, `the ${e.op} operator needs integer conditions`);
    }
    if (l.k === "str" && r.k === "str") {
      if (e.op === "==" || e.op === "!=") return { k: "int", bits: 64, signed: false };
      this.fail(
        e.span,
        `The ${e.op} operator can not be used on expressions of types ${tyName(l)}, ${tyName(r)}`,
      );
    }
    if (
      l.k === "special" && r.k === "special" && l.kind === r.kind &&
      (e.op === "==" || e.op === "!=")
    ) {
      return { k: "int", bits: 64, signed: false };
    }
    return this.fail(
      e.span,
      `Type mismatch for '${e.op}': comparing '${tyName(l)}' with '${tyName(r)}'`,
    );
  }

  call(e: Call, asStatement: boolean): Ty {
    if (AGGREGATIONS.has(e.name as MapKind)) {
      this.fail(
        e.span,
        `${e.name}() should be directly assigned to a map`,
        `e.g. @x = ${e.name}(...)`,
      );
    }
    const def = FUNCTIONS.get(e.name);
    if (!def) {
      if (e.name in UNSUPPORTED_FUNCTIONS) {
        this.fail(
          e.nameSpan,
          `function '${e.name}' is not supported`,
          UNSUPPORTED_FUNCTIONS[e.name],
        );
      }
      const near = nearest(e.name, [...FUNCTIONS.keys(), ...AGGREGATIONS]);
      this.fail(
        e.nameSpan,
        `Unknown function: ${e.name}`,
        near.length ? `did you mean ${near.join(", ")}?` : undefined,
      );
    }
    if (def.statement && !asStatement) {
      this.fail(e.span, `${e.name}() has no value: use it as a statement`);
    }
    switch (e.name) {
      case "printf":
        return this.printf(e);
      case "time": {
        if (e.args.length > 1) this.fail(e.span, "time() takes at most one argument (a format)");
        let fmt = "%H:%M:%S\n";
        if (e.args.length) {
          if (e.args[0].kind !== "str") {
            this.fail(e.args[0].span, "time() format must be a string literal");
          }
          fmt = e.args[0].value;
          this.expr(e.args[0]);
        }
        this.callIds.get(this.#unit)!.set(e, this.times.length);
        this.times.push(fmt);
        return NONE;
      }
      case "print":
      case "clear":
      case "zero": {
        const want = e.name === "print" ? [1, 3] : [1, 1];
        if (e.args.length < want[0] || e.args.length > want[1]) {
          this.fail(
            e.span,
            `${e.name}() takes ${e.name === "print" ? "a map (and optional top, div)" : "one map"}`,
          );
        }
        const m = e.args[0];
        if (m.kind !== "map" && e.name === "print") return this.printValue(e);
        if (m.kind !== "map") {
          this.fail(m.span, `${e.name}() expects a map to be provided`, `e.g. ${e.name}(@name)`);
        }
        if (m.keys.length) {
          this.fail(m.span, `${e.name}() takes the whole map: ${m.name}, without keys`);
        }
        if (!this.maps.has(m.name) && this.final) this.fail(m.span, `Undefined map: ${m.name}`);
        this.#types.set(m, NONE);
        for (const a of e.args.slice(1)) this.literal(a, "top/div", "print");
        return NONE;
      }
      case "delete": {
        if (e.args.length !== 1 || e.args[0].kind !== "map") {
          this.fail(e.span, "delete() expects a map to be provided", "e.g. delete(@start[tid])");
        }
        const m = e.args[0] as MapRef;
        const keys = this.keys(m);
        const def = this.maps.get(m.name);
        if (!def) {
          if (this.final) this.fail(m.span, `Undefined map: ${m.name}`);
          return NONE;
        }
        if (def.kind === "hist" || def.kind === "lhist") {
          this.fail(
            e.span,
            `delete() of a ${def.kind}() map entry is not supported`,
            `clear(${m.name}) empties it`,
          );
        }
        this.sameKeys(m, def, keys);
        this.#types.set(m, NONE);
        return NONE;
      }
      case "exit":
        if (e.args.length) this.fail(e.span, "exit() takes no arguments");
        return NONE;
      case "str": {
        if (e.args.length < 1 || e.args.length > 2) {
          this.fail(e.span, "str() takes one or two arguments");
        }
        const t = this.expr(e.args[0]);
        if (t.k === "str") return t;
        if (!isInteger(t)) {
          this.fail(
            e.span,
            `str() expects an integer or a pointer type as first argument (${tyName(t)} provided)`,
          );
        }
        let size = STRLEN;
        if (e.args.length === 2) {
          const n = this.expr(e.args[1]);
          if (!isInteger(n)) this.fail(e.args[1].span, "str() length must be an integer");
          if (e.args[1].kind === "int") {
            if (e.args[1].value < 0n) {
              this.fail(e.args[1].span, `str() cannot use negative length (${e.args[1].value})`);
            }
            size = Math.min(STRLEN, Number(e.args[1].value) + 1);
          } else {
            this.fail(e.args[1].span, "str() length must be an integer literal");
          }
        }
        return strTy(size);
      }
      default:
        return def.check(this.#site, e, (x) => this.expr(x));
    }
  }

  /** print() of a value (not a map): printed as bpftrace does, like a printf of it. */
  printValue(e: Call): Ty {
    if (e.args.length !== 1) {
      this.fail(e.span, `Non-map print() only takes 1 argument, ${e.args.length} found`);
    }
    let t = this.expr(e.args[0]);
    if (t.k === "none" || t.k === "args") {
      this.fail(e.args[0].span, `print() cannot print ${tyName(t)}`);
    }
    if (t.k === "ptr") t = U64;
    const format = t.k === "int" ? (t.signed ? "%ld\n" : "%lu\n") : "%s\n";
    this.callIds.get(this.#unit)!.set(e, this.printfs.length);
    this.printfs.push({
      id: this.printfs.length,
      format,
      parsed: parseFormat(format),
      args: [t],
      value: true,
    });
    return NONE;
  }

  printf(e: Call): Ty {
    if (!e.args.length || e.args[0].kind !== "str") {
      this.fail(e.span, "printf() requires a string literal as its first argument");
    }
    const format = e.args[0].value;
    this.expr(e.args[0]);
    let parsed: ParsedFormat;
    try {
      parsed = parseFormat(format);
    } catch (err) {
      return this.fail(e.args[0].span, `printf: ${(err as Error).message}`);
    }
    const args = e.args.slice(1);
    if (args.length < parsed.specs.length) {
      this.fail(
        e.span,
        `printf: Not enough arguments for format string (${args.length} supplied, ` +
          `${parsed.specs.length} expected)`,
      );
    }
    if (args.length > parsed.specs.length) {
      this.fail(
        e.span,
        `printf: Too many arguments for format string (${args.length} supplied, ` +
          `${parsed.specs.length} expected)`,
      );
    }
    const tys = args.map((a, i) => {
      let t = this.expr(a);
      const spec = parsed.specs[i];
      const cls = t.k === "str"
        ? "string"
        : t.k === "special"
        ? kindDef(t.kind).printf
        : isInteger(t)
        ? "integer"
        : "none";
      if (cls !== argClass(spec)) {
        this.fail(
          e.span,
          `printf: %${spec.length}${spec.conv} specifier expects a value of type ` +
            `${argClass(spec)} (${cls === "none" ? tyName(t) : cls} supplied)`,
        );
      }
      if (t.k === "ptr") t = U64;
      return t;
    });
    this.callIds.get(this.#unit)!.set(e, this.printfs.length);
    this.printfs.push({ id: this.printfs.length, format, parsed, args: tys });
    return NONE;
  }
}

/** A label for a key expression: its last name. */
function keyName(e: Expr): string | undefined {
  switch (e.kind) {
    case "builtin":
      return e.name;
    case "var":
      return e.name.slice(1);
    case "map":
      return e.name.slice(1) || "map";
    case "field":
      return e.field;
    case "index":
      return keyName(e.expr);
    case "call":
    case "cast":
      if (e.kind === "call" && e.args[0]) return keyName(e.args[0]);
      if (e.kind === "cast") return keyName(e.expr);
      return undefined;
    default:
      return undefined;
  }
}
