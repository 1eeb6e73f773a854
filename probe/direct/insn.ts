/**
 * BPF instructions and an assembler with labels: what the direct back end writes its
 * programs with. Encodings follow the kernel's `struct bpf_insn` (eight bytes: opcode,
 * dst and src registers in one byte, a 16-bit offset, a 32-bit immediate), little-endian.
 *
 * @module
 */

/** A register: r0 (return value), r1–r5 (helper arguments, clobbered by calls), r6–r9
 * (kept across calls), r10 (the frame pointer, read-only). */
export type Reg = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10;

/** The frame pointer. */
export const FP: Reg = 10;

/** 64-bit ALU operations (`BPF_ALU64 | op`), by the C operator they implement. */
export const ALU = {
  "+": 0x00,
  "-": 0x10,
  "*": 0x20,
  "/": 0x30,
  "|": 0x40,
  "&": 0x50,
  "<<": 0x60,
  ">>": 0x70,
  neg: 0x80,
  "%": 0x90,
  "^": 0xa0,
  mov: 0xb0,
  arsh: 0xc0,
} as const;

/** Jump conditions (`BPF_JMP | op`): unsigned and signed comparisons. */
export const JMP = {
  ja: 0x00,
  "==": 0x10,
  ">": 0x20,
  ">=": 0x30,
  "&": 0x40,
  "!=": 0x50,
  "s>": 0x60,
  "s>=": 0x70,
  "<": 0xa0,
  "<=": 0xb0,
  "s<": 0xc0,
  "s<=": 0xd0,
} as const;

/** Memory access sizes, by bytes. */
const SIZE: Record<1 | 2 | 4 | 8, number> = { 1: 0x10, 2: 0x08, 4: 0x00, 8: 0x18 };

/** Kernel helpers the generated programs call (their `BPF_FUNC_*` numbers). */
export const HELPER = {
  map_lookup_elem: 1,
  map_update_elem: 2,
  map_delete_elem: 3,
  ktime_get_ns: 5,
  get_prandom_u32: 7,
  get_smp_processor_id: 8,
  get_current_pid_tgid: 14,
  get_current_uid_gid: 15,
  get_current_comm: 16,
  get_numa_node_id: 42,
  get_current_cgroup_id: 80,
  probe_read_user_str: 114,
  probe_read_kernel_str: 115,
  ktime_get_boot_ns: 125,
  ringbuf_reserve: 131,
  ringbuf_submit: 132,
  get_attach_cookie: 174,
} as const;

/** A jump target; {@link Asm.bind} places it. */
export interface Label {
  at?: number;
}

/** `BPF_PSEUDO_MAP_FD`: a 64-bit load whose immediate is a map fd. */
const PSEUDO_MAP_FD = 1;
/** `BPF_PSEUDO_MAP_VALUE`: a 64-bit load of a map value's address (imm: fd, next imm: offset). */
const PSEUDO_MAP_VALUE = 2;

/**
 * One program being assembled: instructions appended in order, jumps to labels patched
 * when the program is finished.
 *
 * @example
 * ```ts
 * const a = new Asm();
 * a.movImm(0, 0);
 * a.exit();
 * a.finish().length; // 16 (two instructions)
 * ```
 */
export class Asm {
  #words: number[] = [];
  #fixups: { at: number; label: Label }[] = [];

  /** Instructions so far. */
  get length(): number {
    return this.#words.length / 2;
  }

  #emit(op: number, dst: number, src: number, off: number, imm: number): void {
    this.#words.push(
      (op & 0xff) | ((dst & 0xf) << 8) | ((src & 0xf) << 12) | ((off & 0xffff) << 16),
      imm | 0,
    );
  }

  /** `dst = imm` (sign-extended 32-bit immediate). */
  movImm(dst: Reg, imm: number): void {
    this.#emit(0x07 | ALU.mov, dst, 0, 0, imm);
  }

  /** `dst = src`. */
  mov(dst: Reg, src: Reg): void {
    this.#emit(0x0f | ALU.mov, dst, src, 0, 0);
  }

  /** `dst = (u32)src`: the upper half cleared. */
  mov32(dst: Reg, src: Reg): void {
    this.#emit(0x0c | ALU.mov, dst, src, 0, 0);
  }

  /** `dst = imm64`, any 64-bit value (a two-slot load). */
  ldImm64(dst: Reg, value: bigint): void {
    const v = BigInt.asUintN(64, value);
    this.#emit(0x18, dst, 0, 0, Number(v & 0xffffffffn));
    this.#emit(0, 0, 0, 0, Number(v >> 32n));
  }

  /** `dst = &map` (the map's fd, which the kernel replaces by the map). */
  ldMap(dst: Reg, fd: number): void {
    this.#emit(0x18, dst, PSEUDO_MAP_FD, 0, fd);
    this.#emit(0, 0, 0, 0, 0);
  }

  /** `dst = &value + off` of a one-entry array map (`BPF_PSEUDO_MAP_VALUE`). */
  ldMapValue(dst: Reg, fd: number, off: number): void {
    this.#emit(0x18, dst, PSEUDO_MAP_VALUE, 0, fd);
    this.#emit(0, 0, 0, 0, off);
  }

  /** A constant into a register, as short as it fits. */
  constant(dst: Reg, value: bigint): void {
    const v = BigInt.asIntN(64, value);
    if (v >= -(1n << 31n) && v < (1n << 31n)) this.movImm(dst, Number(v));
    else this.ldImm64(dst, v);
  }

  /** `dst op= src` (64-bit). */
  alu(op: keyof typeof ALU, dst: Reg, src: Reg): void {
    this.#emit(0x0f | ALU[op], dst, src, 0, 0);
  }

  /** `dst op= imm` (64-bit; imm sign-extended). */
  aluImm(op: keyof typeof ALU, dst: Reg, imm: number): void {
    this.#emit(0x07 | ALU[op], dst, 0, 0, imm);
  }

  /** `dst = *(uN *)(src + off)`. */
  load(size: 1 | 2 | 4 | 8, dst: Reg, src: Reg, off: number): void {
    this.#emit(0x61 | SIZE[size], dst, src, off, 0);
  }

  /** `*(uN *)(dst + off) = src`. */
  store(size: 1 | 2 | 4 | 8, dst: Reg, off: number, src: Reg): void {
    this.#emit(0x63 | SIZE[size], dst, src, off, 0);
  }

  /** `*(uN *)(dst + off) = imm`. */
  storeImm(size: 1 | 2 | 4 | 8, dst: Reg, off: number, imm: number): void {
    this.#emit(0x62 | SIZE[size], dst, 0, off, imm);
  }

  /** `lock *(u64 *)(dst + off) += src`: an atomic add, as clang emits for `+=` on a map value. */
  atomicAdd(dst: Reg, off: number, src: Reg): void {
    this.#emit(0xc3 | SIZE[8], dst, src, off, 0);
  }

  /** `if (dst op src) goto label`. */
  jump(op: keyof typeof JMP, dst: Reg, src: Reg, label: Label): void {
    this.#fixups.push({ at: this.length, label });
    this.#emit(0x0d | JMP[op], dst, src, 0, 0);
  }

  /** `if (dst op imm) goto label`. */
  jumpImm(op: keyof typeof JMP, dst: Reg, imm: number, label: Label): void {
    this.#fixups.push({ at: this.length, label });
    this.#emit(0x05 | JMP[op], dst, 0, 0, imm);
  }

  /** `goto label`. */
  goto(label: Label): void {
    this.#fixups.push({ at: this.length, label });
    this.#emit(0x05, 0, 0, 0, 0);
  }

  /** Place a label at the next instruction. */
  bind(label: Label): void {
    label.at = this.length;
  }

  /** A new label, unplaced. */
  label(): Label {
    return {};
  }

  /** Call a kernel helper (arguments in r1–r5, result in r0; r1–r5 clobbered). */
  call(helper: number): void {
    this.#emit(0x85, 0, 0, 0, helper);
  }

  /** `return r0`. */
  exit(): void {
    this.#emit(0x95, 0, 0, 0, 0);
  }

  /**
   * Set the immediate of instruction `at` (a map load's fd, once the map exists).
   *
   * @param bytes The finished program.
   * @param at The instruction index.
   * @param imm The value.
   */
  static patchImm(bytes: Uint8Array, at: number, imm: number): void {
    new DataView(bytes.buffer, bytes.byteOffset).setInt32(at * 8 + 4, imm, true);
  }

  /**
   * The program's bytes, with every jump's offset filled in.
   *
   * @returns `struct bpf_insn[]` as bytes.
   * @throws {Error} When a jump's label was never placed or lies beyond a 16-bit offset.
   */
  finish(): Uint8Array {
    const words = Int32Array.from(this.#words);
    for (const f of this.#fixups) {
      if (f.label.at === undefined) throw new Error("a jump to a label never placed");
      const off = f.label.at - f.at - 1;
      if (off < -32768 || off > 32767) throw new Error("a jump beyond a 16-bit offset");
      words[f.at * 2] = (words[f.at * 2] & 0xffff) | ((off & 0xffff) << 16);
    }
    return new Uint8Array(words.buffer);
  }
}
