/**
 * Globals: the variables of `.rodata`, `.data`, `.bss` and custom `.data.*`/`.rodata.*`
 * sections, readable and writable by name, typed by BTF.
 *
 * Before load they live in libbpf's initial image of each section. After load each section
 * is the kernel map itself, which bpfsh mmaps (libbpf 1.1 only does that for skeletons):
 * `.data` and `.bss` read-write, so writes are live, `.rodata` read-only (it is frozen).
 *
 * @module
 */

import { BpfError } from "../../ffi/errors.ts";
import { libbpf } from "../../ffi/libbpf.ts";
import { errno, libc, MAP_SHARED, pageSize, PROT_READ, PROT_WRITE } from "../../ffi/libc.ts";
import type { Btf } from "../btf/btf.ts";
import type { Codec } from "../btf/codec/types.ts";

/** One global variable. */
export interface GlobalVar {
  /** The variable's name. */
  name: string;
  /** Its section: `.rodata`, `.data`, `.bss`, `.data.foo`, … */
  section: string;
  /** Its C type. */
  type: string;
  /** Offset in the section. */
  offset: number;
  /** Size in bytes. */
  size: number;
}

/** What globals need from the object. */
export interface GlobalsOwner {
  /** The object's name. */
  readonly name: string;
  /** Whether the object is loaded. */
  readonly loaded: boolean;
  /** The object's BTF. */
  readonly btf: Btf | undefined;
  /** Throw when the object is closed. */
  assertOpen(op: string): void;
  /** The internal (section) maps: their section name and libbpf map pointer. */
  sectionMaps(): { section: string; ptr: Deno.PointerObject; datasecId: number }[];
}

interface Slot extends GlobalVar {
  codec: Codec;
  ptr: Deno.PointerObject;
}

/**
 * The globals of an object, as a table of variables plus a proxy for `obj.globals.x`.
 *
 * @example
 * ```ts
 * obj.globals.filter_uid = 1000; // before load for .rodata
 * obj.load();
 * obj.globals.counter;           // live for .data/.bss
 * ```
 */
export class Globals {
  readonly #owner: GlobalsOwner;
  #slots?: Map<string, Slot>;
  /** Our mmaps of loaded section maps, by section name; unmapped by close(). */
  readonly #mapped = new Map<string, { addr: Deno.PointerObject; len: number; size: number }>();
  /** The `obj.globals` proxy: property reads and writes map to variables. */
  readonly proxy: Record<string, unknown>;

  /**
   * Build the globals of an object (used by BpfObject).
   *
   * @param owner The owning object.
   */
  constructor(owner: GlobalsOwner) {
    this.#owner = owner;
    this.proxy = new Proxy({}, {
      get: (_t, name) => typeof name === "string" ? this.get(name) : undefined,
      set: (_t, name, value) => {
        if (typeof name !== "string") return false;
        this.set(name, value);
        return true;
      },
      has: (_t, name) => typeof name === "string" && this.#table().has(name),
      ownKeys: () => [...this.#table().keys()],
      getOwnPropertyDescriptor: (_t, name) =>
        typeof name === "string" && this.#table().has(name)
          ? { enumerable: true, configurable: true, writable: true, value: this.get(name) }
          : undefined,
    });
  }

  #table(): Map<string, Slot> {
    if (this.#slots) return this.#slots;
    const slots = new Map<string, Slot>();
    const btf = this.#owner.btf;
    if (btf) {
      for (const m of this.#owner.sectionMaps()) {
        if (m.section === ".kconfig") continue;
        for (const v of btf.datasec(m.section) ?? []) {
          slots.set(v.name, {
            name: v.name,
            section: m.section,
            type: btf.nameOf(v.typeId),
            offset: v.offset,
            size: v.size,
            codec: btf.codec(v.typeId),
            ptr: m.ptr,
          });
        }
      }
    }
    this.#slots = slots;
    return slots;
  }

  /**
   * Every global variable.
   *
   * @returns Name, section, type, offset and size of each.
   * @example
   * ```ts
   * obj.globalsInfo().map((g) => g.name);
   * ```
   */
  list(): GlobalVar[] {
    this.#owner.assertOpen("globals");
    return [...this.#table().values()].map(({ codec: _c, ptr: _p, ...rest }) => rest);
  }

  #slot(name: string, op: string): Slot {
    this.#owner.assertOpen(op);
    const slot = this.#table().get(name);
    if (!slot) {
      const names = [...this.#table().keys()];
      throw new BpfError({
        op,
        message: `object '${this.#owner.name}' has no global variable '${name}'`,
        hint: names.length ? `globals are: ${names.join(", ")}` : "the object has no globals",
      });
    }
    return slot;
  }

  /** A view of a section's memory: libbpf's initial image before load, the map after. */
  #memory(slot: Slot, op: string): Uint8Array {
    if (this.#owner.loaded) return this.#live(slot, op);
    const size = new BigUint64Array(1);
    const p = libbpf().bpf_map__initial_value(slot.ptr, size);
    if (!p || Number(size[0]) < slot.offset + slot.size) {
      throw new BpfError({
        op,
        message: `section '${slot.section}' has no accessible memory`,
        hint: this.#owner.loaded ? "the kernel may lack mmapable array maps" : undefined,
      });
    }
    return new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(p, Number(size[0])));
  }

  #live(slot: Slot, op: string): Uint8Array {
    let m = this.#mapped.get(slot.section);
    if (!m) {
      const sym = libbpf();
      const fd = sym.bpf_map__fd(slot.ptr);
      const size = sym.bpf_map__value_size(slot.ptr);
      const len = Math.ceil(size / pageSize()) * pageSize();
      const prot = slot.section.startsWith(".rodata") ? PROT_READ : PROT_READ | PROT_WRITE;
      const addr = fd < 0 ? null : libc().mmap(null, BigInt(len), prot, MAP_SHARED, fd, 0n);
      if (!addr || Deno.UnsafePointer.value(addr) === 0xffffffffffffffffn) {
        throw new BpfError({
          op,
          errno: fd < 0 ? 9 : errno(),
          message: `cannot map section '${slot.section}' of object '${this.#owner.name}'`,
          hint: "the kernel may lack mmapable array maps (5.5+)",
        });
      }
      m = { addr, len, size };
      this.#mapped.set(slot.section, m);
    }
    return new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(m.addr, m.size));
  }

  /** Unmap the live sections; the object calls this before it frees the maps. */
  close(): void {
    for (const m of this.#mapped.values()) libc().munmap(m.addr, BigInt(m.len));
    this.#mapped.clear();
  }

  /**
   * Read a variable (after load: the live value for .data/.bss).
   *
   * @param name The variable.
   * @returns Its decoded value.
   * @example
   * ```ts
   * obj.globalsTable.get("counter");
   * ```
   */
  get(name: string): unknown {
    const op = `read global '${name}'`;
    const slot = this.#slot(name, op);
    return slot.codec.decode(this.#memory(slot, op), slot.offset);
  }

  /**
   * Write a variable: `.rodata` before load only, `.data`/`.bss` any time (live after load).
   *
   * @param name The variable.
   * @param value The new value, checked against its BTF type.
   * @example
   * ```ts
   * obj.globalsTable.set("filter_uid", 1000);
   * ```
   */
  set(name: string, value: unknown): void {
    const op = `set global '${name}'`;
    const slot = this.#slot(name, op);
    if (this.#owner.loaded && slot.section.startsWith(".rodata")) {
      throw new BpfError({
        op,
        message: `'${name}' is in ${slot.section}, which is read-only once the object is loaded`,
        hint: "set .rodata globals before load(), or make the variable non-const (.data/.bss)",
      });
    }
    // Encode aside first: a value that does not fit must leave memory untouched.
    let bytes: Uint8Array;
    try {
      bytes = slot.codec.encode(value, new Uint8Array(slot.size), 0);
    } catch (e) {
      const why = e instanceof Error ? e.message.replace(/^encode: /, "") : String(e);
      throw new BpfError({ op, message: `value does not fit ${slot.type}: ${why}`, cause: e });
    }
    this.#memory(slot, op).set(bytes.subarray(0, slot.size), slot.offset);
  }
}
