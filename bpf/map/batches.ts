/**
 * Reading a whole map in batches: `bpf_map_lookup_batch` where the kernel supports it,
 * else `bpf_map_get_next_key` + lookup. Raw bytes only; BpfMap decodes.
 *
 * @module
 */

import { ERRNO } from "../../ffi/abi.ts";
import { check, libbpf } from "../../ffi/libbpf.ts";

/** One batch of raw entries from {@link BpfMap.rawBatches}. */
export interface RawBatch {
  /** `count` keys back to back. */
  keys: Uint8Array;
  /** `count` values back to back. */
  values: Uint8Array;
  /** How many entries. */
  count: number;
}

/** What a batch read needs to know about the map. */
export interface BatchShape {
  /** The map fd. */
  fd: number;
  /** Key size in bytes. */
  keySize: number;
  /** Bytes of one value as the kernel copies it (all CPUs for per-CPU maps). */
  valueBytes: number;
  /** Entries per kernel call. */
  batch: number;
  /** The operation, for errors. */
  op: string;
}

const ENOENT = 2;

/**
 * Read with bpf_map_lookup_batch.
 *
 * @param shape The map's fd and sizes.
 * @returns (as the generator's return value) false when the kernel refuses batches for
 *   this map, before anything was yielded; true when every entry was yielded.
 * @yields Batches of raw entries.
 * @example
 * ```ts
 * for (const b of lookupBatches(shape)) console.log(b.count);
 * ```
 */
export function* lookupBatches(shape: BatchShape): Generator<RawBatch, boolean> {
  const { fd, keySize, valueBytes, op } = shape;
  const sym = libbpf();
  // Hash maps use a u32 bucket cursor, arrays a key-sized one: room for either.
  const tokenSize = Math.max(8, (keySize + 7) & ~7);
  let inBatch: Uint8Array<ArrayBuffer> | null = null;
  let outBatch = new Uint8Array(tokenSize);
  const count = new Uint32Array(1);
  const opts = new BigUint64Array([24n, 0n, 0n]); // struct bpf_map_batch_opts
  let size = shape.batch;
  let first = true;
  for (;;) {
    const keys = new Uint8Array(size * keySize);
    const values = new Uint8Array(size * valueBytes);
    count[0] = size;
    const ret = sym.bpf_map_lookup_batch(fd, inBatch, outBatch, keys, values, count, opts);
    if (ret < 0 && ret !== -ENOENT) {
      if (ret === -ERRNO.ENOSPC && count[0] === 0) { // a bucket holds more than `size`
        size *= 2;
        continue;
      }
      if (first && [-22, -524, -95].includes(ret)) return false;
      check(ret, { op: op });
    }
    first = false;
    if (count[0] > 0) yield { keys, values, count: count[0] };
    if (ret === -ENOENT) return true;
    const next = inBatch ?? new Uint8Array(tokenSize);
    inBatch = outBatch;
    outBatch = next;
  }
}

/**
 * Read with bpf_map_get_next_key + lookup (works for every map type).
 *
 * @param shape The map's fd and sizes.
 * @yields Batches of raw entries.
 * @example
 * ```ts
 * for (const b of nextKeyBatches(shape)) console.log(b.count);
 * ```
 */
export function* nextKeyBatches(shape: BatchShape): Generator<RawBatch> {
  const { fd, keySize, valueBytes, op, batch: n } = shape;
  const sym = libbpf();
  let prev: Uint8Array | null = null;
  for (;;) {
    const keys = new Uint8Array(n * keySize);
    const values = new Uint8Array(n * valueBytes);
    let count = 0;
    while (count < n) {
      const next = keys.subarray(count * keySize, (count + 1) * keySize);
      const ret = sym.bpf_map_get_next_key(fd, prev, next);
      if (ret === -ENOENT) break;
      check(ret, { op: op });
      prev = next;
      const v = values.subarray(count * valueBytes, (count + 1) * valueBytes);
      const got = sym.bpf_map_lookup_elem_flags(fd, next, v, 0n);
      if (got === -ENOENT) continue; // deleted meanwhile
      check(got, { op: op });
      count++;
    }
    if (count > 0) {
      // The next round's cursor must survive the new buffers.
      prev = prev ? prev.slice() : null;
      yield { keys, values, count };
    }
    if (count < n) return;
  }
}
