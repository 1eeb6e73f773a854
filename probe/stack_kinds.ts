/**
 * The value kinds of `kstack` and `ustack`. The BPF side stores a stack as one `u64`: the
 * id `bpf_get_stackid()` gave in the low 32 bits (negative: an errno), and for a user
 * stack the process id above it, so each process's frames are named from its own memory
 * map. A kind's name carries its mode and depth (`kstack`, `ustack(perf)`,
 * `kstack(perf, 3)`), so a spec read back from the cache finds its kinds by name; each
 * depth has its own stack map ({@link stackMapName}). The text is made at print time by
 * what the runner puts in the print context ({@link StackTextSource}, ./stack_text.ts).
 *
 * @module
 */

import { defineKindFamily, type KindDef, kindDef, type PrintContext, type Ty } from "./types.ts";

/** How a stack prints: bpftrace's (`name+offset` lines) or perf's (address, name, module). */
export type StackMode = "bpftrace" | "perf";

/** What a `kstack`/`ustack` value is. */
export interface StackKind {
  /** A user stack (`ustack`) rather than the kernel's. */
  user: boolean;
  /** How it prints. */
  mode: StackMode;
  /** The most frames taken. */
  depth: number;
}

/** Frames taken when no depth is given (the kernel's default `perf_event_max_stack`). */
export const DEFAULT_STACK_DEPTH = 127;

/** The print context's entry ({@link PrintContext.extras}) that names stacks. */
export const STACKS_EXTRA = "stacks";

/** What names the frames of stored stacks at print time (the runner's ./stack_text.ts). */
export interface StackTextSource {
  /**
   * A stack as bpftrace prints it: a newline, then one indented frame per line.
   *
   * @param kind The stack's kind.
   * @param raw The stored value.
   * @param inKey Whether it is printed in a map key (bpftrace indents 4 there, else 8).
   * @returns The text.
   */
  text(kind: StackKind, raw: bigint, inKey: boolean): string;
  /**
   * A stack for JavaScript: one formatted frame per element, innermost first.
   *
   * @param kind The stack's kind.
   * @param raw The stored value.
   * @returns The frames.
   */
  frames(kind: StackKind, raw: bigint): string[];
}

/**
 * A stack kind's name, as types carry it and errors show it.
 *
 * @param k The kind.
 * @returns e.g. `"kstack"`, `"ustack(perf)"`, `"kstack(3)"`, `"ustack(perf, 3)"`.
 * @example
 * ```ts
 * stackKindName({ user: true, mode: "perf", depth: 3 }); // "ustack(perf, 3)"
 * ```
 */
export function stackKindName(k: StackKind): string {
  const base = k.user ? "ustack" : "kstack";
  const args = [
    ...(k.mode === "perf" ? ["perf"] : []),
    ...(k.depth !== DEFAULT_STACK_DEPTH ? [String(k.depth)] : []),
  ];
  return args.length ? `${base}(${args.join(", ")})` : base;
}

/**
 * The kind a name stands for.
 *
 * @param name A kind's name.
 * @returns The kind, or undefined when the name is not a stack kind's.
 * @example
 * ```ts
 * parseStackKind("kstack(perf, 3)"); // { user: false, mode: "perf", depth: 3 }
 * ```
 */
export function parseStackKind(name: string): StackKind | undefined {
  const m = /^([ku])stack(?:\((perf)?(?:, )?(\d+)?\))?$/.exec(name);
  if (!m) return undefined;
  return {
    user: m[1] === "u",
    mode: m[2] ? "perf" : "bpftrace",
    depth: m[3] ? Number(m[3]) : DEFAULT_STACK_DEPTH,
  };
}

/**
 * The type of a stack value.
 *
 * @param k The kind.
 * @returns Its type.
 * @example
 * ```ts
 * stackTy({ user: false, mode: "bpftrace", depth: 127 }); // the type of kstack
 * ```
 */
export function stackTy(k: StackKind): Ty {
  const name = stackKindName(k);
  kindDef(name);
  return { k: "special", kind: name };
}

/**
 * The stack map a depth's stacks are kept in.
 *
 * @param depth The most frames taken.
 * @returns The BPF map's name.
 * @example
 * ```ts
 * stackMapName(127); // "bt_stack_127"
 * ```
 */
export function stackMapName(depth: number): string {
  return `bt_stack_${depth}`;
}

/**
 * The parts of a stored stack value.
 *
 * @param raw The stored `u64`.
 * @returns The stack id (negative: the errno `bpf_get_stackid()` returned) and the pid.
 * @example
 * ```ts
 * unpackStack((1234n << 32n) | 7n); // { id: 7, pid: 1234 }
 * ```
 */
export function unpackStack(raw: bigint): { id: number; pid: number } {
  return { id: Number(BigInt.asIntN(32, raw)), pid: Number(raw >> 32n) };
}

function source(ctx: PrintContext): StackTextSource | undefined {
  return ctx.extras[STACKS_EXTRA] as StackTextSource | undefined;
}

defineKindFamily((name): KindDef | undefined => {
  const k = parseStackKind(name);
  if (!k) return undefined;
  const raw = (v: DataView, off: number) => v.getBigUint64(off, true);
  const bare = (r: bigint) => `\n[stack ${unpackStack(r).id}]\n`;
  return {
    name,
    size: 8,
    cType: "__u64",
    printf: "string",
    text: (v, off, ctx) => source(ctx)?.text(k, raw(v, off), false) ?? bare(raw(v, off)),
    keyText: (v, off, ctx) => source(ctx)?.text(k, raw(v, off), true) ?? bare(raw(v, off)),
    value: (v, off, ctx) => source(ctx)?.frames(k, raw(v, off)) ?? [],
  };
});
