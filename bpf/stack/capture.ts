/**
 * Stacks as BPF programs capture them, turned into arrays of addresses:
 *
 * - `bpf_get_stackid(ctx, &stacks, flags)` stores the stack in a `BPF_MAP_TYPE_STACK_TRACE`
 *   map and returns its id (or a negative errno): {@link readStack} reads it back. The kernel
 *   takes no BTF for these maps, so their values are raw `u64` words.
 * - `bpf_get_stack(ctx, buf, size, flags)` copies it into a buffer, e.g. a `__u64[127]`
 *   field of a ring-buffer event, which the BTF codec decodes to an array of bigints:
 *   {@link stackAddresses} trims it. No ids, so no collisions.
 *
 * Both stop at the first zero: the kernel zero-fills what is left.
 *
 * @module
 */

import type { BpfMap } from "../map/map.ts";

/** `BPF_F_USER_STACK`: take the user stack (flags of bpf_get_stackid and bpf_get_stack). */
export const BPF_F_USER_STACK = 1 << 8;

/**
 * The addresses of a captured stack, up to its first zero.
 *
 * @param value A stack map value (bytes) or a decoded `u64[]` event field (bigints).
 * @param bytes For `bpf_get_stack`, the length it returned, in bytes (default: all).
 * @returns The addresses, innermost first.
 * @example
 * ```ts
 * stackAddresses([0x5589db2c117en, 0x5589db2c11e4n, 0n, 0n]); // BigUint64Array(2)
 * stackAddresses([0x5589db2c117en, 0x5589db2c11e4n], 8); // 8 bytes: BigUint64Array(1)
 * ```
 */
export function stackAddresses(
  value: Uint8Array | readonly bigint[] | BigUint64Array,
  bytes?: number,
): BigUint64Array {
  let words: BigUint64Array;
  if (value instanceof BigUint64Array) {
    words = value;
  } else if (value instanceof Uint8Array) {
    const n = Math.floor(value.length / 8);
    words = value.byteOffset % 8 === 0
      ? new BigUint64Array(value.buffer, value.byteOffset, n)
      : new BigUint64Array(value.slice(0, n * 8).buffer);
  } else {
    words = BigUint64Array.from(value, (v) => BigInt.asUintN(64, v));
  }
  let n = bytes === undefined ? words.length : Math.max(0, Math.min(words.length, bytes >> 3));
  for (let i = 0; i < n; i++) {
    if (words[i] === 0n) {
      n = i;
      break;
    }
  }
  return words.subarray(0, n);
}

/**
 * Read one stack of a stack map.
 *
 * @param map A `BPF_MAP_TYPE_STACK_TRACE` map.
 * @param id The id `bpf_get_stackid()` returned.
 * @returns The addresses, or undefined when the id is negative or not (or no longer) there.
 * @example
 * ```ts
 * using obj = await BpfObject.open("build/tests/stack_events.bpf.o");
 * obj.load();
 * readStack(obj.map("stack_ids"), 0); // undefined: no stack taken yet
 * ```
 */
export function readStack(map: BpfMap, id: number): BigUint64Array | undefined {
  if (!Number.isInteger(id) || id < 0) return undefined;
  const key = new Uint8Array(4);
  new DataView(key.buffer).setUint32(0, id, true);
  const bytes = map.getBytes(key);
  return bytes ? stackAddresses(bytes) : undefined;
}

/**
 * Why a stack id is missing, in words.
 *
 * @param id What `bpf_get_stackid()` returned (negative: an errno).
 * @param user Whether it was a user stack.
 * @returns The reason, or undefined for a valid id.
 * @example
 * ```ts
 * stackIdProblem(-17); // "lost: the stack map is full or two stacks hashed alike"
 * ```
 */
export function stackIdProblem(id: number, user = false): string | undefined {
  if (id >= 0) return undefined;
  switch (-id) {
    case 14:
      return user ? "no user stack (a kernel thread, or an unreadable stack)" : "no kernel stack";
    case 17:
      return "lost: the stack map is full or two stacks hashed alike (a bigger map helps)";
    case 1:
      return "not taken";
    default:
      return `not taken (error ${id})`;
  }
}

/**
 * Every stack of a stack map, by id.
 *
 * @param map A `BPF_MAP_TYPE_STACK_TRACE` map.
 * @returns `[id, addresses]` pairs, by id.
 * @example
 * ```ts
 * using obj = await BpfObject.open("build/tests/stack_events.bpf.o");
 * obj.load();
 * for (const [id, addrs] of stackMapEntries(obj.map("stack_ids"))) console.log(id, addrs.length);
 * ```
 */
export function stackMapEntries(map: BpfMap): [number, BigUint64Array][] {
  const out: [number, BigUint64Array][] = [];
  for (const [key, value] of map.entries()) {
    const id = key instanceof Uint8Array
      ? new DataView(key.buffer, key.byteOffset, key.byteLength).getUint32(0, true)
      : Number(key);
    const addrs = value instanceof Uint8Array || Array.isArray(value)
      ? stackAddresses(value as Uint8Array | bigint[])
      : new BigUint64Array(0);
    out.push([id, addrs]);
  }
  return out.sort((a, b) => a[0] - b[0]);
}
