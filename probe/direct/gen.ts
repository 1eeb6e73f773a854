/**
 * The direct back end's code generator: a checked program straight to BPF instructions,
 * with no C compiler. It follows the layouts the emit pass put in the {@link ProbeSpec}
 * (map keys and values, printf records, event records) and the semantics of the C the
 * emit pass writes, construct by construct, so that either back end's programs give the
 * runner the same maps and records. What it does not cover (uprobes, kprobes, kfuncs,
 * stacks, helpers outside its table, a frame past the kernel's 512 bytes) it refuses with
 * {@link DirectUnsupported}, and the caller builds the C instead.
 *
 * Registers: r6 holds the context, r7 a reserved ring record while it is filled, r8 a map
 * value while an aggregation folds into it, r9 the target id (`probe`); expressions leave
 * their value in r0 and keep intermediate values in stack slots.
 *
 * @module
 */

import type { Call, Expr, MapRef, Stmt } from "../ast.ts";
import type { CheckedProgram } from "../check.ts";
import type { ResolvedProgram, Unit } from "../resolve.ts";
import {
  EVENT,
  EVENTS_MAP,
  HEADER_SIZE,
  LOST_MAP,
  type MapSpec,
  type ProbeSpec,
  type ProgramSpec,
} from "../spec.ts";
import { isInteger, type Ty } from "../types.ts";
import { Asm, FP, HELPER, type Label, type Reg } from "./insn.ts";

/** A construct the direct back end does not compile (the C back end does). */
export class DirectUnsupported extends Error {
  override name = "DirectUnsupported";
}

/** The BPF program types the direct back end loads. */
export type DirectProgType = "tracepoint" | "raw_tracepoint" | "perf_event";

/** Maps every direct program refers to, beside the program's own (by their spec index). */
export const INTERNAL_MAPS = [EVENTS_MAP, LOST_MAP, "bt_bss"] as const;

/** Their indexes: the event ring, the per-CPU count of records lost, `elapsed`'s start. */
export const INTERNAL_MAP = { events: 0, lost: 1, bss: 2 } as const;

/** One generated program. */
export interface DirectProgram {
  /** Its name (the spec's, e.g. `probe_0`, or `bt_init`). */
  name: string;
  type: DirectProgType;
  /** The instructions, map references as indexes (see {@link DirectProgram.mapRefs}). */
  insns: Uint8Array;
  /**
   * Instruction indexes of 64-bit map loads, with the map each names: an index into
   * {@link INTERNAL_MAPS} followed by the spec's maps.
   */
  mapRefs: { at: number; map: number }[];
}

/** The kernel's stack limit per program. */
const STACK_LIMIT = 512;
/** `BPF_ANY`, `BPF_NOEXIST`. */
const UPDATE_ANY = 0;
const UPDATE_NOEXIST = 1;

const CTX: Reg = 6;
const RECORD: Reg = 7;
const SLOT: Reg = 8;
const TARGET: Reg = 9;

/** Where bytes go: a base register (the frame or a ring record) and an offset. */
interface Place {
  base: Reg;
  off: number;
}

/**
 * Generate every program of a compiled probe program.
 *
 * @param resolved The resolved program.
 * @param checked Its check results.
 * @param spec The spec the emit pass made for it (layouts, program names, attach cookies).
 * @returns One program per spec program (and `bt_init` when the spec has one).
 * @throws {DirectUnsupported} For anything outside the direct back end's subset.
 * @example
 * ```ts
 * const progs = generate(resolved, checked, spec);
 * progs[0].insns.length; // a multiple of 8
 * ```
 */
export function generate(
  resolved: ResolvedProgram,
  checked: CheckedProgram,
  spec: ProbeSpec,
): DirectProgram[] {
  if (spec.stackPids) throw new DirectUnsupported("user stacks");
  const out: DirectProgram[] = [];
  if (spec.init) out.push(initProgram(spec.init));
  const byIndex = new Map(resolved.units.map((u) => [u.index, u]));
  for (const prog of spec.programs) {
    const m = /^probe_(\d+)$/.exec(prog.name);
    const unit = m ? byIndex.get(Number(m[1])) : undefined;
    if (!unit) throw new DirectUnsupported(`program ${prog.name}`);
    out.push(new UnitGen(unit, checked, spec, prog).run());
  }
  return out;
}

/** `bt_init`: record the boot-time clock `elapsed` counts from. */
function initProgram(name: string): DirectProgram {
  const g = new Frame();
  g.a.call(HELPER.ktime_get_boot_ns);
  g.mapValue(1, INTERNAL_MAP.bss);
  g.a.store(8, 1, 0, 0);
  g.a.movImm(0, 0);
  g.a.exit();
  return { name, type: "raw_tracepoint", ...g.finish() };
}

/** An assembler with a frame allocator and map references. */
class Frame {
  readonly a = new Asm();
  readonly mapRefs: { at: number; map: number }[] = [];
  #top = 0;

  /** The frame's extent now, to {@link Frame.release} to. */
  mark(): number {
    return this.#top;
  }

  /** Free what was allocated since `mark` (a statement's temporaries, once it is done). */
  release(mark: number): void {
    this.#top = mark;
  }

  /** Stack bytes (a multiple of 8); returns the offset from r10. */
  alloc(bytes: number): number {
    this.#top += (bytes + 7) & ~7;
    if (this.#top > STACK_LIMIT) {
      throw new DirectUnsupported(`a frame of more than ${STACK_LIMIT} bytes`);
    }
    return -this.#top;
  }

  /** `reg = &map` (map: an index into INTERNAL_MAPS, then the spec's maps). */
  map(reg: Reg, map: number): void {
    this.mapRefs.push({ at: this.a.length, map });
    this.a.ldMap(reg, map);
  }

  /** `reg = &value[0]` of a one-entry array map (direct value access). */
  mapValue(reg: Reg, map: number): void {
    this.mapRefs.push({ at: this.a.length, map });
    this.a.ldMapValue(reg, map, 0);
  }

  /** Zero `bytes` (a multiple of 8) of the frame at `off`. */
  zero(off: number, bytes: number): void {
    for (let i = 0; i < bytes; i += 8) this.a.storeImm(8, FP, off + i, 0);
  }

  finish(): { insns: Uint8Array; mapRefs: { at: number; map: number }[] } {
    return { insns: this.a.finish(), mapRefs: this.mapRefs };
  }
}

/** `r<reg> = r10 + off`. */
function framePtr(a: Asm, reg: Reg, off: number): void {
  a.mov(reg, FP);
  a.aluImm("+", reg, off);
}

class UnitGen extends Frame {
  readonly unit: Unit;
  readonly spec: ProbeSpec;
  readonly prog: ProgramSpec;
  readonly types: Map<Expr, Ty>;
  readonly varTypes: Map<string, Ty>;
  readonly callIds: Map<Call, number>;
  readonly vars = new Map<string, number>();
  readonly exitLabel: Label;
  #zeroKey = 0;
  #zero16 = 0;

  constructor(unit: Unit, checked: CheckedProgram, spec: ProbeSpec, prog: ProgramSpec) {
    super();
    this.unit = unit;
    this.spec = spec;
    this.prog = prog;
    this.types = checked.types.get(unit)!;
    this.varTypes = checked.vars.get(unit)!;
    this.callIds = checked.callIds.get(unit)!;
    this.exitLabel = this.a.label();
  }

  run(): DirectProgram {
    const a = this.a;
    const u = this.unit;
    const type = progType(u.provider);
    if (u.cookie && u.provider === "rawtracepoint") {
      throw new DirectUnsupported("several raw tracepoints in one probe");
    }
    // Slots every statement may use, below any statement's temporaries.
    this.#zeroKey = this.alloc(8);
    this.#zero16 = this.alloc(16);
    a.mov(CTX, 1);
    if (this.prog.cookie) {
      a.call(HELPER.get_attach_cookie);
      a.mov(TARGET, 0);
    } else {
      a.constant(TARGET, BigInt(u.targets[0]?.id ?? 0));
    }
    for (const [name, t] of this.varTypes) {
      const bytes = t.k === "str" ? (t.size + 7) & ~7 : 8;
      const off = this.alloc(bytes);
      this.zero(off, bytes);
      this.vars.set(name, off);
    }
    if (u.probe.predicate) {
      this.int(u.probe.predicate);
      a.jumpImm("==", 0, 0, this.exitLabel);
    }
    this.stmts(u.probe.body);
    a.bind(this.exitLabel);
    a.movImm(0, 0);
    a.exit();
    return { name: this.prog.name, type, ...this.finish() };
  }

  ty(e: Expr): Ty {
    return this.types.get(e) ?? { k: "int", bits: 64, signed: true };
  }

  mapOf(name: string): { spec: MapSpec; index: number } {
    const index = this.spec.maps.findIndex((m) => m.name === name);
    return { spec: this.spec.maps[index], index: INTERNAL_MAPS.length + index };
  }

  // --- statements ---

  /** Statements; what each allocates in the frame is free again after it. */
  stmts(list: Stmt[]): void {
    for (const s of list) {
      const mark = this.mark();
      this.stmt(s);
      this.release(mark);
    }
  }

  // The same cases as emit.ts's statement switch, on purpose: each back end writes its own
  // code for them (C there, instructions here), and their outputs are compared by the tests.
  stmt(s: Stmt): void {
    switch (s.kind) {
      case "if":
        this.branch(s.cond, () => this.stmts(s.then), () => this.stmts(s.otherwise));
        return;
      case "assign":
        if (s.target.kind === "var") this.assignVar(s.target.name, s.value, s.op);
        else this.assignMap(s.target, s.value, s.op);
        return;
      case "expr": {
        const e = s.expr;
        if (e.kind === "call" && this.callStatement(e)) return;
        const t = this.ty(e);
        if (t.k === "str") this.strTemp(e);
        else if (t.k !== "none") this.int(e);
        return;
      }
    }
  }

  assignVar(name: string, value: Expr, op: string | undefined): void {
    const off = this.vars.get(name)!;
    const t = this.varTypes.get(name)!;
    if (t.k === "str") {
      this.zero(off, (t.size + 7) & ~7);
      this.strInto(value, { base: FP, off }, t.size);
      return;
    }
    if (op) {
      this.int(value);
      this.a.mov(1, 0);
      this.a.load(8, 0, FP, off);
      this.arith(op, 0, 1);
    } else this.int(value);
    this.a.store(8, FP, off, 0);
  }

  assignMap(target: MapRef, value: Expr, op: string | undefined): void {
    const a = this.a;
    const { spec: m, index } = this.mapOf(target.name);
    if (value.kind === "call" && m.kind !== "value") {
      this.aggregate(m, index, target, value);
      return;
    }
    const key = this.keyOf(m, target);
    const size = m.valueSize;
    const val = this.alloc(size);
    if (m.value.k === "str") {
      this.zero(val, size);
      this.strInto(value, { base: FP, off: val }, m.value.size);
    } else if (op) {
      this.lookupValue(index, key);
      a.store(8, FP, val, 0);
      this.int(value);
      a.mov(1, 0);
      a.load(8, 0, FP, val);
      this.arith(op, 0, 1);
      a.store(8, FP, val, 0);
    } else {
      this.int(value);
      a.store(8, FP, val, 0);
    }
    this.update(index, key, val, UPDATE_ANY);
  }

  /** An aggregation call's fold into its map's slot. */
  aggregate(m: MapSpec, index: number, target: MapRef, call: Call): void {
    const a = this.a;
    const key = this.keyOf(m, target);
    const v = this.alloc(8);
    if (m.kind !== "count") {
      if (call.args[0]) this.int(call.args[0]);
      else a.movImm(0, 0);
      a.store(8, FP, v, 0);
    }
    if (m.kind === "hist") {
      this.log2(0);
      a.store(8, FP, key + m.bucketOffset!, 0);
    } else if (m.kind === "lhist") {
      const b = m.lhist!;
      this.linear(b.min, b.max, b.step);
      a.store(8, FP, key + m.bucketOffset!, 0);
    }
    // The slot, created zeroed when missing.
    const done = a.label();
    const have = a.label();
    this.lookup(index, key);
    a.jumpImm("!=", 0, 0, have);
    this.update(index, key, this.zero16(), UPDATE_NOEXIST);
    this.lookup(index, key);
    a.jumpImm("==", 0, 0, done);
    a.bind(have);
    a.mov(SLOT, 0);
    switch (m.kind) {
      case "count":
      case "hist":
      case "lhist":
        a.load(8, 1, SLOT, 0);
        a.aluImm("+", 1, 1);
        a.store(8, SLOT, 0, 1);
        break;
      case "sum":
        a.load(8, 1, SLOT, 0);
        a.load(8, 2, FP, v);
        a.alu("+", 1, 2);
        a.store(8, SLOT, 0, 1);
        break;
      case "min":
      case "max": {
        const set = a.label();
        a.load(8, 2, FP, v);
        a.load(8, 1, SLOT, 8);
        a.jumpImm("==", 1, 0, set);
        a.load(8, 1, SLOT, 0);
        const better = m.kind === "min" ? (m.signed ? "s<" : "<") : (m.signed ? "s>" : ">");
        a.jump(better, 2, 1, set);
        a.goto(done);
        a.bind(set);
        a.store(8, SLOT, 0, 2);
        a.storeImm(8, SLOT, 8, 1);
        break;
      }
      case "avg":
      case "stats":
        a.load(8, 1, SLOT, 0);
        a.load(8, 2, FP, v);
        a.alu("+", 1, 2);
        a.store(8, SLOT, 0, 1);
        a.load(8, 1, SLOT, 8);
        a.aluImm("+", 1, 1);
        a.store(8, SLOT, 8, 1);
        break;
      default:
        throw new DirectUnsupported(`the ${m.kind} aggregation`);
    }
    a.bind(done);
  }

  /** A frame slot of 8 zero bytes (the key of a one-entry map), stored on each use. */
  zeroKey(): number {
    this.a.storeImm(8, FP, this.#zeroKey, 0);
    return this.#zeroKey;
  }

  /** 16 zero bytes: a new aggregation slot's value. */
  zero16(): number {
    this.zero(this.#zero16, 16);
    return this.#zero16;
  }

  /** hist()'s bucket of r0 into r0: 0 for negatives, 1 for 0, then 2 + floor(log2(v)). */
  log2(reg: Reg): void {
    const a = this.a;
    const end = a.label();
    if (reg !== 0) a.mov(0, reg);
    a.mov(1, 0);
    a.movImm(0, 0);
    a.jumpImm("s<", 1, 0, end);
    a.movImm(0, 1);
    a.jumpImm("==", 1, 0, end);
    a.movImm(0, 2);
    for (const s of [32, 16, 8, 4, 2, 1]) {
      const skip = a.label();
      a.constant(2, 1n << BigInt(s));
      a.jump("<", 1, 2, skip);
      a.aluImm(">>", 1, s);
      a.aluImm("+", 0, s);
      a.bind(skip);
    }
    a.bind(end);
  }

  /** lhist()'s bucket of r0 into r0: 0 below min, 1 + (v - min) / step, the last from max. */
  linear(min: number, max: number, step: number): void {
    const a = this.a;
    const end = a.label();
    const inside = a.label();
    a.mov(1, 0);
    a.movImm(0, 0);
    a.constant(2, BigInt(min));
    a.jump("s<", 1, 2, end);
    a.constant(2, BigInt(max));
    a.jump("s<=", 1, 2, inside);
    a.constant(0, 1n + BigInt(Math.floor((max - min) / step)));
    a.goto(end);
    a.bind(inside);
    a.mov(0, 1);
    a.constant(2, BigInt(min));
    a.alu("-", 0, 2);
    a.constant(2, BigInt(step));
    a.alu("/", 0, 2);
    a.aluImm("+", 0, 1);
    a.bind(end);
  }

  /** `r0 = bpf_map_lookup_elem(&map, fp + key)`. */
  lookup(map: number, key: number): void {
    this.map(1, map);
    framePtr(this.a, 2, key);
    this.a.call(HELPER.map_lookup_elem);
  }

  /** `r0 = *(u64 *)bpf_map_lookup_elem(&map, fp + key)`, 0 when the key is missing. */
  lookupValue(map: number, key: number): void {
    const end = this.a.label();
    this.lookup(map, key);
    this.a.jumpImm("==", 0, 0, end);
    this.a.load(8, 0, 0, 0);
    this.a.bind(end);
  }

  /** `bpf_map_update_elem(&map, fp + key, fp + value, flags)`. */
  update(map: number, key: number, value: number, flags: number): void {
    this.map(1, map);
    framePtr(this.a, 2, key);
    framePtr(this.a, 3, value);
    this.a.movImm(4, flags);
    this.a.call(HELPER.map_update_elem);
  }

  /** Fill a map access's key on the stack; returns its frame offset. */
  keyOf(m: MapSpec, ref: MapRef): number {
    const a = this.a;
    const hasBucket = m.bucketOffset !== undefined;
    if (!m.keys.length && !hasBucket) {
      const k = this.alloc(8);
      a.storeImm(8, FP, k, 0);
      return k;
    }
    const k = this.alloc(m.keySize);
    this.zero(k, (m.keySize + 7) & ~7);
    m.keys.forEach((kt, i) => {
      if (kt.ty.k === "str") {
        this.strInto(ref.keys[i], { base: FP, off: k + kt.offset }, kt.ty.size);
      } else {
        this.int(ref.keys[i]);
        a.store(8, FP, k + kt.offset, 0);
      }
    });
    return k;
  }

  /** Statement calls; false for a value call used as a statement. */
  callStatement(e: Call): boolean {
    switch (e.name) {
      case "printf":
        this.record(e, e.args.slice(1));
        return true;
      case "exit":
        this.event(EVENT.exit, 0, 0n, 0n);
        return true;
      case "time":
        this.event(EVENT.time, this.callIds.get(e)!, 0n, 0n);
        return true;
      case "print":
      case "clear":
      case "zero": {
        if (e.name === "print" && e.args[0].kind !== "map") {
          this.record(e, e.args);
          return true;
        }
        const { index } = this.mapOf((e.args[0] as MapRef).name);
        const top = e.args[1]?.kind === "int" ? e.args[1].value : 0n;
        const div = e.args[2]?.kind === "int" ? e.args[2].value : 0n;
        this.event(EVENT[e.name], index - INTERNAL_MAPS.length, top, div);
        return true;
      }
      case "delete": {
        const ref = e.args[0] as MapRef;
        const { spec: m, index } = this.mapOf(ref.name);
        const k = this.keyOf(m, ref);
        this.map(1, index);
        framePtr(this.a, 2, k);
        this.a.call(HELPER.map_delete_elem);
        return true;
      }
      default:
        return false;
    }
  }

  /** Reserve `size` bytes of the ring into RECORD; jumps to `lost` when it is full. */
  reserve(size: number, lost: Label): void {
    const a = this.a;
    this.map(1, INTERNAL_MAP.events);
    a.movImm(2, size);
    a.movImm(3, 0);
    a.call(HELPER.ringbuf_reserve);
    a.jumpImm("==", 0, 0, lost);
    a.mov(RECORD, 0);
  }

  /** Submit RECORD, or count a record lost; both paths meet after. */
  submit(lost: Label): void {
    const a = this.a;
    const end = a.label();
    a.mov(1, RECORD);
    a.movImm(2, 0);
    a.call(HELPER.ringbuf_submit);
    a.goto(end);
    a.bind(lost);
    this.lookup(INTERNAL_MAP.lost, this.zeroKey());
    a.jumpImm("==", 0, 0, end);
    a.load(8, 1, 0, 0);
    a.aluImm("+", 1, 1);
    a.store(8, 0, 0, 1);
    a.bind(end);
  }

  /** An exit/time/print/clear/zero record. */
  event(kind: number, id: number, arg0: bigint, arg1: bigint): void {
    const a = this.a;
    const lost = a.label();
    this.reserve(HEADER_SIZE + 16, lost);
    a.storeImm(4, RECORD, 0, kind);
    a.storeImm(4, RECORD, 4, id);
    a.constant(1, arg0);
    a.store(8, RECORD, 8, 1);
    a.constant(1, arg1);
    a.store(8, RECORD, 16, 1);
    this.submit(lost);
  }

  /** A printf record (or print() of a value): the call's arguments into the ring. */
  record(e: Call, args: Expr[]): void {
    const a = this.a;
    const id = this.callIds.get(e)!;
    const p = this.spec.printfs[id];
    const lost = a.label();
    this.reserve(p.size, lost);
    a.storeImm(4, RECORD, 0, EVENT.printf);
    a.storeImm(4, RECORD, 4, id);
    args.forEach((arg, i) => {
      const f = p.args[i];
      if (f.ty.k === "str") this.strInto(arg, { base: RECORD, off: f.offset }, f.ty.size, true);
      else {
        this.int(arg);
        a.store(8, RECORD, f.offset, 0);
      }
    });
    this.submit(lost);
  }

  // --- integers: the value in r0 ---

  int(e: Expr): void {
    const a = this.a;
    const t = this.ty(e);
    switch (e.kind) {
      case "int":
        a.constant(0, e.value);
        return;
      case "builtin":
        this.builtin(e.name);
        return;
      case "var":
        a.load(8, 0, FP, this.vars.get(e.name)!);
        return;
      case "map": {
        const { spec: m, index } = this.mapOf(e.name);
        this.lookupValue(index, this.keyOf(m, e));
        return;
      }
      case "call":
        if (e.name === "strncmp") {
          const x = this.strTemp(e.args[0]);
          const y = this.strTemp(e.args[1]);
          const n = Number((e.args[2] as Extract<Expr, { kind: "int" }>).value);
          this.strCompare(x.off, y.off, Math.min(n, x.size, y.size), "strncmp");
          return;
        }
        throw new DirectUnsupported(`${e.name}()`);
      case "binop":
        this.binop(e);
        return;
      case "unop":
        this.unop(e);
        return;
      case "ternary":
        this.branch(e.cond, () => this.int(e.then), () => this.int(e.otherwise));
        return;
      case "field":
        this.field(e.field);
        return;
      case "index": {
        const f = this.unit.fields.get((e.expr as Extract<Expr, { kind: "field" }>).field);
        if (!f?.array) throw new DirectUnsupported("an index into a non-array");
        const i = Number((e.index as Extract<Expr, { kind: "int" }>).value);
        const elem = f.array.elem as { bits: 8 | 16 | 32 | 64; signed: boolean };
        this.ctxLoad(f.offset + i * f.array.elemSize, elem.bits, elem.signed);
        return;
      }
      case "cast": {
        const bits = t.k === "int" ? t.bits : 64;
        const signed = t.k === "int" && t.signed;
        this.int(e.expr);
        this.extend(0, bits, signed);
        return;
      }
      default:
        throw new DirectUnsupported(`${e.kind} expressions`);
    }
  }

  /** `if (cond) then() else otherwise()`: C's truth of an integer expression. */
  branch(cond: Expr, then: () => void, otherwise: () => void): void {
    const a = this.a;
    const other = a.label();
    const end = a.label();
    this.int(cond);
    a.jumpImm("==", 0, 0, other);
    then();
    a.goto(end);
    a.bind(other);
    otherwise();
    a.bind(end);
  }

  /** Truncate `reg` to `bits` and extend it back to 64, signed or not. */
  extend(reg: Reg, bits: number, signed: boolean): void {
    if (bits >= 64) return;
    const a = this.a;
    if (!signed && bits === 32) {
      a.mov32(reg, reg);
      return;
    }
    a.aluImm("<<", reg, 64 - bits);
    a.aluImm(signed ? "arsh" : ">>", reg, 64 - bits);
  }

  builtin(name: string): void {
    const a = this.a;
    if (Object.hasOwn(HELPER_BUILTINS, name)) {
      a.call(HELPER_BUILTINS[name]);
      return;
    }
    switch (name) {
      case "pid":
        a.call(HELPER.get_current_pid_tgid);
        a.aluImm(">>", 0, 32);
        return;
      case "tid":
        a.call(HELPER.get_current_pid_tgid);
        a.mov32(0, 0);
        return;
      case "uid":
        a.call(HELPER.get_current_uid_gid);
        a.mov32(0, 0);
        return;
      case "gid":
        a.call(HELPER.get_current_uid_gid);
        a.aluImm(">>", 0, 32);
        return;
      case "elapsed":
        a.call(HELPER.ktime_get_boot_ns);
        this.mapValue(1, INTERNAL_MAP.bss);
        a.load(8, 1, 1, 0);
        a.alu("-", 0, 1);
        return;
      case "probe":
        a.mov(0, TARGET);
        return;
      default: {
        const m = /^arg(\d)$/.exec(name);
        if (m && this.unit.provider === "rawtracepoint") {
          a.load(8, 0, CTX, Number(m[1]) * 8);
          return;
        }
        throw new DirectUnsupported(`the ${name} builtin`);
      }
    }
  }

  /** A tracepoint field of the context into r0. */
  field(name: string): void {
    const f = this.unit.fields.get(name);
    if (!f) throw new DirectUnsupported(`args.${name}`);
    const a = this.a;
    if (f.dataLoc) {
      a.load(4, 1, CTX, f.offset);
      a.aluImm("&", 1, 0xffff);
      a.mov(0, CTX);
      a.alu("+", 0, 1);
      return;
    }
    if (f.ty?.k === "ptr") {
      a.load(8, 0, CTX, f.offset);
      return;
    }
    if (f.ty?.k === "int") {
      this.ctxLoad(f.offset, f.ty.bits, f.ty.signed);
      return;
    }
    throw new DirectUnsupported(`args.${name} as an integer`);
  }

  ctxLoad(off: number, bits: 8 | 16 | 32 | 64, signed: boolean): void {
    this.a.load((bits / 8) as 1 | 2 | 4 | 8, 0, CTX, off);
    this.extend(0, bits, signed);
  }

  binop(e: Extract<Expr, { kind: "binop" }>): void {
    const a = this.a;
    const lt = this.ty(e.left);
    const rt = this.ty(e.right);
    if (lt.k === "str" && rt.k === "str") {
      const x = this.strTemp(e.left);
      const y = this.strTemp(e.right);
      this.strCompare(x.off, y.off, Math.min(x.size, y.size), "streq");
      if (e.op === "!=") a.aluImm("^", 0, 1);
      return;
    }
    if (e.op === "&&" || e.op === "||") {
      const end = a.label();
      this.int(e.left);
      a.mov(1, 0);
      a.movImm(0, e.op === "&&" ? 0 : 1);
      a.jumpImm(e.op === "&&" ? "==" : "!=", 1, 0, end);
      this.int(e.right);
      this.truth();
      a.bind(end);
      return;
    }
    const tmp = this.alloc(8);
    this.int(e.left);
    a.store(8, FP, tmp, 0);
    this.int(e.right);
    a.mov(1, 0);
    a.load(8, 0, FP, tmp);
    const cmp = COMPARISONS[e.op];
    if (cmp) {
      const signed = isInteger(lt) && isInteger(rt) && lt.k === "int" && lt.signed &&
        rt.k === "int" && rt.signed;
      const yes = a.label();
      const end = a.label();
      a.jump(signed ? cmp[1] : cmp[0], 0, 1, yes);
      a.movImm(0, 0);
      a.goto(end);
      a.bind(yes);
      a.movImm(0, 1);
      a.bind(end);
      return;
    }
    this.arith(e.op, 0, 1);
  }

  /** `r0 = r0 != 0`. */
  truth(): void {
    const a = this.a;
    const end = a.label();
    a.jumpImm("==", 0, 0, end);
    a.movImm(0, 1);
    a.bind(end);
  }

  /** `dst = dst op src`, as bpftrace computes: 64-bit, unsigned division and shift right. */
  arith(op: string, dst: Reg, src: Reg): void {
    switch (op) {
      case "+":
      case "-":
      case "*":
      case "/":
      case "%":
      case "&":
      case "|":
      case "^":
      case "<<":
      case ">>":
        this.a.alu(op, dst, src);
        return;
      default:
        throw new DirectUnsupported(`the ${op} operator`);
    }
  }

  unop(e: Extract<Expr, { kind: "unop" }>): void {
    const a = this.a;
    if (e.op === "++" || e.op === "--") {
      this.incDec(e.expr, e.op === "++" ? 1 : -1, e.postfix);
      return;
    }
    this.int(e.expr);
    switch (e.op) {
      case "-":
        a.aluImm("neg", 0, 0);
        return;
      case "~":
        a.aluImm("^", 0, -1);
        return;
      case "!": {
        const end = a.label();
        a.mov(1, 0);
        a.movImm(0, 1);
        a.jumpImm("==", 1, 0, end);
        a.movImm(0, 0);
        a.bind(end);
        return;
      }
      case "+":
        return;
      default:
        throw new DirectUnsupported(`the unary ${e.op} operator`);
    }
  }

  incDec(target: Expr, delta: number, postfix: boolean): void {
    const a = this.a;
    if (target.kind === "var") {
      const off = this.vars.get(target.name)!;
      a.load(8, 0, FP, off);
      a.mov(1, 0);
      a.aluImm("+", 1, delta);
      a.store(8, FP, off, 1);
      if (!postfix) a.mov(0, 1);
      return;
    }
    const ref = target as MapRef;
    const { spec: m, index } = this.mapOf(ref.name);
    const key = this.keyOf(m, ref);
    const old = this.alloc(8);
    const nv = this.alloc(8);
    this.lookupValue(index, key);
    a.store(8, FP, old, 0);
    a.aluImm("+", 0, delta);
    a.store(8, FP, nv, 0);
    this.update(index, key, nv, UPDATE_ANY);
    a.load(8, 0, FP, postfix ? old : nv);
  }

  /**
   * Compare two strings in the frame, up to `n` bytes, into r0: `streq` gives 1 when they
   * hold the same bytes up to the first NUL, `strncmp` the difference of the first bytes
   * that differ (0 when none do).
   */
  strCompare(x: number, y: number, n: number, how: "streq" | "strncmp"): void {
    const a = this.a;
    const end = a.label();
    const differ = a.label();
    for (let i = 0; i < n; i++) {
      a.load(1, 1, FP, x + i);
      a.load(1, 2, FP, y + i);
      a.jump("!=", 1, 2, differ);
      a.movImm(0, how === "streq" ? 1 : 0);
      a.jumpImm("==", 1, 0, end);
    }
    a.movImm(0, how === "streq" ? 1 : 0);
    a.goto(end);
    a.bind(differ);
    if (how === "streq") a.movImm(0, 0);
    else {
      a.mov(0, 1);
      a.alu("-", 0, 2);
      this.extend(0, 32, true);
    }
    a.bind(end);
  }

  // --- strings ---

  /** A string expression in a fresh zeroed frame buffer (a variable's own, for a variable). */
  strTemp(e: Expr): { off: number; size: number } {
    const t = this.ty(e) as { k: "str"; size: number };
    if (e.kind === "var") return { off: this.vars.get(e.name)!, size: t.size };
    const bytes = (t.size + 7) & ~7;
    const off = this.alloc(bytes);
    this.zero(off, bytes);
    this.strInto(e, { base: FP, off }, t.size);
    return { off, size: t.size };
  }

  /** `r<reg> = base + off`. */
  placePtr(reg: Reg, p: Place): void {
    this.a.mov(reg, p.base);
    if (p.off) this.a.aluImm("+", reg, p.off);
  }

  /**
   * Write a string expression at `dest` (`size` bytes). With `fresh` (a ring record),
   * nothing was zeroed beforehand: every form writes a terminated string.
   */
  strInto(e: Expr, dest: Place, size: number, fresh = false): void {
    const a = this.a;
    const t = this.ty(e) as { k: "str"; size: number };
    const n = Math.min(size, t.size);
    switch (e.kind) {
      case "str": {
        const bytes = new TextEncoder().encode(e.value);
        const len = Math.min(bytes.length, size - 1);
        const lit = new Uint8Array(len + 1);
        lit.set(bytes.subarray(0, len));
        this.storeBytes(dest, lit);
        return;
      }
      case "builtin":
        if (e.name !== "comm") throw new DirectUnsupported(`the ${e.name} builtin`);
        this.placePtr(1, dest);
        a.movImm(2, 16);
        a.call(HELPER.get_current_comm);
        return;
      case "var":
        this.copy({ base: FP, off: this.vars.get(e.name)! }, dest, n);
        if (fresh) a.storeImm(1, dest.base, dest.off + n - 1, 0);
        return;
      case "field": {
        const f = this.unit.fields.get(e.field);
        if (!f) throw new DirectUnsupported(`args.${e.field}`);
        this.copy({ base: CTX, off: f.offset }, dest, Math.min(n, f.size));
        if (fresh && n <= f.size) a.storeImm(1, dest.base, dest.off + n - 1, 0);
        return;
      }
      case "call": {
        if (e.name !== "str") throw new DirectUnsupported(`${e.name}() as a string`);
        const at = this.ty(e.args[0]);
        if (at.k === "str") {
          this.strInto(e.args[0], dest, size, fresh);
          return;
        }
        const user = at.k === "ptr"
          ? at.user
          : this.unit.provider === "uprobe" || this.unit.provider === "uretprobe";
        this.int(e.args[0]);
        a.mov(3, 0);
        this.placePtr(1, dest);
        a.movImm(2, n);
        a.call(user ? HELPER.probe_read_user_str : HELPER.probe_read_kernel_str);
        return;
      }
      case "map": {
        const { spec: m, index } = this.mapOf(e.name);
        const key = this.keyOf(m, e);
        this.lookup(index, key);
        const none = a.label();
        const end = a.label();
        a.jumpImm("==", 0, 0, none);
        this.copy({ base: 0, off: 0 }, dest, n);
        a.goto(end);
        a.bind(none);
        a.storeImm(1, dest.base, dest.off, 0);
        a.bind(end);
        return;
      }
      case "ternary":
        this.branch(
          e.cond,
          () => this.strInto(e.then, dest, size, fresh),
          () => this.strInto(e.otherwise, dest, size, fresh),
        );
        return;
      default:
        throw new DirectUnsupported(`${e.kind} as a string`);
    }
  }

  /** Constant bytes at a place, in the widest stores both alignments allow. */
  storeBytes(dest: Place, bytes: Uint8Array): void {
    const a = this.a;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let i = 0;
    while (i < bytes.length) {
      const w = width(dest.off + i, bytes.length - i, dest.off + i);
      if (w === 8) {
        a.ldImm64(1, view.getBigUint64(i, true));
        a.store(8, dest.base, dest.off + i, 1);
      } else {
        const v = w === 4 ? view.getInt32(i, true) : w === 2 ? view.getUint16(i, true) : bytes[i];
        a.storeImm(w, dest.base, dest.off + i, v);
      }
      i += w;
    }
  }

  /** Copy `n` bytes between places (no helper calls: r0–r5 may be a base). */
  copy(src: Place, dest: Place, n: number): void {
    const a = this.a;
    let i = 0;
    while (i < n) {
      const w = width(src.off + i, n - i, dest.off + i);
      a.load(w, 5, src.base, src.off + i);
      a.store(w, dest.base, dest.off + i, 5);
      i += w;
    }
  }
}

/** The widest access (8, 4, 2, 1 bytes) at most `left` long that both offsets align to. */
function width(x: number, left: number, y: number): 1 | 2 | 4 | 8 {
  for (const w of [8, 4, 2] as const) {
    if (left >= w && ((x % w) + w) % w === 0 && ((y % w) + w) % w === 0) return w;
  }
  return 1;
}

/** Builtins that are one helper's return value, as it is. */
const HELPER_BUILTINS: Record<string, number> = {
  nsecs: HELPER.ktime_get_ns,
  cpu: HELPER.get_smp_processor_id,
  cgroup: HELPER.get_current_cgroup_id,
  rand: HELPER.get_prandom_u32,
  numaid: HELPER.get_numa_node_id,
};

/** Comparison operators: the unsigned and the signed jump. */
const COMPARISONS: Record<string, [Parameters<Asm["jump"]>[0], Parameters<Asm["jump"]>[0]]> = {
  "==": ["==", "=="],
  "!=": ["!=", "!="],
  "<": ["<", "s<"],
  "<=": ["<=", "s<="],
  ">": [">", "s>"],
  ">=": [">=", "s>="],
};

/** The program type of a provider, for the ones the direct back end covers. */
function progType(provider: string): DirectProgType {
  switch (provider) {
    case "tracepoint":
      return "tracepoint";
    case "rawtracepoint":
    case "BEGIN":
    case "END":
      return "raw_tracepoint";
    case "interval":
    case "profile":
      return "perf_event";
    default:
      throw new DirectUnsupported(`${provider} probes`);
  }
}
