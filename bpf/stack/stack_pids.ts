/**
 * The user side of `scripts/lib/stack_pids.bpf.h`: reads each process's memory map when
 * the BPF side announces it (its first user stack, an exec, new code mapped), so that its
 * frames are named after it exits. Any object that takes user stacks (a tool, the probe
 * language's programs) includes the header and runs one of these while it traces.
 *
 * @module
 */

import type { BpfObject } from "../object/object.ts";
import type { RingBuffer } from "../events/ringbuf.ts";
import type { Symbolizer } from "./symbolizer.ts";

/** Why the BPF side announced a process (`enum stack_pid_reason`). */
export const STACK_PID_SEEN = 0;

/**
 * Reads processes' memory maps as the BPF side announces them.
 *
 * @example
 * ```ts
 * using obj = await BpfObject.open("build/scripts/profile.bpf.o");
 * obj.load();
 * using sym = new Symbolizer();
 * const watch = new StackPidWatch(obj, sym);
 * await watch.until(AbortSignal.timeout(200)); // poll the notifications for 200 ms
 * ```
 */
export class StackPidWatch {
  readonly #rb: RingBuffer<Uint8Array>;
  readonly #sym: Symbolizer;
  /** How many notifications were handled. */
  seen = 0;

  /**
   * Watch an object's `stack_pids` ring buffer.
   *
   * @param obj A loaded object that includes stack_pids.bpf.h, its programs attached.
   * @param sym The symbolizer to feed.
   * @param map The ring buffer's name (default `stack_pids`).
   */
  constructor(obj: BpfObject, sym: Symbolizer, map = "stack_pids") {
    this.#rb = obj.ringbuf<Uint8Array>(map, { type: "bytes" });
    this.#sym = sym;
  }

  /**
   * Handle what has arrived, without waiting.
   *
   * @returns How many notifications were handled.
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/scripts/profile.bpf.o");
   * obj.load();
   * using sym = new Symbolizer();
   * new StackPidWatch(obj, sym).pump(); // 0
   * ```
   */
  pump(): number {
    return this.#rb.consumeRaw((bytes, offset, length) => this.#handle(bytes, offset, length));
  }

  /**
   * Handle notifications as they come until the signal aborts.
   *
   * @param signal Ends the watch (Ctrl-C, a duration).
   * @returns When aborted.
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/scripts/profile.bpf.o");
   * obj.load();
   * using sym = new Symbolizer();
   * await new StackPidWatch(obj, sym).until(AbortSignal.timeout(100));
   * ```
   */
  async until(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.#rb.poll(100, (ev) => this.#handle(ev, 0, ev.length));
    }
    this.pump();
  }

  #handle(bytes: Uint8Array, offset: number, length: number): void {
    if (length < 8) return;
    const dv = new DataView(bytes.buffer, bytes.byteOffset + offset, 8);
    const pid = dv.getUint32(0, true);
    if (dv.getUint32(4, true) === STACK_PID_SEEN) this.#sym.remember(pid);
    else this.#sym.changed(pid);
    this.seen++;
  }
}
