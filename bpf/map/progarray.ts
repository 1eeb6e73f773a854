/**
 * ProgArray: the BPF_MAP_TYPE_PROG_ARRAY behind bpf_tail_call(), filled with programs.
 *
 * @module
 */

import { BpfError } from "../../ffi/errors.ts";
import type { BpfMap } from "./map.ts";
import { Program } from "../object/program.ts";
import { show } from "./map.ts";

/**
 * A tail-call table: index → program.
 *
 * The array's fd belongs to the object and stays open as long as it does: the kernel
 * empties a prog array when its last user-space reference goes, which would silently stop
 * the tail calls.
 *
 * @example
 * ```ts
 * // dispatch (raw_tp/sys_enter) tail-calls jmp[syscall number] for this process
 * using obj = await BpfObject.open("build/tests/tailcall.bpf.o");
 * obj.globals.target_tgid = Deno.pid;
 * obj.load();
 * const jmp = obj.progArray("jmp");
 * jmp.set(3, obj.program("on_close")); // close(2)
 * obj.attachAll();
 * Deno.openSync("/dev/null").close();
 * obj.map("handled").get(3); // 1n or more: the closes on_close counted
 * ```
 */
export class ProgArray {
  readonly #map: BpfMap;
  readonly #programs: () => Program[];
  readonly #slots = new Map<number, Program>();

  /**
   * Wrap a prog_array map (used by BpfObject.progArray()).
   *
   * @param map The map.
   * @param programs The object's programs, to tell the array's program type.
   */
  constructor(map: BpfMap, programs: () => Program[]) {
    if (map.type !== "prog_array") {
      throw new BpfError({
        op: `prog array '${map.name}'`,
        message: `map '${map.name}' is a ${map.type} map, not a prog_array`,
      });
    }
    this.#map = map;
    this.#programs = programs;
  }

  /** The underlying map. */
  get map(): BpfMap {
    return this.#map;
  }

  /** The number of slots. */
  get size(): number {
    return this.#map.maxEntries;
  }

  #index(index: number, op: string): Uint8Array {
    if (!Number.isInteger(index) || index < 0 || index >= this.#map.maxEntries) {
      throw new BpfError({
        op,
        message: `index ${index} is outside prog array '${this.#map.name}' ` +
          `(0..${this.#map.maxEntries - 1})`,
      });
    }
    return new Uint8Array(new Uint32Array([index]).buffer);
  }

  /**
   * The program type the array holds: that of programs already set, else of the other
   * loaded programs of the object (the ones that tail-call through it).
   */
  #expectedType(candidate: Program): string | undefined {
    const set = [...this.#slots.values()];
    if (set.length) return set[0].type;
    const others = this.#programs().filter((p) => p !== candidate && p.fd >= 0);
    const counts = new Map<string, number>();
    for (const p of others) counts.set(p.type, (counts.get(p.type) ?? 0) + 1);
    return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0];
  }

  /** The program a caller named: a Program, or the name of one of the object's programs. */
  #program(program: Program | string, op: string): Program {
    if (program instanceof Program) return program;
    const programs = this.#programs();
    if (typeof program === "string") {
      const p = programs.find((x) => x.name === program);
      if (p) return p;
      throw new BpfError({
        op,
        message: `the object has no program named '${program}'`,
        hint: `programs are: ${programs.map((x) => x.name).join(", ")}`,
      });
    }
    throw new BpfError({
      op,
      message: `expected a Program or a program name, not ${show(program)}`,
      hint: 'e.g. jmp.set(59, obj.program("hello_exec"))',
    });
  }

  /**
   * Put a program in a slot.
   *
   * @param index The slot (e.g. a syscall number).
   * @param program A loaded program of the array's program type, or its name.
   * @returns This array, for chaining.
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/tailcall.bpf.o");
   * obj.load();
   * const jmp = obj.progArray("jmp");
   * jmp.set(39, obj.program("on_getpid")).set(3, "on_close"); // a program, or its name
   * try {
   *   jmp.set(1, "wrong_type");
   * } catch (e) {
   *   // "…program 'wrong_type' is a socket_filter program but prog array 'jmp' holds
   *   // raw_tracepoint programs", with a hint
   *   console.log((e as BpfError).message);
   * }
   * ```
   */
  set(index: number, program: Program | string): this {
    const op = `prog array set '${this.#map.name}'[${index}]`;
    const key = this.#index(index, op);
    program = this.#program(program, op);
    const fd = program.fd;
    if (fd < 0) {
      throw new BpfError({ op, message: `program '${program.name}' is not loaded` });
    }
    const expected = this.#expectedType(program);
    const mismatch = (why: string) =>
      new BpfError({
        op,
        message: `program '${program.name}' is a ${program.type} program but prog array ` +
          `'${this.#map.name}' holds ${expected ?? "programs of another type"} programs${why}`,
        hint: "tail calls only jump between programs of the same type",
      });
    if (expected && expected !== program.type && this.#slots.size > 0) throw mismatch("");
    try {
      this.#map.set(key, new Uint8Array(new Int32Array([fd]).buffer));
    } catch (e) {
      if (e instanceof BpfError && e.code === "EINVAL") throw mismatch(" (the kernel refused it)");
      throw e;
    }
    this.#slots.set(index, program);
    return this;
  }

  /**
   * The program in a slot.
   *
   * @param index The slot.
   * @returns The program set there through this array, or undefined when empty.
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/tailcall.bpf.o");
   * obj.load();
   * const jmp = obj.progArray("jmp");
   * jmp.set(39, obj.program("on_getpid"));
   * jmp.get(39)?.name; // "on_getpid"
   * jmp.get(3); // undefined: empty
   * ```
   */
  get(index: number): Program | undefined {
    const key = this.#index(index, `prog array get '${this.#map.name}'[${index}]`);
    if (!this.#map.has(key)) {
      this.#slots.delete(index);
      return undefined;
    }
    return this.#slots.get(index);
  }

  /**
   * Empty a slot.
   *
   * @param index The slot.
   * @returns True if it held a program.
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/tailcall.bpf.o");
   * obj.load();
   * const jmp = obj.progArray("jmp");
   * jmp.set(39, obj.program("on_getpid"));
   * jmp.delete(39); // true
   * jmp.delete(39); // false: already empty
   * ```
   */
  delete(index: number): boolean {
    const key = this.#index(index, `prog array delete '${this.#map.name}'[${index}]`);
    this.#slots.delete(index);
    return this.#map.delete(key);
  }

  /**
   * The filled slots.
   *
   * @returns `[index, program name]` pairs, in index order.
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/tailcall.bpf.o");
   * obj.load();
   * const jmp = obj.progArray("jmp");
   * jmp.set(39, obj.program("on_getpid")).set(3, obj.program("on_close"));
   * jmp.list(); // [[3, "on_close"], [39, "on_getpid"]]
   * ```
   */
  list(): [number, string][] {
    const out: [number, string][] = [];
    for (const raw of this.#map.keys()) {
      const index = typeof raw === "number"
        ? raw
        : new DataView((raw as Uint8Array).buffer).getUint32(0, true);
      out.push([index, this.#slots.get(index)?.name ?? "(set elsewhere)"]);
    }
    return out.sort((a, b) => a[0] - b[0]);
  }
}
