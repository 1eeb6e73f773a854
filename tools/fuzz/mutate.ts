/**
 * Structure-aware mutations of BPF ELF objects, for fuzzing what bpfsh does with a file a
 * user hands it. Each input is a pure function of (run seed, input index), so a crash is
 * reproduced from two numbers and no bytes need to travel between processes.
 *
 * @module
 */

import { elfSections, SHT_SYMTAB } from "../../bpf/elf/elf.ts";
import { BtfData } from "../../bpf/btf/raw.ts";

/** How an input was made from its seed. */
export const STRATEGIES = [
  "flip",
  "trunc",
  "shdr",
  "ehdr",
  "btf",
  "btfext",
  "reloc",
  "maps",
  "symtab",
  "prog",
] as const;

/** One mutation strategy. */
export type Strategy = typeof STRATEGIES[number];

/** A seed object with the places its structures sit, found once. */
export interface Seed {
  /** A short name, e.g. `"opensnoop"`. */
  readonly name: string;
  /** The clean object. */
  readonly bytes: Uint8Array;
  /** Byte ranges per structure kind: [start, end). */
  readonly regions: Readonly<Record<string, [number, number][]>>;
  /** File offsets of the section header table entries. */
  readonly shdrs: number[];
  /** File offsets of the words of BTF records of map definitions (and of `.maps`). */
  readonly mapWords: number[];
  /** File offsets of every BTF type record's first word. */
  readonly btfTypes: number[];
}

/** A small, fast, seedable PRNG (mulberry32). */
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  /** A uniform u32. */
  u32(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** An integer in [0, n). */
  below(n: number): number {
    return n <= 0 ? 0 : this.u32() % n;
  }
  /** One element of a non-empty list. */
  pick<T>(xs: readonly T[]): T {
    return xs[this.below(xs.length)];
  }
}

/**
 * The PRNG state of one input: a hash of the run seed and the index.
 *
 * @param runSeed The run's seed.
 * @param index The input's index.
 * @returns A 32-bit state.
 */
export function inputSeed(runSeed: number, index: number): number {
  let h = Math.imul(runSeed ^ 0x9e3779b9, 0x85ebca6b) ^ index;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Find where a seed object's structures are.
 *
 * @param name The seed's name.
 * @param bytes A well-formed BPF object.
 * @returns The seed with its regions.
 */
export function analyseSeed(name: string, bytes: Uint8Array): Seed {
  const sections = elfSections(bytes);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shoff = Number(dv.getBigUint64(0x28, true));
  const regions: Record<string, [number, number][]> = {
    btf: [],
    btfext: [],
    reloc: [],
    maps: [],
    symtab: [],
    strtab: [],
    prog: [],
  };
  const range = (s: { offset: number; size: number }): [number, number] => [
    s.offset,
    s.offset + s.size,
  ];
  const symtab = sections.find((s) => s.type === SHT_SYMTAB);
  for (const s of sections) {
    if (s.type === 8 || s.size === 0) continue;
    if (s.name === ".BTF") regions.btf.push(range(s));
    else if (s.name === ".BTF.ext") regions.btfext.push(range(s));
    else if (s.type === 9) regions.reloc.push(range(s));
    else if (s.name === ".maps") regions.maps.push(range(s));
    else if (s.type === SHT_SYMTAB) regions.symtab.push(range(s));
    else if (symtab && s.index === symtab.link) regions.strtab.push(range(s));
    else if (s.flags & 4) regions.prog.push(range(s));
  }
  const btfTypes: number[] = [];
  const mapWords: number[] = [];
  const btfSec = sections.find((s) => s.name === ".BTF");
  if (btfSec) {
    const blob = bytes.subarray(btfSec.offset, btfSec.offset + btfSec.size);
    const data = new BtfData(blob);
    const typeBase = btfSec.offset + data.header.hdrLen + data.header.typeOff;
    const at = (id: number) => typeBase + data.pos(id) * 4;
    for (let id = 1; id < data.count; id++) btfTypes.push(at(id));
    // Map definitions: the .maps datasec, its vars, their structs and the members' types.
    const words = (id: number, n: number) => {
      for (let i = 0; i < n; i++) mapWords.push(at(id) + i * 4);
    };
    for (let id = 1; id < data.count; id++) {
      const t = data.decode(id);
      if (t.kind !== "datasec" || t.name !== ".maps") continue;
      words(id, 3 + t.vars.length * 3);
      for (const v of t.vars) {
        const vt = data.decode(v.type);
        words(v.type, 4);
        if (vt.kind !== "var") continue;
        const st = data.decode(vt.type);
        if (st.kind !== "struct") continue;
        words(st.id, 3 + st.members.length * 3);
        for (const m of st.members) {
          const pt = data.decode(m.type);
          words(m.type, 3);
          if (pt.kind === "ptr" && data.decode(pt.type).kind === "array") words(pt.type, 6);
        }
      }
    }
    for (const [s, e] of regions.maps) for (let p = s; p + 4 <= e; p += 4) mapWords.push(p);
  }
  const shnum = dv.getUint16(0x3c, true);
  const shdrs = Array.from({ length: shnum }, (_, i) => shoff + i * 64);
  return { name, bytes, regions, shdrs, mapWords, btfTypes };
}

/** Values that break length and index checks. */
function interesting(rng: Rng, near: number[]): number {
  const base = [0, 1, 2, 4, 7, 8, 0x7f, 0x80, 0xff, 0x100, 0xfff1, 0xffff, 0x10000, 0x7fffffff];
  const n = near.length ? rng.pick(near) : 0;
  switch (rng.below(5)) {
    case 0:
      return rng.pick(base);
    case 1:
      return 0xffffffff - rng.below(4);
    case 2:
      return (n + rng.below(17) - 8) >>> 0;
    case 3:
      return (n * 2 + rng.below(4)) >>> 0;
    default:
      return rng.u32() >>> rng.below(32);
  }
}

/** Write a little-endian integer of 1, 2, 4 or 8 bytes. */
function put(out: Uint8Array, at: number, width: number, value: number): void {
  if (at < 0 || at + width > out.length) return;
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  if (width === 1) dv.setUint8(at, value & 0xff);
  else if (width === 2) dv.setUint16(at, value & 0xffff, true);
  else if (width === 4) dv.setUint32(at, value >>> 0, true);
  else {
    // Offsets and sizes: the low word as given; all-ones values stay all-ones (-1).
    dv.setUint32(at, value >>> 0, true);
    dv.setUint32(at + 4, value >>> 0 >= 0xfffffffc ? 0xffffffff : 0, true);
  }
}

/** Read a little-endian u32 (0 past the end). */
function get32(bytes: Uint8Array, at: number): number {
  if (at < 0 || at + 4 > bytes.length) return 0;
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(at, true);
}

/** Flip a few bits or set a few bytes anywhere in a range. */
function scribble(rng: Rng, out: Uint8Array, start: number, end: number, times: number): void {
  if (end <= start) return;
  for (let i = 0; i < times; i++) {
    const at = start + rng.below(end - start);
    if (rng.below(2)) out[at] ^= 1 << rng.below(8);
    else out[at] = rng.pick([0, 0xff, 0x7f, 0x80, 1, rng.below(256)]);
  }
}

/** Overwrite a word in a range with an interesting value, near what was there. */
function word(rng: Rng, out: Uint8Array, start: number, end: number, align = 4): void {
  if (end - start < 4) return scribble(rng, out, start, end, 1);
  const slots = Math.floor((end - start - 4) / align) + 1;
  const at = start + rng.below(slots) * align;
  const width = rng.pick([4, 4, 4, 2, 1]);
  put(out, at, width, interesting(rng, [get32(out, at), out.length]));
}

/** Mutate inside one region kind, falling back to anywhere when the seed lacks it. */
function inRegion(rng: Rng, seed: Seed, out: Uint8Array, kind: string): void {
  const rs = seed.regions[kind];
  if (!rs?.length) return scribble(rng, out, 0, out.length, 2);
  const [s, e] = rng.pick(rs);
  const n = 1 + rng.below(3);
  for (let i = 0; i < n; i++) {
    if (rng.below(3) === 0) scribble(rng, out, s, e, 1);
    else word(rng, out, s, e);
  }
}

/**
 * Make input bytes from a seed with one strategy.
 *
 * @param seed The seed object.
 * @param strategy How to mutate.
 * @param rng The input's PRNG.
 * @returns The mutated copy.
 */
export function mutate(seed: Seed, strategy: Strategy, rng: Rng): Uint8Array {
  const out = seed.bytes.slice();
  switch (strategy) {
    case "flip":
      scribble(rng, out, 0, out.length, 1 + rng.below(8));
      return out;
    case "trunc": {
      const cut = rng.below(2)
        ? rng.below(out.length)
        : Math.max(0, out.length - 1 - rng.below(Math.min(out.length, 512)));
      return out.slice(0, cut);
    }
    case "shdr": {
      const at = rng.pick(seed.shdrs);
      // sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size, sh_link, sh_info, ...
      const field = rng.pick([0, 4, 8, 24, 32, 40, 44, 48, 56, 24, 32, 40, 44]);
      const width = field >= 8 && field < 40 || field >= 48 ? rng.pick([8, 4]) : 4;
      put(out, at + field, width, interesting(rng, [get32(out, at + field), out.length]));
      if (rng.below(4) === 0) scribble(rng, out, at, at + 64, 1);
      return out;
    }
    case "ehdr": {
      const field = rng.pick([4, 5, 6, 16, 18, 20, 0x28, 0x34, 0x3a, 0x3c, 0x3e, 0x3c, 0x3e]);
      const width = field === 0x28 ? 8 : field >= 0x34 || field === 16 || field === 18 ? 2 : 1;
      put(out, field, width, interesting(rng, [get32(out, field), out.length]));
      return out;
    }
    case "btf":
      if (seed.btfTypes.length && rng.below(3)) {
        // A field of a type record: name, info (kind, vlen), size/type, or what follows.
        const at = rng.pick(seed.btfTypes) + 4 * rng.below(6);
        put(out, at, 4, interesting(rng, [get32(out, at), seed.btfTypes.length]));
        return out;
      }
      if (seed.regions.btf.length && rng.below(2)) {
        const [s] = seed.regions.btf[0];
        const at = s + 4 * (1 + rng.below(5)); // hdr_len, type_off/len, str_off/len
        put(out, at, 4, interesting(rng, [get32(out, at)]));
        return out;
      }
      inRegion(rng, seed, out, "btf");
      return out;
    case "btfext":
      if (seed.regions.btfext.length && rng.below(2)) {
        const [s] = seed.regions.btfext[0];
        const at = s + 4 * (1 + rng.below(7)); // hdr_len, then off/len pairs
        put(out, at, 4, interesting(rng, [get32(out, at)]));
        return out;
      }
      inRegion(rng, seed, out, "btfext");
      return out;
    case "reloc": {
      const rs = seed.regions.reloc;
      if (!rs.length) return mutate(seed, "flip", rng);
      const [s, e] = rng.pick(rs);
      const at = s + 16 * rng.below(Math.max(1, (e - s) >> 4));
      // r_offset, the symbol index (high half of r_info) or the type (low half).
      const field = rng.pick([0, 8, 12]);
      put(out, at + field, 4, interesting(rng, [get32(out, at + field), e - s]));
      return out;
    }
    case "maps":
      if (seed.mapWords.length) {
        const at = rng.pick(seed.mapWords);
        put(out, at, 4, interesting(rng, [get32(out, at), seed.btfTypes.length]));
        return out;
      }
      return mutate(seed, "btf", rng);
    case "symtab": {
      if (rng.below(4) === 0) {
        inRegion(rng, seed, out, "strtab");
        return out;
      }
      const rs = seed.regions.symtab;
      if (!rs.length) return mutate(seed, "flip", rng);
      const [s, e] = rs[0];
      const at = s + 24 * rng.below(Math.max(1, Math.floor((e - s) / 24)));
      // st_name, st_info, st_other, st_shndx, st_value, st_size
      const [field, width] = rng.pick([[0, 4], [4, 1], [5, 1], [6, 2], [8, 8], [16, 8], [8, 4]]);
      put(out, at + field, width, interesting(rng, [get32(out, at + field), out.length]));
      return out;
    }
    case "prog": {
      const rs = seed.regions.prog;
      if (!rs.length) return mutate(seed, "flip", rng);
      const [s, e] = rng.pick(rs);
      const n = 1 + rng.below(3);
      for (let i = 0; i < n; i++) {
        const insn = s + 8 * rng.below(Math.max(1, (e - s) >> 3));
        // opcode, regs, off (s16), imm (s32)
        const [field, width] = rng.pick([[0, 1], [1, 1], [2, 2], [4, 4], [4, 4]]);
        put(out, insn + field, width, interesting(rng, [get32(out, insn + field), (e - s) >> 3]));
      }
      return out;
    }
  }
}

/**
 * The bytes of input `index` of a run: its seed, strategy and mutated bytes.
 *
 * @param seeds The seed objects.
 * @param runSeed The run's seed.
 * @param index The input's index.
 * @returns What was made and how.
 */
export function makeInput(
  seeds: readonly Seed[],
  runSeed: number,
  index: number,
): { seed: Seed; strategy: Strategy; bytes: Uint8Array } {
  const rng = new Rng(inputSeed(runSeed, index));
  const seed = rng.pick(seeds);
  const strategy = rng.pick(STRATEGIES);
  let bytes = mutate(seed, strategy, rng);
  // Now and then stack a second mutation, as real corruption rarely touches one field.
  if (rng.below(5) === 0) bytes = mutate({ ...seed, bytes }, rng.pick(STRATEGIES), rng);
  return { seed, strategy, bytes };
}

/**
 * Load the seed objects the set-up builds (tests and scripts).
 *
 * @param root The repository root.
 * @returns The seeds, sorted by name so runs are reproducible.
 */
export function loadSeeds(root: string): Seed[] {
  const out: Seed[] = [];
  for (const dir of ["build/tests", "build/scripts"]) {
    let names: string[];
    try {
      names = [...Deno.readDirSync(`${root}/${dir}`)].map((e) => e.name);
    } catch {
      continue;
    }
    for (const f of names.filter((n) => n.endsWith(".bpf.o")).sort()) {
      out.push(analyseSeed(f.replace(/\.bpf\.o$/, ""), Deno.readFileSync(`${root}/${dir}/${f}`)));
    }
  }
  return out;
}
