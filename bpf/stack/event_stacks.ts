/**
 * Stacks inside decoded events: the fields of a ring-buffer or perf-buffer event that hold
 * `bpf_get_stack()` output (`__u64` arrays named like `kstack`, `ustack`, `user_stack`),
 * named frame by frame with the event's `pid` (or `tgid`). A field `<name>_bytes`,
 * `_len`, `_size` or `_sz` beside one says how many bytes it holds. Used by the shell's
 * `tail` to print events with their stacks.
 *
 * @module
 */

import { stackAddresses } from "./capture.ts";
import type { Frame } from "./frame.ts";
import { Symbolizer } from "./symbolizer.ts";

/** One stack found in an event. */
export interface EventStack {
  /** The field's name, e.g. `"ustack"`. */
  readonly name: string;
  /** Its frames, innermost first. */
  readonly frames: Frame[];
}

const STACK_FIELD = /stack/i;
const LENGTH_SUFFIXES = ["_bytes", "_len", "_size", "_sz"];

/**
 * Finds and names the stacks of events, remembering each process as its first event comes
 * (while it most likely still runs).
 *
 * @example
 * ```ts
 * using stacks = new EventStacks();
 * const ev = { pid: Deno.pid, comm: "deno", kstack: [0xffffffff81e5c1fan, 0n] };
 * stacks.split(ev); // { rest: { pid, comm }, stacks: [{ name: "kstack", frames: [...] }] }
 * ```
 */
export class EventStacks implements Disposable {
  readonly #sym: Symbolizer;
  readonly #own: boolean;

  /**
   * Events are named through a symbolizer: the given one, or one of its own.
   *
   * @param sym The symbolizer to use (closed by the caller), or undefined.
   */
  constructor(sym?: Symbolizer) {
    this.#sym = sym ?? new Symbolizer();
    this.#own = !sym;
  }

  /**
   * Split an event into its stacks and the rest of its fields.
   *
   * @param ev A decoded event.
   * @returns The other fields (length fields of stacks left out) and the named stacks, or
   *   undefined when the event holds no stack.
   * @example
   * ```ts
   * using stacks = new EventStacks();
   * stacks.split({ pid: Deno.pid, ustack: [0x10n, 0n], ustack_bytes: 8 })?.stacks[0].frames;
   * ```
   */
  split(ev: unknown): { rest: Record<string, unknown>; stacks: EventStack[] } | undefined {
    if (!ev || typeof ev !== "object" || Array.isArray(ev) || ArrayBuffer.isView(ev)) {
      return undefined;
    }
    const rec = ev as Record<string, unknown>;
    const names = Object.keys(rec).filter((k) => STACK_FIELD.test(k) && isAddressArray(rec[k]));
    if (!names.length) return undefined;
    const pid = Number(rec.pid ?? rec.tgid ?? 0);
    // Read the process first: naming a kernel stack may take a while the first time.
    if (pid > 0) this.#sym.rememberOnce(pid);
    const rest: Record<string, unknown> = {};
    const hidden = new Set(names.flatMap((n) => LENGTH_SUFFIXES.map((s) => n + s)));
    for (const [k, v] of Object.entries(rec)) {
      if (!names.includes(k) && !hidden.has(k)) rest[k] = v;
    }
    const stacks = names.map((name) => {
      const lengthField = LENGTH_SUFFIXES.map((s) => rec[name + s]).find((v) =>
        typeof v === "number" || typeof v === "bigint"
      );
      const bytes = lengthField === undefined ? undefined : Math.max(0, Number(lengthField));
      const addrs = stackAddresses(rec[name] as bigint[], bytes);
      return { name, frames: this.#sym.frames(pid, addrs) };
    });
    return { rest, stacks };
  }

  /** Close the symbolizer when it is this object's own. */
  [Symbol.dispose](): void {
    if (this.#own) this.#sym.close();
  }
}

function isAddressArray(v: unknown): boolean {
  if (v instanceof BigUint64Array) return true;
  return Array.isArray(v) && v.length > 0 && typeof v[0] === "bigint";
}
