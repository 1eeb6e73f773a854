/**
 * BTF (BPF Type Format) in TypeScript: parse a raw blob, look types up by name, print
 * them as C, answer CO-RE questions (`hasField`) and build codecs for map keys, values,
 * events and globals.
 *
 * Parsing is lazy: one pass indexes where each type record starts; names and members
 * are decoded when a type is asked for, so {@link Btf.kernel} stays fast on the kernel's
 * BTF (megabytes).
 *
 * @example
 * ```ts
 * import { Btf } from "./bpf/btf/btf.ts";
 * const k = Btf.kernel();
 * k.hasField("iov_iter", "__iov"); // true on 6.x
 * console.log(k.format("struct iov_iter"));
 * ```
 *
 * @module
 */

import { ERRNO } from "../../ffi/abi.ts";
import { BpfError } from "../../ffi/errors.ts";
import { declare } from "./cdecl.ts";
import { buildCodec } from "./codec/generator.ts";
import type { Codec, CodecOptions } from "./codec/types.ts";
import { elfSections, elfSymbols } from "../elf/elf.ts";
import { formatType } from "./format.ts";
import { BtfData } from "./raw.ts";
import {
  BTF_KIND,
  type BtfDatasec,
  type BtfFieldInfo,
  type BtfKind,
  type BtfType,
  type DatasecVar,
  KIND_NAMES,
} from "./types.ts";

export type { Codec, CodecOptions } from "./codec/types.ts";
export * from "./types.ts";

/**
 * Where the running kernel exposes its BTF.
 *
 * @example
 * ```ts
 * Btf.fromFile(KERNEL_BTF_PATH);
 * ```
 */
export const KERNEL_BTF_PATH = "/sys/kernel/btf/vmlinux";

/** Modifier chains longer than this are malformed (a loop). */
const MAX_CHAIN = 64;

/** For a bare name, which kind wins when several types share it (lower is better). */
const RANK: Record<number, number> = {
  [BTF_KIND.STRUCT]: 0,
  [BTF_KIND.UNION]: 0,
  [BTF_KIND.ENUM]: 0,
  [BTF_KIND.ENUM64]: 0,
  [BTF_KIND.TYPEDEF]: 1,
  [BTF_KIND.INT]: 2,
  [BTF_KIND.FLOAT]: 2,
  [BTF_KIND.DATASEC]: 3,
  [BTF_KIND.VAR]: 4,
  [BTF_KIND.FUNC]: 4,
  [BTF_KIND.FWD]: 5,
};

/** Kinds a keyword-qualified name may match, best first. */
const KEYWORD_KINDS: Record<string, number[]> = {
  struct: [BTF_KIND.STRUCT, BTF_KIND.FWD],
  union: [BTF_KIND.UNION, BTF_KIND.FWD],
  enum: [BTF_KIND.ENUM, BTF_KIND.ENUM64, BTF_KIND.FWD],
  typedef: [BTF_KIND.TYPEDEF],
};

/** Kinds offered by {@link Btf.names} for a bare prefix. */
const TYPE_KINDS = new Set<number>([
  BTF_KIND.INT,
  BTF_KIND.STRUCT,
  BTF_KIND.UNION,
  BTF_KIND.ENUM,
  BTF_KIND.ENUM64,
  BTF_KIND.TYPEDEF,
  BTF_KIND.FLOAT,
]);

/** Split `"struct foo"` into keyword and name. */
function splitName(query: string): { keyword?: string; name: string } {
  const q = query.trim().replace(/\s+/g, " ");
  const m = /^(struct|union|enum|typedef) (.+)$/.exec(q);
  return m ? { keyword: m[1], name: m[2] } : { name: q };
}

/** Read a whole file (sysfs reports the size, so one read suffices). */
function readAll(path: string): Uint8Array {
  let f: Deno.FsFile;
  try {
    f = Deno.openSync(path);
  } catch (e) {
    const missing = e instanceof Deno.errors.NotFound;
    throw new BpfError({
      op: "btf load",
      errno: missing ? 2 : e instanceof Deno.errors.PermissionDenied ? 13 : 5,
      message: `cannot read '${path}'`,
      hint: missing && path.startsWith("/sys/kernel/btf/")
        ? "this kernel exposes no BTF: it needs CONFIG_DEBUG_INFO_BTF=y"
        : undefined,
      cause: e,
    });
  }
  try {
    let buf = new Uint8Array(f.statSync().size || 1 << 20);
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        const bigger = new Uint8Array(buf.length * 2);
        bigger.set(buf);
        buf = bigger;
      }
      const r = f.readSync(buf.subarray(n));
      if (r === null || r === 0) break;
      n += r;
    }
    return n === buf.length ? buf : buf.subarray(0, n);
  } finally {
    f.close();
  }
}

/**
 * A parsed BTF blob: the kernel's, a kernel module's (split on the kernel's), or a BPF
 * object's.
 *
 * @example
 * ```ts
 * const btf = Btf.fromElf(Deno.readFileSync("build/tests/btf_types.bpf.o"));
 * btf.sizeOf(btf.findId("struct padded")!); // 16
 * const padded = btf.codec("struct padded");
 * padded.decode(padded.encode({ a: 1n, b: 2 })); // { a: 1n, b: 2 }
 * ```
 */
export class Btf {
  static #kernel?: Btf;

  readonly #data: BtfData;
  readonly #types: (BtfType | undefined)[] = [];
  readonly #found = new Map<string, number | undefined>();
  /** Codecs by type id, then (`"n"` suffix) those with u64 as numbers. */
  readonly #codecs = new Map<number | string, Codec<unknown>>();
  #nameIndex?: Map<string, string[]>;

  /** The base BTF this one extends (split BTF), if any. */
  readonly base?: Btf;
  /** The raw blob this was parsed from. */
  readonly bytes: Uint8Array;

  private constructor(bytes: Uint8Array, base?: Btf) {
    this.bytes = bytes;
    this.base = base;
    this.#data = new BtfData(bytes, base ? base.#data : undefined);
  }

  /**
   * Parse a raw BTF blob.
   *
   * @param bytes The blob (header, type and string sections), e.g. from
   *   `btf__raw_data()` or `/sys/kernel/btf/vmlinux`.
   * @param base For split BTF (kernel modules): the BTF it extends.
   * @returns The parsed BTF; types are decoded lazily.
   * @throws {BpfError} op `"btf parse"` when the blob is malformed.
   * @example
   * ```ts
   * const btf = Btf.parse(Deno.readFileSync("/sys/kernel/btf/vmlinux"));
   * btf.count; // number of type ids, void included
   * ```
   */
  static parse(bytes: Uint8Array, base?: Btf): Btf {
    return new Btf(bytes, base);
  }

  /**
   * The running kernel's BTF, read and indexed once, then cached.
   *
   * @returns The kernel BTF.
   * @throws {BpfError} op `"btf load"` when the kernel has no BTF.
   * @example
   * ```ts
   * Btf.kernel().hasField("task_struct", "pid"); // true
   * ```
   */
  static kernel(): Btf {
    return Btf.#kernel ??= Btf.fromFile(KERNEL_BTF_PATH);
  }

  /**
   * A kernel module's BTF (split on the kernel's).
   *
   * @param module The module name, as under `/sys/kernel/btf/`.
   * @returns The module BTF, whose ids continue the kernel's.
   * @throws {BpfError} op `"btf load"` when the module has no BTF.
   * @example
   * ```ts ignore
   * // Not run by the suite: needs a loaded kernel module with BTF (test kernels have none)
   * Btf.kernelModule("nf_tables").find("struct nft_ctx");
   * ```
   */
  static kernelModule(module: string): Btf {
    return Btf.fromFile(`/sys/kernel/btf/${module}`, Btf.kernel());
  }

  /**
   * Parse a raw BTF file.
   *
   * @param path The file path.
   * @param base For split BTF: the BTF it extends.
   * @returns The parsed BTF.
   * @throws {BpfError} When the file cannot be read or is malformed.
   * @example
   * ```ts
   * const btf = Btf.fromFile("/sys/kernel/btf/vmlinux");
   * ```
   */
  static fromFile(path: string, base?: Btf): Btf {
    return new Btf(readAll(path), base);
  }

  /**
   * The BTF of a compiled BPF object (its `.BTF` section), with data sections fixed up
   * the way libbpf does at open: section sizes from the ELF section headers and variable
   * offsets from the symbol table (clang leaves them 0).
   *
   * @param elf The whole `.o` file.
   * @returns The object's BTF.
   * @throws {BpfError} When the file is not ELF or has no `.BTF` section.
   * @example
   * ```ts
   * const btf = Btf.fromElf(Deno.readFileSync("build/tests/btf_types.bpf.o"));
   * btf.datasec(".data"); // [{ name: "counter", offset: 0, size: 8, ... }, ...]
   * ```
   */
  static fromElf(elf: Uint8Array): Btf {
    const sections = elfSections(elf);
    const sec = sections.find((s) => s.name === ".BTF");
    if (!sec) {
      throw new BpfError({
        op: "btf load",
        errno: ERRNO.ENOENT,
        message: "object has no .BTF section",
        hint: "compile with clang -g",
      });
    }
    // A copy: fix-ups write into it, and the words get 4-byte alignment.
    const btf = new Btf(elf.slice(sec.offset, sec.offset + sec.size));
    const symbols = elfSymbols(elf, sections);
    for (let id = 1; id < btf.count; id++) {
      if (btf.#data.kindNo(id) !== BTF_KIND.DATASEC) continue;
      const name = btf.#data.str(btf.#data.nameOff(id));
      const s = sections.find((x) => x.name === name);
      if (!s) continue;
      const w = btf.#data.words;
      const p = btf.#data.pos(id);
      w[p + 2] = s.size;
      const vlen = w[p + 1] & 0xffff;
      for (let i = 0, q = p + 3; i < vlen; i++, q += 3) {
        if (btf.#data.kindNo(w[q]) !== BTF_KIND.VAR) continue;
        const varName = btf.#data.str(btf.#data.nameOff(w[q]));
        const sym = symbols.find((y) => y.name === varName && y.section === s.index);
        if (sym) w[q + 1] = sym.value;
      }
    }
    return btf;
  }

  /** Number of type ids, void (id 0) included; valid ids are 0..count-1. */
  get count(): number {
    return this.#data.count;
  }

  /** The first type id this blob defines (1, or the base's count for split BTF). */
  get startId(): number {
    return this.#data.startId;
  }

  /**
   * The record of a type id (decoded on first use, then cached).
   *
   * @param id The type id.
   * @returns A frozen plain record, e.g. `{ id, kind: "struct", name, size, members }`.
   * @throws {BpfError} When the id is out of range.
   * @example
   * ```ts
   * const btf = Btf.fromElf(Deno.readFileSync("build/tests/btf_types.bpf.o"));
   * btf.typeById(1); // { id: 1, kind: "ptr", name: "", type: 3 }
   * ```
   */
  typeById(id: number): BtfType {
    if (this.base && id < this.#data.startId && id > 0) return this.base.typeById(id);
    let t = this.#types[id];
    if (t === undefined) this.#types[id] = t = this.#data.decode(id);
    return t;
  }

  /**
   * The kind of a type id, without decoding the record.
   *
   * @param id The type id.
   * @returns The kind name, e.g. `"struct"`.
   * @example
   * ```ts
   * Btf.kernel().kind(0); // "void"
   * ```
   */
  kind(id: number): BtfKind {
    return KIND_NAMES[this.#data.kindNo(id)];
  }

  /**
   * Find a type by name.
   *
   * @param name `"struct foo"`, `"union foo"`, `"enum foo"`, `"typedef foo"` or a bare
   *   `"foo"` (structs, unions and enums win over typedefs, then ints and floats, then
   *   data sections, vars and funcs; complete types win over forward declarations).
   * @returns The type record, or undefined when there is none.
   * @example
   * ```ts
   * const task = Btf.kernel().find("struct task_struct");
   * if (task?.kind === "struct") console.log(task.size, task.members.length);
   * ```
   */
  find(name: string): BtfType | undefined {
    const id = this.findId(name);
    return id === undefined ? undefined : this.typeById(id);
  }

  /**
   * Find a type id by name (see {@link Btf.find} for the accepted forms).
   *
   * @param name The type name.
   * @returns The type id, or undefined.
   * @example
   * ```ts
   * const btf = Btf.fromElf(Deno.readFileSync("build/tests/btf_types.bpf.o"));
   * btf.findId("u32"); // 8
   * ```
   */
  findId(name: string): number | undefined {
    if (this.#found.has(name)) return this.#found.get(name);
    const { keyword, name: bare } = splitName(name);
    let best: number | undefined;
    let bestRank = Infinity;
    if (bare === "void" && !keyword) {
      best = 0;
    } else {
      for (const id of this.#idsNamed(bare)) {
        const k = this.#data.kindNo(id);
        let rank: number;
        if (keyword) {
          const kinds = KEYWORD_KINDS[keyword];
          rank = kinds.indexOf(k);
          if (rank < 0) continue;
          if (k === BTF_KIND.FWD) {
            const isUnion = this.#data.words[this.#data.pos(id) + 1] >>> 31 === 1;
            if (isUnion !== (keyword === "union")) continue;
          }
        } else {
          rank = RANK[k] ?? 9;
        }
        if (rank < bestRank) {
          best = id;
          bestRank = rank;
        }
      }
    }
    this.#found.set(name, best);
    return best;
  }

  /** All type ids named exactly `name` (base ids first). */
  #idsNamed(name: string): number[] {
    const ids = this.base ? this.base.#idsNamed(name) : [];
    const offs = this.#data.strOffsets(name);
    if (offs.length === 0) return ids;
    const { words, offsets, startId } = this.#data;
    const n = offsets.length;
    if (offs.length === 1) {
      const want = offs[0];
      for (let i = 0; i < n; i++) if (words[offsets[i]] === want) ids.push(startId + i);
    } else {
      const want = new Set(offs);
      for (let i = 0; i < n; i++) if (want.has(words[offsets[i]])) ids.push(startId + i);
    }
    return ids;
  }

  /** Resolve a name or id argument to an id, or throw naming what is missing. */
  #idOf(type: string | number, op: string): number {
    if (typeof type === "number") {
      this.#data.check(type);
      return type;
    }
    const id = this.findId(type);
    if (id === undefined) {
      throw new BpfError({ op, errno: ERRNO.ENOENT, message: `no type '${type}' in BTF` });
    }
    return id;
  }

  /**
   * Skip typedefs, qualifiers (const, volatile, restrict) and type tags.
   *
   * @param id A type id.
   * @returns The id of the underlying type.
   * @example
   * ```ts
   * const btf = Btf.fromElf(Deno.readFileSync("build/tests/btf_types.bpf.o"));
   * btf.kind(btf.resolve(btf.findId("u32")!)); // "int"
   * ```
   */
  resolve(id: number): number {
    for (let i = 0; i < MAX_CHAIN; i++) {
      const k = this.#data.kindNo(id);
      if (
        k !== BTF_KIND.TYPEDEF && k !== BTF_KIND.CONST && k !== BTF_KIND.VOLATILE &&
        k !== BTF_KIND.RESTRICT && k !== BTF_KIND.TYPE_TAG
      ) {
        return id;
      }
      id = (this.typeById(id) as { type: number }).type;
    }
    throw new BpfError({ op: "btf", message: `type chain at id ${id} is too long (a loop?)` });
  }

  /**
   * The size in bytes of a type (pointers are 8 bytes).
   *
   * @param id A type id (typedefs and qualifiers are followed).
   * @returns The size.
   * @throws {BpfError} For types without a size (void, fwd, func, func_proto).
   * @example
   * ```ts
   * const btf = Btf.fromElf(Deno.readFileSync("build/tests/btf_types.bpf.o"));
   * btf.sizeOf(btf.findId("struct padded")!); // 16
   * ```
   */
  sizeOf(id: number): number {
    let mult = 1;
    for (let i = 0; i < MAX_CHAIN; i++) {
      const t = this.typeById(this.resolve(id));
      switch (t.kind) {
        case "int":
        case "float":
        case "struct":
        case "union":
        case "enum":
        case "enum64":
        case "datasec":
          return mult * t.size;
        case "ptr":
          return mult * 8;
        case "array":
          mult *= t.nelems;
          id = t.type;
          continue;
        case "var":
          id = t.type;
          continue;
        default:
          throw new BpfError({
            op: "btf",
            message: `type '${this.nameOf(t.id)}' (${t.kind}) has no size`,
          });
      }
    }
    throw new BpfError({ op: "btf", message: `type chain at id ${id} is too long (a loop?)` });
  }

  /**
   * The C name of a type: `"struct data_t"`, `"unsigned int"`, `"char[16]"`, `"u64 *"`.
   *
   * @param id A type id.
   * @returns The name as C would spell an abstract declarator of it.
   * @example
   * ```ts
   * const btf = Btf.fromElf(Deno.readFileSync("build/tests/btf_types.bpf.o"));
   * btf.nameOf(btf.findId("struct key_t")!); // "struct key_t"
   * ```
   */
  nameOf(id: number): string {
    return declare((i) => this.typeById(i), id, "");
  }

  /**
   * The C declaration of `name` with type `id`: `"char comm[16]"`, `"int (*fn)(void)"`.
   *
   * @param id A type id.
   * @param name The declared name.
   * @returns The declaration (without the trailing `;`).
   * @example
   * ```ts
   * const btf = Btf.fromElf(Deno.readFileSync("build/tests/btf_types.bpf.o"));
   * const key = btf.find("struct key_t");
   * if (key?.kind === "struct") btf.declare(key.members[3].type, "comm"); // "char comm[16]"
   * ```
   */
  declare(id: number, name: string): string {
    return declare((i) => this.typeById(i), id, name);
  }

  /**
   * A pahole-like C layout of a type, with `/* offset size *\/` per member, holes and
   * padding; anonymous structs and unions are shown inline.
   *
   * @param type A type name (see {@link Btf.find}) or id.
   * @returns The C text.
   * @throws {BpfError} When the type does not exist.
   * @example
   * ```ts
   * console.log(Btf.kernel().format("struct iov_iter"));
   * ```
   */
  format(type: string | number): string {
    return formatType(this, this.#idOf(type, "btf format"));
  }

  /** A struct or union id for `hasField`: "struct x", "union x", "x" or a typedef of one. */
  #compositeId(type: string | number): number | undefined {
    if (typeof type === "number") return type;
    const { keyword, name } = splitName(type);
    const id = keyword
      ? this.findId(type)
      : this.findId(`struct ${name}`) ?? this.findId(`union ${name}`) ?? this.findId(name);
    return id;
  }

  /**
   * Where a field sits: its type and bit offset, looking through anonymous struct and
   * union members like C access does.
   *
   * @param type The outer struct or union: `"iov_iter"`, `"struct iov_iter"` or an id.
   * @param path A member name, a dotted path `"a.b"`, with optional indexes `"a[2].b"`.
   * @returns The field, or undefined when the type or a path element does not exist.
   * @example
   * ```ts
   * Btf.kernel().field("task_struct", "pid"); // { type, bitOffset, bitSize: 0 }
   * ```
   */
  field(type: string | number, path: string): BtfFieldInfo | undefined {
    let id = this.#compositeId(type);
    if (id === undefined) return undefined;
    let bitOffset = 0;
    let bitSize = 0;
    for (const part of path.split(".")) {
      const m = /^([A-Za-z_$][\w$]*)((?:\[\d+\])*)$/.exec(part.trim());
      if (!m) return undefined;
      const found = this.#member(id, m[1]);
      if (!found) return undefined;
      id = found.type;
      bitOffset += found.bitOffset;
      bitSize = found.bitSize;
      for (const idx of m[2].match(/\d+/g) ?? []) {
        const arr = this.typeById(this.resolve(id));
        if (arr.kind !== "array" || Number(idx) >= Math.max(arr.nelems, 1)) return undefined;
        bitOffset += Number(idx) * this.sizeOf(arr.type) * 8;
        id = arr.type;
        bitSize = 0;
      }
    }
    return { type: id, bitOffset, bitSize };
  }

  /** A named member of a struct/union, searching anonymous members depth-first. */
  #member(id: number, name: string, depth = 0): BtfFieldInfo | undefined {
    if (depth > MAX_CHAIN) return undefined;
    const t = this.typeById(this.resolve(id));
    if (t.kind !== "struct" && t.kind !== "union") return undefined;
    for (const m of t.members) {
      if (m.name === name) return { type: m.type, bitOffset: m.bitOffset, bitSize: m.bitSize };
    }
    for (const m of t.members) {
      if (m.name !== "") continue;
      const inner = this.#member(m.type, name, depth + 1);
      if (inner) return { ...inner, bitOffset: inner.bitOffset + m.bitOffset };
    }
    return undefined;
  }

  /**
   * Whether a struct or union has a field, also inside anonymous struct/union members
   * (the question `bpf_core_field_exists()` asks).
   *
   * @param type The struct or union: `"iov_iter"`, `"struct iov_iter"` or an id.
   * @param path A member name or dotted path (`"a.b"`, `"a[1].b"`).
   * @returns True when the field exists; false when it or the type does not.
   * @example
   * ```ts
   * Btf.kernel().hasField("iov_iter", "__iov"); // true on 6.x
   * ```
   */
  hasField(type: string | number, path: string): boolean {
    return this.field(type, path) !== undefined;
  }

  /**
   * Type names for completion: `names("struct task_s")` gives `["struct task_struct",
   * ...]`; a bare prefix matches ints, floats, typedefs, structs, unions and enums by
   * bare name.
   *
   * @param prefix What was typed so far (`""` lists everything).
   * @returns Sorted, unique names starting with the prefix.
   * @example
   * ```ts
   * Btf.kernel().names("struct iov_"); // ["struct iov_iter", ...]
   * ```
   */
  names(prefix = ""): string[] {
    const index = this.#names();
    const { keyword, name } = splitName(prefix);
    const trailing = /^(struct|union|enum|typedef)\s+$/.exec(prefix.trimStart());
    const kw = keyword ?? trailing?.[1];
    const bare = trailing ? "" : name;
    const list = index.get(kw ?? "")!;
    // Binary search for the first name >= the prefix.
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (list[mid] < bare) lo = mid + 1;
      else hi = mid;
    }
    const out: string[] = [];
    for (let i = lo; i < list.length && list[i].startsWith(bare); i++) {
      out.push(kw ? `${kw} ${list[i]}` : list[i]);
    }
    return out;
  }

  /** Sorted unique names per keyword ("" for bare type names), built on first use. */
  #names(): Map<string, string[]> {
    if (this.#nameIndex) return this.#nameIndex;
    const sets = new Map<string, Set<string>>(
      ["", "struct", "union", "enum", "typedef"].map((k) => [k, new Set()]),
    );
    const d = this.#data;
    for (let id = 1; id < d.count; id++) {
      const k = d.kindNo(id);
      if (!TYPE_KINDS.has(k)) continue;
      const off = d.nameOff(id);
      if (off === 0) continue;
      const name = d.str(off);
      sets.get("")!.add(name);
      const kw = k === BTF_KIND.STRUCT
        ? "struct"
        : k === BTF_KIND.UNION
        ? "union"
        : k === BTF_KIND.ENUM || k === BTF_KIND.ENUM64
        ? "enum"
        : k === BTF_KIND.TYPEDEF
        ? "typedef"
        : undefined;
      if (kw) sets.get(kw)!.add(name);
    }
    this.#nameIndex = new Map([...sets].map(([k, s]) => [k, [...s].sort()]));
    return this.#nameIndex;
  }

  /**
   * Names of the data sections (`.data`, `.rodata`, `.bss`, `.data.*`, `.maps`, ...).
   *
   * @returns Section names in BTF order.
   * @example
   * ```ts
   * const btf = Btf.fromElf(Deno.readFileSync("build/tests/globals.bpf.o"));
   * btf.datasecs(); // [".bss", ".data", ".data.custom", ".rodata", "license"]
   * ```
   */
  datasecs(): string[] {
    const out: string[] = [];
    for (let id = this.startId; id < this.count; id++) {
      if (this.#data.kindNo(id) === BTF_KIND.DATASEC) out.push(this.typeById(id).name);
    }
    return out;
  }

  /**
   * The variables of a data section, for globals access.
   *
   * Offsets are section offsets as BTF states them: fixed up by libbpf after open, or by
   * {@link Btf.fromElf}; a raw `.BTF` section read any other way has them all 0.
   *
   * @param name The section name, e.g. `".rodata"`.
   * @returns The variables, or undefined when there is no such section.
   * @example
   * ```ts
   * const btf = Btf.fromElf(Deno.readFileSync("build/tests/globals.bpf.o"));
   * btf.datasec(".data"); // [{ name: "data_value", offset: 0, size: 4, … }, { name: "greeting", offset: 4, … }, …]
   * ```
   */
  datasec(name: string): DatasecVar[] | undefined {
    for (let id = this.startId; id < this.count; id++) {
      if (this.#data.kindNo(id) !== BTF_KIND.DATASEC) continue;
      const sec = this.typeById(id) as BtfDatasec;
      if (sec.name !== name) continue;
      const out: DatasecVar[] = [];
      for (const v of sec.vars) {
        const t = this.typeById(v.type);
        if (t.kind !== "var") continue; // extern funcs in .ksyms
        out.push({
          name: t.name,
          typeId: t.type,
          varId: t.id,
          offset: v.offset,
          size: v.size || this.sizeOf(t.type),
          section: name,
        });
      }
      return out;
    }
    return undefined;
  }

  /**
   * All variables of all data sections except `.maps` and `license`.
   *
   * @returns The variables, section by section.
   * @example
   * ```ts
   * const btf = Btf.fromElf(Deno.readFileSync("build/tests/globals.bpf.o"));
   * btf.vars().map((v) => `${v.section}:${v.name}`); // [".bss:bss_value", ".data:data_value", …]
   * ```
   */
  vars(): DatasecVar[] {
    return this.datasecs()
      .filter((s) => s !== ".maps" && s !== "license")
      .flatMap((s) => this.datasec(s) ?? []);
  }

  /**
   * A codec for a type, built once (generated code) and cached.
   *
   * Decoding: ints up to 32 bits are numbers, 64-bit ints and pointers bigints, `_Bool`
   * booleans, enums numbers, `char[N]` strings (up to the first NUL), other arrays
   * arrays, structs and unions plain objects (anonymous members flattened, unions with
   * every member decoded), floats numbers; see bpf/btf/codec/types.ts for the details (union
   * encoding, typedef'd `u8` arrays). Encoding validates and throws a
   * {@link BpfError} with op `"encode"` naming the field path and value; a missing field
   * is written as 0 (C zero-initialisation), an unknown field is an error.
   *
   * @param type A type id or name (see {@link Btf.find}).
   * @param opts `u64: "number"` decodes 64-bit ints as numbers (see {@link CodecOptions}).
   * @returns The codec.
   * @throws {BpfError} When the type does not exist or has no data layout (func, void).
   * @example
   * ```ts
   * const btf = Btf.fromElf(Deno.readFileSync("build/tests/btf_types.bpf.o"));
   * const c = btf.codec<{ a: bigint; b: number }>("struct padded");
   * c.decode(c.encode({ a: 1n, b: 2 })); // { a: 1n, b: 2 }
   * btf.codec("struct padded", { u64: "number" }).decode(c.encode({ a: 1n, b: 2 })); // { a: 1, b: 2 }
   * ```
   */
  codec<T = unknown>(type: string | number, opts: CodecOptions = {}): Codec<T> {
    let id = this.#idOf(type, "codec");
    const t = this.typeById(id);
    if (t.kind === "var") id = t.type; // a global's codec is its type's
    const key = opts.u64 === "number" ? `${id}n` : id;
    let c = this.#codecs.get(key);
    if (!c) {
      c = buildCodec(this, id, opts);
      this.#codecs.set(key, c);
    }
    return c as Codec<T>;
  }
}
