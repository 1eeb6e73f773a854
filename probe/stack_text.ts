/**
 * Naming a running probe program's stacks (`kstack`, `ustack`) with bpf/stack: stack ids
 * read back from the program's stack maps, frames named by one {@link Symbolizer}, and
 * (when the program takes user stacks) a {@link StackPidWatch} that reads each process's
 * memory map while the process lives, so its frames are named even after it has exited
 * (bpftrace 0.17 prints the bare addresses of such a process).
 *
 * @module
 */

import type { BpfObject } from "../bpf/object/object.ts";
import type { ProbeObject } from "./loaded.ts";
import { readStack, stackIdProblem } from "../bpf/stack/capture.ts";
import { formatFrame, formatStack, type Frame } from "../bpf/stack/frame.ts";
import { StackPidWatch } from "../bpf/stack/stack_pids.ts";
import { Symbolizer } from "../bpf/stack/symbolizer.ts";
import { type StackKind, stackMapName, type StackTextSource, unpackStack } from "./stack_kinds.ts";

/** bpf_get_stackid()'s -EFAULT: no stack to take (a user stack of a kernel thread). */
const NO_STACK = -14;

/**
 * The stacks of one loaded probe program.
 *
 * @example
 * ```ts
 * const stacks = new ProbeStacks(object, spec.stackPids ?? false);
 * stacks.start(); // before the probes attach
 * // ... at print time, through the print context:
 * stacks.text({ user: false, mode: "bpftrace", depth: 127 }, raw, true);
 * stacks.close();
 * ```
 */
export class ProbeStacks implements StackTextSource, Disposable {
  /** Names the frames. */
  readonly symbolizer: Symbolizer = new Symbolizer();
  readonly #object: ProbeObject;
  readonly #watch?: StackPidWatch;
  readonly #abort = new AbortController();
  readonly #frames = new Map<string, Frame[] | undefined>();

  /**
   * The stacks of a loaded object.
   *
   * @param object The probe program's object.
   * @param watchPids Whether it takes user stacks (has stack_pids.bpf.h's ring).
   */
  constructor(object: ProbeObject, watchPids: boolean) {
    this.#object = object;
    // Programs with user stacks are built by the C back end: their object is a BpfObject.
    if (watchPids) this.#watch = new StackPidWatch(object as BpfObject, this.symbolizer);
  }

  /** Start reading processes' maps as the BPF side announces them (until {@link stop}). */
  start(): void {
    // The object's close ends a wait in flight; what the loop then reads is gone anyway.
    this.#watch?.until(this.#abort.signal).catch(() => {});
  }

  /** Read what announcements are left, and stop watching. */
  stop(): void {
    if (this.#abort.signal.aborted) return;
    this.#abort.abort();
    if (!this.#object.closed) this.#watch?.pump();
  }

  /**
   * {@link StackTextSource.text}: the stack in bpftrace's layout for its mode.
   *
   * @param kind The stack's kind.
   * @param raw The stored value.
   * @param inKey Whether it is printed in a map key.
   * @returns The text: a newline, then one indented frame per line.
   */
  text(kind: StackKind, raw: bigint, inKey: boolean): string {
    const perf = kind.mode === "perf";
    const indent = perf ? "\t" : inKey ? "    " : "        ";
    const frames = this.#stack(kind, raw);
    if (typeof frames === "string") return frames ? `\n${indent}[${frames}]\n` : "\n";
    return formatStack(frames, perf ? "perf" : "bpftrace", indent);
  }

  /**
   * {@link StackTextSource.frames}: the frames as bpftrace names them (`gamma+20`).
   *
   * @param kind The stack's kind.
   * @param raw The stored value.
   * @returns One text per frame, innermost first (none when the stack was not taken).
   */
  frames(kind: StackKind, raw: bigint): string[] {
    const frames = this.#stack(kind, raw);
    return typeof frames === "string" ? [] : frames.map((f) => formatFrame(f));
  }

  /** The frames of a stored stack, or why there are none ("" for no stack at all). */
  #stack(kind: StackKind, raw: bigint): Frame[] | string {
    const { id, pid } = unpackStack(raw);
    if (id < 0) return id === NO_STACK ? "" : stackIdProblem(id, kind.user)!;
    const key = `${kind.depth}:${raw}`;
    if (!this.#frames.has(key)) {
      const addrs = this.#object.closed
        ? undefined
        : readStack(this.#object.map(stackMapName(kind.depth)), id);
      this.#frames.set(key, addrs && this.symbolizer.frames(kind.user ? pid : 0, addrs));
    }
    return this.#frames.get(key) ?? "stack no longer in the stack map";
  }

  /** Stop watching and close the symbolizer's files. */
  close(): void {
    this.stop();
    this.symbolizer.close();
  }

  /** Same as close(). */
  [Symbol.dispose](): void {
    this.close();
  }
}
